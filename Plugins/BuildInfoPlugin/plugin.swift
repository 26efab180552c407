import Foundation
import PackagePlugin

/// Embeds the source commit in the `Repro` module at build time (`ReproBuild.commit`).
///
/// A prebuild command runs `git` in the package folder before every build and writes
/// `BuildCommit.swift` (rewritten only when the commit or the clean/dirty state changed, so
/// an unchanged checkout triggers no recompilation). Outside a git checkout, or without git,
/// the commit is "unknown".
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = #"""
            out="$1"; root="$2"
            mkdir -p "$out" || exit 1
            commit=$(git -C "$root" rev-parse HEAD 2>/dev/null) || commit=unknown
            case "$commit" in ????????????????????????????????????????) ;; *) commit=unknown ;; esac
            if [ "$commit" = unknown ]; then dirty=nil
            elif [ -z "$(git -C "$root" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty=false
            else dirty=true; fi
            text="// Generated at build time by Plugins/BuildInfoPlugin; not in the repository.
            let buildCommit = \"$commit\"
            let buildTreeHasUncommittedChanges: Bool? = $dirty"
            if [ ! -f "$out/BuildCommit.swift" ] || [ "$(cat "$out/BuildCommit.swift")" != "$text" ]; then
                printf '%s\n' "$text" > "$out/BuildCommit.swift"
            fi
            """#
        return [
            .prebuildCommand(
                displayName: "Embedding the git commit in \(target.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", output.path, context.package.directoryURL.path],
                outputFilesDirectory: output
            ),
        ]
    }
}

/// What this binary is: the Repro release and the source commit it was built from.
///
/// Both are fixed when the binary is built, so they describe the running code, not
/// whatever checkout is in the working directory. The commit comes from git, run by
/// the package's build plugin before every build; a build from a source archive
/// without `.git` (or without git) reports `"unknown"`.
///
/// ```swift
/// print("Repro \(ReproBuild.version) (\(ReproBuild.commit))")
/// ```
public enum ReproBuild {
    /// The Repro release this build is (semantic versioning). Part of every
    /// environment fingerprint: bit-identical results are promised for the same
    /// inputs and the same version.
    public static let version = "0.1.0"

    /// The full hash of the source commit this binary was built from, or `"unknown"`
    /// when it was built outside a git checkout.
    public static let commit: String = buildCommit

    /// Whether the checkout had uncommitted changes when the binary was built
    /// (`nil` when unknown).
    public static let hasUncommittedChanges: Bool? = buildTreeHasUncommittedChanges
}

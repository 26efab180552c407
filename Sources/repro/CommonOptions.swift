import ArgumentParser
import Repro

/// `--seed`: one parser for every subcommand. Any decimal integer parses, negative and
/// beyond 64 bits included (`--seed -1`, `--seed 18446744073709551615`); each command
/// then checks the range its library accepts (torch: -2^63...2^64-1).
struct SeedOption: ParsableArguments {
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("The seed: a decimal integer (negative allowed, e.g. --seed -1).", valueName: "integer"),
            transform: { text throws(IntegerSeedError) in try IntegerSeed(parsing: text) })
    var seed: IntegerSeed?

    /// The seed given, or `fallback`.
    func value(default fallback: IntegerSeed) -> IntegerSeed { seed ?? fallback }

    /// The 64-bit value `torch.manual_seed(seed)` keeps (negatives as `seed + 2^64`), or a
    /// usage error for a seed torch refuses.
    func torchSeed(default fallback: IntegerSeed) throws -> UInt64 {
        let s = value(default: fallback)
        guard let bits = s.torchSeed else {
            throw ValidationError("--seed \(s) is out of range; accepted, as torch.manual_seed: "
                + "-9223372036854775808...18446744073709551615")
        }
        return bits
    }
}

/// `--threads`: the worker threads of Repro's kernels (results are identical for any value).
struct ThreadsOption: ParsableArguments {
    @Option(name: .long, help: "Worker threads of the tensor kernels (default: all cores; results are identical for any value).")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Applies `--threads` to the process-wide runtime settings.
    func apply() {
        if let t = threads { Runtime.threads = t }
    }
}

/// `--json` and `--output`: the same two options in every subcommand. `--json` is a switch that
/// makes the output JSON (one object per line); `--output PATH` writes the output to PATH instead
/// of standard output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Write JSON (one object per line, snake_case keys) instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Write the output to this file instead of standard output.", valueName: "path"))
    var output: String?

    func validate() throws {
        if output == "" { throw ValidationError("--output needs a file path") }
    }
}

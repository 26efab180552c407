import ArgumentParser
import Repro

extension RandomOutputFormat: ExpressibleByArgument {}

/// `repro random STREAM --seed S --count N [--format hex|decimal|json | --json] [--output PATH]`.
struct RandomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "random",
        abstract: "Print the first values of a PyTorch-, NumPy- or Python-compatible random stream.",
        discussion: """
            Seeds the stream's library the way its own call does (torch.manual_seed, np.random.seed, \
            np.random.default_rng, random.seed) and prints the first COUNT values, one per line. \
            Floats: --format hex prints IEEE bit patterns (0x3f2a1b3c for float32, 16 hex digits for \
            float64), --format decimal the shortest decimal that reads back to the same bits. Integers \
            are decimal in every format. --format json (or --json) prints one JSON object with sorted keys: \
            bits (float streams), count, dtype, seed (a string), stream, values.

            For torch.* streams COUNT is the tensor's length; for permutations, shuffles and samplers \
            the length N is in the name and COUNT (at most N) is how many values to print.

            Streams: \(RandomStream.acceptedNames.joined(separator: ", ")).
            """
    )

    @Argument(help: "The stream, e.g. torch.randn, numpy.legacy.randint:0:100, python.getrandbits:100.")
    var stream: String

    @OptionGroup var seedOption: SeedOption

    @Option(help: "How many values to print.")
    var count: Int = 10

    @Option(help: "Output format: hex (default), decimal or json.")
    var format: RandomOutputFormat?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if output.json, let format, format != .json {
            throw ValidationError("--json and --format \(format.rawValue) disagree; choose one")
        }
        _ = try parsed()
    }

    /// The parsed stream and seed, with typed errors turned into usage errors.
    func parsed() throws -> (RandomStream, IntegerSeed) {
        guard let value = seedOption.seed else { throw ValidationError("Missing expected argument '--seed <integer>'") }
        do {
            let s = try RandomStream(parsing: stream)
            try s.validate(seed: value, count: count)
            return (s, value)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let (s, value) = try parsed()
        var guardian = OutputGuard()
        if let path = output.output { try guardian.claimFile(path) }
        let sink = try OutputSink.named(output.output)
        try sink.write(try s.output(seed: value, count: count, format: output.json ? .json : format ?? .hex))
        try sink.close()
    }
}

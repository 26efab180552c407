import Testing
@testable import ReproLintKit

/// Each rule on code it must flag and on code it must leave alone.
@Suite struct RuleTests {
    func rules(_ source: String, file: String = "a.swift") -> [LintRule] {
        Linter().lint(source: source, file: file).map(\.rule)
    }

    @Test func unseededRandom() {
        #expect(rules("let x = Int.random(in: 0..<10)") == [.unseededRandom])
        #expect(rules("let b = Bool.random()") == [.unseededRandom])
        #expect(rules("let y = a.shuffled()") == [.unseededRandom])
        #expect(rules("a.shuffle()") == [.unseededRandom])
        #expect(rules("let z = a.randomElement()") == [.unseededRandom])
        #expect(rules("var g = SystemRandomNumberGenerator()") == [.unseededRandom])
        #expect(rules("func f<G>(_ g: inout G) where G == SystemRandomNumberGenerator {}") == [.unseededRandom])
        // With a generator: fine.
        #expect(rules("let x = Int.random(in: 0..<10, using: &g)").isEmpty)
        #expect(rules("let y = a.shuffled(using: &g); a.shuffle(using: &g); _ = a.randomElement(using: &g)").isEmpty)
        #expect(rules("let r = randomness(); let q = g.next()").isEmpty)
    }

    @Test func runVaryingValues() {
        #expect(rules("let t = Date()") == [.runVaryingValue])
        #expect(rules("let t = Date.now") == [.runVaryingValue])
        #expect(rules("let id = UUID().uuidString") == [.runVaryingValue])
        #expect(rules("let p = ProcessInfo.processInfo.processIdentifier") == [.runVaryingValue])
        #expect(rules("let p = getpid()") == [.runVaryingValue])
        // A fixed date or a parsed UUID is deterministic.
        #expect(rules("let t = Date(timeIntervalSince1970: 0); let u = UUID(uuidString: s)").isEmpty)
        #expect(rules("let t = ContinuousClock.now; let d = Dates()").isEmpty)
    }

    @Test func unorderedIteration() {
        #expect(rules("let s: Set<Int> = [1, 2]\nfor x in s { print(x) }") == [.unorderedIteration])
        #expect(rules("var d: [String: Int] = [:]\nfor (k, v) in d { print(k, v) }") == [.unorderedIteration])
        #expect(rules("var d = [String: Int]()\nlet e = [\"a\": 1]\nfor k in e.keys { print(k) }") == [.unorderedIteration])
        #expect(rules("let s = Set(a)\nfor (i, x) in s.enumerated() { print(i, x) }") == [.unorderedIteration])
        #expect(rules("func f(m: Dictionary<String, Int>) { for v in m.values { print(v) } }") == [.unorderedIteration])
        #expect(rules("struct S { var seen: Set<String> = []\n func f() { for n in self.seen { print(n) } } }") == [.unorderedIteration])
        #expect(rules("let s = Set<Int>()\ns.forEach { print($0) }") == [.unorderedIteration])
        #expect(rules("for x in Set(a) { print(x) }") == [.unorderedIteration])
        // Sorted first, or an array: fine.
        #expect(rules("let s: Set<Int> = [1, 2]\nfor x in s.sorted() { print(x) }").isEmpty)
        #expect(rules("let d = [\"a\": 1]\nfor k in d.keys.sorted() { print(k) }").isEmpty)
        #expect(rules("let a = [3, 1, 2]\nfor x in a { print(x) }").isEmpty)
        #expect(rules("let s: Set<Int> = [1]\nlet n = s.count; let c = s.contains(1)").isEmpty)
    }

    @Test func parallelFloatAccumulation() {
        let dispatch = """
            var total: Double = 0
            DispatchQueue.concurrentPerform(iterations: 8) { i in
                total += values[i]
            }
            """
        #expect(rules(dispatch) == [.parallelFloatAccumulation])
        let group = """
            var sum = 0.0
            await withTaskGroup(of: Double.self) { group in
                for i in 0..<4 { group.addTask { part(i) } }
                for await part in group { sum += part }
            }
            """
        #expect(rules(group) == [.parallelFloatAccumulation])
        let addTask = """
            var acc: Float = 0
            group.addTask { acc += 1.5 }
            """
        #expect(rules(addTask) == [.parallelFloatAccumulation])
        // A local accumulator per task, integer counters, and plain loops are fine.
        let local = """
            DispatchQueue.concurrentPerform(iterations: 8) { i in
                var partial: Double = 0
                for v in rows[i] { partial += v }
                out[i] = partial
            }
            """
        #expect(rules(local).isEmpty)
        #expect(rules("var n = 0\nDispatchQueue.concurrentPerform(iterations: 8) { _ in n += 1 }").isEmpty)
        #expect(rules("var total: Double = 0\nfor v in values { total += v }").isEmpty)
    }

    @Test func platformMath() {
        #expect(rules("let y = exp(x)") == [.platformMath])
        #expect(rules("let y = logf(x) + pow(a, b)") == [.platformMath, .platformMath])
        #expect(rules("let y = Foundation.log1p(x)") == [.platformMath])
        // Member calls and a type's own functions are not the C library's.
        #expect(rules("let y = ElementaryFunctions.exp(x); let z = v.log()").isEmpty)
        #expect(rules("enum E { static func exp(_ x: Float) -> Float { x }\n static func f(_ x: Float) -> Float { exp(x) } }").isEmpty)
        #expect(rules("let e = exponent(x); let l = logger(x)").isEmpty)
    }

    @Test func unsafeBuildFlags() {
        let manifest = #".target(name: "A", swiftSettings: [.unsafeFlags(["-Ounchecked"])], cSettings: [.unsafeFlags(["-ffast-math"])])"#
        #expect(rules(manifest, file: "Package.swift") == [.unsafeBuildFlag, .unsafeBuildFlag])
        #expect(rules(manifest, file: "pkg/Package.swift") == [.unsafeBuildFlag, .unsafeBuildFlag])
        #expect(rules(#"let flags = ["-O -ffp-contract=fast"]"#, file: "Package.swift") == [.unsafeBuildFlag])
        // Ordinary flags, comments naming the flags, and other files: fine.
        #expect(rules(#".unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"]) // never -ffast-math"#, file: "Package.swift").isEmpty)
        #expect(rules(manifest, file: "Sources/A/Flags.swift").isEmpty)
    }

    @Test func locationsAreLineAndColumn() {
        let findings = Linter().lint(source: "let a = 1\n  let t = Date()\n", file: "x/b.swift")
        #expect(findings == [LintFinding(file: "x/b.swift", line: 2, column: 11, rule: .runVaryingValue,
                                         message: "`Date()` differs on every run; it must not reach a result")])
    }
}

/// Inline suppressions: a known rule and a reason, on the line or alone on the line above.
@Suite struct SuppressionTests {
    func rules(_ source: String) -> [LintRule] { Linter().lint(source: source, file: "a.swift").map(\.rule) }

    @Test func sameLineAndLineAbove() {
        #expect(rules("let t = Date() // repro-lint: allow run-varying-value — timing only, never in a result").isEmpty)
        #expect(rules("// repro-lint: allow run-varying-value - timing only\nlet t = Date()").isEmpty)
        #expect(rules("let t = Date() /* repro-lint: allow run-varying-value: log line */").isEmpty)
    }

    @Test func suppressionIsNarrow() {
        // Another rule, a line further down, or a comment after code on the line above: not suppressed.
        #expect(rules("let t = Date() // repro-lint: allow platform-math — wrong rule") == [.runVaryingValue])
        #expect(rules("// repro-lint: allow run-varying-value — reason\n\nlet t = Date()") == [.runVaryingValue])
        #expect(rules("let a = 1 // repro-lint: allow run-varying-value — reason\nlet t = Date()") == [.runVaryingValue])
    }

    @Test func reasonAndRuleAreRequired() {
        #expect(rules("let t = Date() // repro-lint: allow run-varying-value") == [.runVaryingValue, .invalidSuppression])
        #expect(rules("let t = Date() // repro-lint: allow run-varying-value —   ") == [.runVaryingValue, .invalidSuppression])
        #expect(rules("let t = Date() // repro-lint: allow no-such-rule — reason") == [.runVaryingValue, .invalidSuppression])
        #expect(rules("let t = 1 // repro-lint: ignore everything") == [.invalidSuppression])
        #expect(rules("let s = \"repro-lint: is a tool\"").isEmpty)
    }
}

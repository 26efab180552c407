extension PythonRandom {
    /// The whole state of a ``PythonRandom``, as CPython's `random.getstate()`
    /// reports it: `(3, (*words, index), gauss_next)`.
    ///
    /// ```swift
    /// var r = PythonRandom(seed: 1)
    /// let saved = r.state                      // random.getstate()
    /// let a = r.random()
    /// r = try PythonRandom(state: saved)       // random.setstate(saved)
    /// assert(r.random() == a)
    /// ```
    public struct State: Equatable, Hashable, Sendable, Codable {
        /// The 624 Mersenne Twister words.
        public var words: [UInt32]
        /// CPython's position: the index of the next word to temper, 0…624
        /// (624 means the words are regenerated before the next draw).
        public var index: Int
        /// The cached second Gaussian (`gauss_next`), if any.
        public var gaussNext: Double?

        /// Creates a state from its three parts (validated by ``PythonRandom/init(state:)``).
        public init(words: [UInt32], index: Int, gaussNext: Double?) {
            self.words = words
            self.index = index
            self.gaussNext = gaussNext
        }
    }

    /// `random.getstate()`.
    public var state: State {
        State(words: mt.words, index: 625 - Int(mt.left), gaussNext: gaussNext)
    }

    /// `random.setstate(state)`.
    ///
    /// - Throws: ``RandomStateError`` unless there are 624 words and `0 ≤ index ≤ 624`
    ///   (the checks CPython makes).
    public init(state: State) throws(RandomStateError) {
        guard state.words.count == MT19937.stateWords else {
            throw .invalidField(generator: "PythonRandom", field: "words",
                                detail: "need 624 words, got \(state.words.count)")
        }
        guard (0...624).contains(state.index) else {
            throw .invalidField(generator: "PythonRandom", field: "index", detail: "\(state.index) not in 0...624")
        }
        // CPython's index i ↔ PyTorch-style counters next = i, left = 625 - i.
        // left = 625 (index 0: all 624 words unused, no regeneration due) is a
        // state PyTorch never produces, so it is set here directly.
        var m = MT19937(seed: 0)
        m.mt = state.words
        m.left = Int32(625 - state.index)
        m.nextIndex = UInt32(state.index)
        mt = m
        gaussNext = state.gaussNext
    }

    /// Restores a state in place (`random.setstate`).
    public mutating func setState(_ state: State) throws(RandomStateError) {
        self = try PythonRandom(state: state)
    }

    /// Layout: 624 × u32 words, `index` (u32), `gaussNext` present (u8), `gaussNext`
    /// bits (f64, 0 when absent): 2509 bytes, little-endian.
    public var serializedState: [UInt8] {
        let s = state
        var w = _StateWriter(capacity: 2509)
        for word in s.words { w.write(word) }
        w.write(UInt32(s.index))
        w.write(s.gaussNext != nil)
        w.write(s.gaussNext ?? 0)
        return w.bytes
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        try Self._checkLength(bytes, 2509, "PythonRandom")
        var r = _StateReader(bytes)
        let words: [UInt32] = r.read(count: 624)
        let index: UInt32 = r.read()
        let hasGauss = try r.readFlag(generator: "PythonRandom", field: "gaussNext flag")
        let gauss = r.readDouble()
        try self.init(state: State(words: words, index: Int(index), gaussNext: hasGauss ? gauss : nil))
    }

    /// Two generators are equal when they will produce the same values: same
    /// words, same position, same cached Gaussian (compared by bits).
    public static func == (a: PythonRandom, b: PythonRandom) -> Bool {
        a.serializedState == b.serializedState
    }
}

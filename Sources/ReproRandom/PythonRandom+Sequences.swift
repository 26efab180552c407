extension PythonRandom {
    /// `random.randrange(stop)`: an integer in `0..<stop`, by rejection
    /// (`_randbelow`: draw `stop.bit_length()` bits until below `stop`).
    ///
    /// ```swift
    /// var r = PythonRandom(seed: 42)
    /// let i = try r.randrange(1000)
    /// ```
    /// - Throws: ``PythonRandomError/emptyRange(start:stop:step:)`` when `stop ≤ 0`.
    public mutating func randrange(_ stop: Int) throws(PythonRandomError) -> Int {
        guard stop > 0 else { throw .emptyRange(start: 0, stop: stop, step: 1) }
        return Int(_randbelow(upThrough: UInt64(stop - 1)))
    }

    /// `random.randrange(start, stop, step)`: a random element of
    /// `stride(from: start, to: stop, by: step)`, drawing as CPython does
    /// (`start + step * _randbelow(n)` with `n` the number of elements).
    ///
    /// - Throws: ``PythonRandomError/zeroStep`` when `step == 0`,
    ///   ``PythonRandomError/emptyRange(start:stop:step:)`` when the range is empty.
    public mutating func randrange(_ start: Int, _ stop: Int, step: Int = 1) throws(PythonRandomError) -> Int {
        guard step != 0 else { throw .zeroStep }
        // Width and count in unsigned arithmetic: stop - start may not fit in Int.
        let ascending = step > 0
        guard ascending ? stop > start : start > stop else {
            throw .emptyRange(start: start, stop: stop, step: step)
        }
        let width = ascending ? UInt64(bitPattern: Int64(stop &- start)) : UInt64(bitPattern: Int64(start &- stop))
        let s = UInt64(step.magnitude)
        let n = width / s + (width % s == 0 ? 0 : 1)   // ≥ 1 here
        let r = _randbelow(upThrough: n - 1)
        // The true result lies in the range, so wrapping arithmetic gives it exactly.
        return start &+ step &* Int(truncatingIfNeeded: r)
    }

    /// `random.randint(a, b)`: an integer in `a...b` (`randrange(a, b + 1)`).
    ///
    /// Works for the full `Int` range, where `b + 1` would overflow.
    /// - Throws: ``PythonRandomError/emptyRange(start:stop:step:)`` when `a > b`.
    public mutating func randint(_ a: Int, _ b: Int) throws(PythonRandomError) -> Int {
        guard a <= b else {
            throw .emptyRange(start: a, stop: b == .max ? b : b + 1, step: 1)
        }
        let last = UInt64(bitPattern: Int64(b &- a))   // b - a, exact as unsigned
        return a &+ Int(truncatingIfNeeded: _randbelow(upThrough: last))
    }

    /// `random.shuffle(x)`: Fisher–Yates from the end, `j = _randbelow(i + 1)`
    /// for `i` from `count - 1` down to 1.
    ///
    /// ```swift
    /// var r = PythonRandom(seed: 0)
    /// var x = Array(0..<20)
    /// r.shuffle(&x)
    /// ```
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ x: inout C) {
        let n = x.count
        guard n > 1 else { return }
        for i in stride(from: n - 1, through: 1, by: -1) {
            let j = Int(_randbelow(upThrough: UInt64(i)))
            x.swapAt(x.index(x.startIndex, offsetBy: i), x.index(x.startIndex, offsetBy: j))
        }
    }

    /// `random.choice(seq)`: `seq[_randbelow(len(seq))]`.
    ///
    /// - Throws: ``PythonRandomError/emptySequence`` for an empty collection.
    public mutating func choice<C: Collection>(_ seq: C) throws(PythonRandomError) -> C.Element {
        let n = seq.count
        guard n > 0 else { throw .emptySequence }
        let i = Int(_randbelow(upThrough: UInt64(n - 1)))
        return seq[seq.index(seq.startIndex, offsetBy: i)]
    }

    /// `random.sample(population, k)`: `k` distinct positions, in selection order.
    ///
    /// Follows CPython's two algorithms and its switch between them: a partial
    /// shuffle of a copy when `n ≤ 21 + 4^ceil(log₄(3k))` (the `log₄` computed
    /// as `log(3k) / log(4)` with libm `log` through ``PlatformMath``, as CPython
    /// does; only the choice of algorithm depends on it), otherwise rejection of
    /// already selected positions. (`counts=` is not supported.)
    ///
    /// - Throws: ``PythonRandomError/sampleSizeOutOfRange(count:populationCount:)``
    ///   unless `0 ≤ k ≤ population.count`.
    public mutating func sample<C: RandomAccessCollection>(
        _ population: C, count k: Int
    ) throws(PythonRandomError) -> [C.Element] {
        let n = population.count
        guard k >= 0, k <= n else { throw .sampleSizeOutOfRange(count: k, populationCount: n) }
        let start = population.startIndex
        func element(_ i: Int) -> C.Element { population[population.index(start, offsetBy: i)] }
        var result: [C.Element] = []
        result.reserveCapacity(k)
        if n <= Self._sampleSetSize(k) {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = Int(_randbelow(upThrough: UInt64(n - i - 1)))
                result.append(element(pool[j]))
                pool[j] = pool[n - i - 1]
            }
        } else {
            var selected = Set<Int>()   // membership only: its order never reaches the output
            for _ in 0..<k {
                var j = Int(_randbelow(upThrough: UInt64(n - 1)))
                while selected.contains(j) { j = Int(_randbelow(upThrough: UInt64(n - 1))) }
                selected.insert(j)
                result.append(element(j))
            }
        }
        return result
    }

    /// CPython's `setsize` threshold of `sample` (saturating at `Int.max`).
    static func _sampleSetSize(_ k: Int) -> Int {
        var setSize = 21
        guard k > 5 else { return setSize }
        let (k3, overflow) = k.multipliedReportingOverflow(by: 3)
        if overflow { return .max }
        let exponent = (PlatformMath.log(Double(k3)) / PlatformMath.log(4.0)).rounded(.up)
        guard exponent < 31 else { return .max }
        setSize += 1 << (2 * Int(exponent))
        return setSize
    }
}

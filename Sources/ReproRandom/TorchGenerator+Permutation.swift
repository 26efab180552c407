// torch.randperm(n) on CPU (docs/random.md, "`randperm(n)`").

extension TorchGenerator {
    /// The `n` at and above which `randperm` switches to 64-bit draws:
    /// `floor((2^32 - 1) / 20)` = 214748364.
    public static let randpermLargeThreshold = 214_748_364

    /// `torch.randperm(n, generator=g)` (int64).
    ///
    /// Below ``randpermLargeThreshold``: a forward Fisher–Yates swap with
    /// `random() % (n - i)`, `n - 1` draws. From the threshold on: the
    /// "inside-out" shuffle with `random64() % (i + 1)`, `n` draws.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 42)
    /// let p = try g.randperm(10)   // [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)``.
    public mutating func randperm(_ n: Int) throws(TorchRandomError) -> [Int64] {
        try randperm(n, as: Int64.self)
    }

    /// `torch.randperm(n, dtype=..., generator=g)` into any fixed-width
    /// integer type (the stream does not depend on the dtype); `Int32` halves
    /// the memory of a large permutation.
    ///
    /// ```swift
    /// let p = try g.randperm(214_748_364, as: Int32.self)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)``, or
    ///   ``TorchRandomError/permutationTooLarge(n:type:)`` when `n - 1` does not fit `T`.
    public mutating func randperm<T: FixedWidthInteger>(_ n: Int, as type: T.Type) throws(TorchRandomError) -> [T] {
        try Self.checkCount(n)
        guard n == 0 || T(exactly: n - 1) != nil else {
            throw .permutationTooLarge(n: n, type: String(describing: T.self))
        }
        return [T](unsafeUninitializedCapacity: n) { buf, initialized in
            if let a = buf.baseAddress { fillPermutation(a, count: n) }
            initialized = n
        }
    }

    /// Writes the permutation into `a[0..<n]` (memory need not be initialised).
    @inline(__always)
    mutating func fillPermutation<T: FixedWidthInteger>(_ a: UnsafeMutablePointer<T>, count n: Int) {
        if n < Self.randpermLargeThreshold {
            forwardShuffle(a, count: n)
        } else {
            insideOutShuffle(a, count: n)
        }
    }

    /// The branch for `n < 214748364`: identity, then for each `i < n - 1`
    /// swap `a[i]` with `a[i + random() % (n - i)]`.
    mutating func forwardShuffle<T: FixedWidthInteger>(_ a: UnsafeMutablePointer<T>, count n: Int) {
        for i in 0..<n { (a + i).initialize(to: T(truncatingIfNeeded: i)) }
        guard n > 1 else { return }
        engine._withTorchCursor { c in
            for i in 0..<(n - 1) {
                let z = Int(c.next32() % UInt32(truncatingIfNeeded: n - i))
                let t = a[i]
                a[i] = a[i + z]
                a[i + z] = t
            }
        }
    }

    /// The branch for `n >= 214748364`: for each `i < n`,
    /// `z = random64() % (i + 1)`, then `a[i] = a[z]; a[z] = i`.
    mutating func insideOutShuffle<T: FixedWidthInteger>(_ a: UnsafeMutablePointer<T>, count n: Int) {
        engine._withTorchCursor { c in
            for i in 0..<n {
                let z = Int(truncatingIfNeeded: c.next64() % UInt64(i + 1))
                // z == i reads the slot being initialised: a[i] ends as i either way.
                (a + i).initialize(to: z == i ? T(truncatingIfNeeded: i) : a[z])
                a[z] = T(truncatingIfNeeded: i)
            }
        }
    }
}

extension TorchGenerator {
    /// The generator's state in PyTorch's `Generator.get_state()` layout:
    /// 5056 bytes, a little-endian x86-64 C struct (docs/random.md, "Saved state").
    ///
    /// | offset | type | field |
    /// |---|---|---|
    /// | 0 | u64 | initial seed |
    /// | 8 | i32 | `left` |
    /// | 12 | i32 | `seeded` (1) |
    /// | 16 | u64 | `next` |
    /// | 24 | u64[624] | MT words, zero-extended |
    /// | 5016 | f64 ×3 | `normal_x` (0), `normal_y` (cached double normal or 0), `normal_rho` (0) |
    /// | 5040 | i32 + 4 pad | `normal_is_valid` |
    /// | 5048 | f32 | `next_float_normal_sample` (or 0) |
    /// | 5052 | u8 + 3 pad | its valid flag |
    ///
    /// The bytes equal `bytes(g.get_state().numpy())` of the PyTorch generator
    /// in the same state, and `torch.Generator().set_state(...)` accepts them.
    /// The ``capability`` is not part of the state.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 42)
    /// _ = try g.randn(count: 3)
    /// let saved = g.serializedState            // 5056 bytes
    /// var h = try TorchGenerator(serializedState: saved)
    /// ```
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: Self.stateByteCount)
        w.write(initialSeed)
        w.write(engine.left)
        w.write(Int32(1))
        w.write(UInt64(engine.nextIndex))
        for word in engine.mt { w.write(UInt64(word)) }
        w.write(Double(0))
        w.write(doubleNormalCache ?? 0)
        w.write(Double(0))
        w.write(Int32(doubleNormalCache == nil ? 0 : 1))
        w.pad(4)
        w.write(floatNormalCache ?? 0)
        w.write(floatNormalCache != nil)
        w.pad(3)
        return w.bytes
    }

    /// Restores a state in PyTorch's `get_state()` layout, as
    /// `Generator.set_state` does, with the ``Capability/avx2`` kernels.
    ///
    /// - Throws: ``RandomStateError`` when the state is not 5056 bytes,
    ///   `seeded != 1`, `left` is outside `1...624`, `next > 624`, or
    ///   `next + left - 1 > 624` (the pending draws would read past the 624
    ///   words; PyTorch accepts such a state and reads out of bounds).
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        try self.init(serializedState: bytes, capability: .avx2)
    }

    /// Restores a state in PyTorch's `get_state()` layout and selects the
    /// kernel build to reproduce.
    ///
    /// ```swift
    /// let h = try TorchGenerator(serializedState: saved, capability: .generic)
    /// ```
    ///
    /// - Throws: ``RandomStateError``, as ``init(serializedState:)``.
    public init(serializedState bytes: [UInt8], capability: Capability) throws(RandomStateError) {
        let name = "TorchGenerator"
        try Self._checkLength(bytes, Self.stateByteCount, name)
        var r = _StateReader(bytes)
        let seed: UInt64 = r.read()
        let left: Int32 = r.read()
        let seeded: Int32 = r.read()
        let next: UInt64 = r.read()
        guard seeded == 1 else {
            throw .invalidField(generator: name, field: "seeded", detail: "must be 1, got \(seeded)")
        }
        guard (1...624).contains(left) else {
            throw .invalidField(generator: name, field: "left", detail: "\(left) not in 1...624")
        }
        guard next <= 624 else {
            throw .invalidField(generator: name, field: "next", detail: "\(next) > 624")
        }
        guard Int(next) + Int(left) - 1 <= 624 else {
            throw .invalidField(
                generator: name, field: "left",
                detail: "left \(left) with next \(next) would read past the 624 state words")
        }
        var words = [UInt32](repeating: 0, count: 624)
        for i in 0..<624 { words[i] = UInt32(truncatingIfNeeded: r.read(UInt64.self)) }
        r.skip(8)  // normal_x
        let normalY = r.readDouble()
        r.skip(8)  // normal_rho
        let normalValid: Int32 = r.read()
        r.skip(4)
        let floatSample = r.readFloat()
        let floatValid: UInt8 = r.read()
        engine = try MT19937(words: words, left: left, next: UInt32(next))
        initialSeed = seed
        doubleNormalCache = normalValid != 0 ? normalY : nil
        floatNormalCache = floatValid != 0 ? floatSample : nil
        self.capability = capability
    }

    /// Replaces the state with one in PyTorch's `get_state()` layout, keeping
    /// the ``capability``: `Generator.set_state(state)`.
    ///
    /// ```swift
    /// try g.setState(saved)
    /// ```
    ///
    /// - Throws: ``RandomStateError``, as ``init(serializedState:)``; the
    ///   generator is unchanged when it throws.
    public mutating func setState(_ bytes: [UInt8]) throws(RandomStateError) {
        self = try TorchGenerator(serializedState: bytes, capability: capability)
    }
}

extension Tensor {
    /// The elements converted to another dtype, with PyTorch's `.to(dtype)` rules:
    /// integer → float and float64 → float32 round to nearest (ties to even);
    /// float → integer truncates toward zero. Values that do not fit the target
    /// integer type (and NaN) throw instead of wrapping.
    ///
    /// ```swift
    /// let f = try image.converted(to: .float32)   // UInt8 0…255 → 0.0…255.0
    /// ```
    /// - Throws: ``TensorError/invalidArgument(op:reason:)`` naming the first value out of range.
    public func converted(to target: DType) throws(TensorError) -> Tensor {
        if target == dtype { return contiguous() }
        let op = "convert(\(dtype)→\(target))"
        let src = contiguous()
        let out = try Tensor.uninitialized(shape, dtype: target, op: op)
        let n = count
        // Read every source element as Double (exact for all four dtypes except
        // int64 beyond 2⁵³, handled separately below).
        func read(_ i: Int) -> Double {
            switch dtype {
            case .float32: Double(src.rawBase.load(fromByteOffset: i * 4, as: Float.self))
            case .float64: src.rawBase.load(fromByteOffset: i * 8, as: Double.self)
            case .int64: Double(src.rawBase.load(fromByteOffset: i * 8, as: Int64.self))
            case .uint8: Double(src.rawBase.load(fromByteOffset: i, as: UInt8.self))
            }
        }
        for i in 0..<n {
            switch target {
            case .float32:
                let v: Float = dtype == .int64
                    ? Float(src.rawBase.load(fromByteOffset: i * 8, as: Int64.self))
                    : Float(read(i))
                out.rawBase.storeBytes(of: v, toByteOffset: i * 4, as: Float.self)
            case .float64:
                let v: Double = dtype == .int64
                    ? Double(src.rawBase.load(fromByteOffset: i * 8, as: Int64.self))
                    : read(i)
                out.rawBase.storeBytes(of: v, toByteOffset: i * 8, as: Double.self)
            case .int64:
                let d = read(i)
                guard let v = Int64(exactly: d.rounded(.towardZero)) else {
                    throw .invalidArgument(op: op, reason: "value \(d) at flat index \(i) does not fit int64")
                }
                out.rawBase.storeBytes(of: v, toByteOffset: i * 8, as: Int64.self)
            case .uint8:
                let d = dtype == .int64 ? Double(src.rawBase.load(fromByteOffset: i * 8, as: Int64.self)) : read(i)
                guard let v = UInt8(exactly: d.rounded(.towardZero)) else {
                    throw .invalidArgument(op: op, reason: "value \(d) at flat index \(i) does not fit uint8")
                }
                out.rawBase.storeBytes(of: v, toByteOffset: i, as: UInt8.self)
            }
        }
        return out
    }
}

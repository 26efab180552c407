extension Tensor {
    /// Whether `other` views the same elements as `self`: the same storage, offset, shape,
    /// strides and dtype.
    ///
    /// While one caller holds both values, their bytes are equal: a write goes through
    /// copy-on-write, so it never reaches a storage that another value still references. A trace
    /// recorder that keeps an output uses this to hash a repeated output once.
    @_spi(Kernels) public func isSameView(as other: Tensor) -> Bool {
        storage === other.storage && offset == other.offset && dtype == other.dtype
            && shape == other.shape && strides == other.strides
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ReproTensor

extension Tensor {
    /// A float32 tensor holding a float32 checkpoint tensor's elements: one copy from the
    /// checkpoint's bytes into the new storage (little-endian bytes are the values on a
    /// little-endian host; elsewhere each element is converted from little-endian).
    init(copyingFloat32 checkpoint: CheckpointTensor) throws(TensorError) {
        self = try Tensor(unsafeUninitializedShape: checkpoint.shape, dtype: .float32) { dst in
            checkpoint.withUnsafeBytes { src in
                #if _endian(little)
                if src.count > 0 { dst.copyMemory(from: src) }
                #else
                for i in 0..<(src.count / 4) {
                    let v = UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    dst.storeBytes(of: Float(bitPattern: v), toByteOffset: 4 * i, as: Float.self)
                }
                #endif
            }
        }
    }
}

extension CheckpointBuffer {
    /// Gives the pages wholly inside `range` back to the page cache (`MADV_DONTNEED` on a private,
    /// never-written mapping: the process stops holding them; touching them again re-reads the
    /// same file bytes). Does nothing for a buffer that is not a mapping.
    func releasePages(_ range: Range<Int>) {
        guard isMapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let address = Int(bitPattern: base) + range.lowerBound
        let start = (address + page - 1) / page * page
        let end = (Int(bitPattern: base) + range.upperBound) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }
}

extension CheckpointTensor {
    /// Releases the resident pages of this tensor's bytes when they are a view of a mapped file
    /// (after they were copied into their final form: loading calls this so that a checkpoint's
    /// pages and the model's copy are not both resident). Values read later are unchanged.
    func releaseResidentPages() {
        storage.buffer.releasePages(storage.range)
    }
}

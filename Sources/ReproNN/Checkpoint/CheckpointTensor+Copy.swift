#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

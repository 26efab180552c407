#if canImport(Glibc)
import Glibc
#endif

/// How the `repro` process asks the C allocator to behave: memory only, never a value.
enum MemoryPolicy {
    /// glibc's `M_MMAP_THRESHOLD` (malloc.h), the `mallopt` parameter fixed below.
    private static let mmapThresholdParameter: Int32 = -3

    /// Fixes glibc's mmap threshold at 128 KiB (its initial value), so that a freed block of that
    /// size or more goes back to the system at once.
    ///
    /// By default glibc raises the threshold to the size of every large block freed (up to 32 MiB),
    /// after which such blocks come from the heap and stay resident when freed. Loading and
    /// preparing a model frees many blocks of a few MiB (packing buffers, transposes), so a
    /// detection process kept 50–60 MiB it no longer used at its peak (measured on RetinaNet v2 with
    /// one 800×1067 image: 784 → 723 MiB). Blocks of 4 MiB and more are tensors, which the
    /// storage cache recycles whatever this setting. Not glibc: nothing to do.
    static func returnFreedBlocksPromptly() {
        mallopt(mmapThresholdParameter, 128 << 10)
    }

    /// glibc's `M_TRIM_THRESHOLD` (malloc.h).
    private static let trimThresholdParameter: Int32 = -1

    /// Keeps freed blocks up to 32 MiB in the heap for the next allocation, and the heap's free top
    /// resident, for processes that allocate the same large buffers over and over (training steps).
    ///
    /// The autograd tape keeps activations and gradients in arrays, freed at the end of each
    /// backward pass and allocated again by the next forward. By default glibc unmaps blocks from
    /// 32 MiB up and trims the heap's free top beyond twice its current mmap threshold, so each
    /// step faulted fresh zero pages in again: fixing the threshold at glibc's largest (32 MiB) and
    /// never trimming took ResNet-18 224² batch 16 from 322 k to 212 k page faults over three
    /// forward + backward passes, with the same peak. Blocks above 32 MiB are still mapped per
    /// allocation. Not glibc: nothing to do.
    static func keepFreedBlocksForReuse() {
        mallopt(mmapThresholdParameter, 32 << 20)
        mallopt(trimThresholdParameter, Int32.max)
    }

    /// `mallopt(parameter, value)` where the C library has it.
    private static func mallopt(_ parameter: Int32, _ value: Int32) {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        // mallopt is not in Swift's Glibc module; look it up in the C library already loaded.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(parameter, value)
        #endif
    }
}

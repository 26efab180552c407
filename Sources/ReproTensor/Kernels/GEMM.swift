/// Single-precision matrix multiply `C = epilogue(A · B)` with a fixed
/// accumulation order.
///
/// Every output is exactly one fused multiply-add chain
/// `acc = 0; for p in 0..<k { acc = fma(A[i,p], B[p,j], acc) }`, followed by
/// the ``Epilogue`` — except long-K products with small outputs
/// (``isSegmented(m:n:k:)``), which are summed in fixed segments of K (see
/// `GEMM+Segments.swift`). Block sizes are constants; threads split the rows (or the
/// columns) of C on 6-row / 16-column panel boundaries, so neither the thread
/// count, nor the vector width, nor the surrounding rows change one bit of an
/// output. ``GEMM/reference(m:n:k:a:b:c:ldc:epilogue:)`` computes the same bits
/// with plain scalar code.
///
/// Algorithm: one operand is packed whole (B in 16-column panels, or A in
/// 6-row panels; a pure copy) — once, split over the threads and shared by
/// them, or, when it is small (``privateCopyFloats``), by every thread into a
/// copy of its own at the start of its first unit, so that no thread waits for
/// the team or reads cache lines another core has just written —
/// the other is packed by each thread just before use, in cache-sized pieces
/// of the units of C it claims (in KC-deep blocks, so the micro-panels of one
/// cache block are contiguous). Each (MC × NC) block of C is finished over
/// all K blocks (KC deep) of a piece before the next; between them its partial
/// sums live in a contiguous per-thread buffer (L2-resident whatever C's
/// leading dimension). A 6 × 16 register-blocked micro-kernel holds twelve
/// `SIMD8<Float>` accumulators and reloads the partial sums between K blocks
/// (a stored and reloaded `Float` is exact).
///
/// ```swift
/// GEMM.multiply(m: 4, n: 5, k: 3,
///               a: .init(aPtr, rowStride: 3), b: .init(bPtr, rowStride: 5),
///               c: cPtr, ldc: 5, threads: 2)
/// ```
@_spi(Kernels) public enum GEMM {
    /// Rows of the micro-kernel.
    @_spi(Kernels) public static let mr = 6
    /// Columns of the micro-kernel.
    @_spi(Kernels) public static let nr = 16
    /// Rows of A (and of the block of C kept in the L2 cache) per cache block (a multiple of ``mr``).
    @_spi(Kernels) public static let mc = 144
    /// Depth of a cache block (the A and B micro-panels of one kernel call). 512 rather than 256
    /// halves the partial sums stored and reloaded between blocks: 1–2 % more GFLOP/s on Zen 3.
    /// Never changes a bit (a stored and reloaded `Float` is exact).
    @_spi(Kernels) public static let kc = 512
    /// Columns of B (and of the block of C) per cache block (a multiple of ``nr``).
    @_spi(Kernels) public static let nc = 256
    /// Depth of the operand pieces packed just before use (a multiple of ``kc``).
    static let ks = 2048
    /// Floats of a shared packed operand walked per pass (4 MB: stays in L3).
    static let sharedBlockFloats = 1 << 20
    /// Shared operands up to this size (floats, 2 MB) are packed by every thread into a copy of
    /// its own (see ``Driver``), larger ones once and shared.
    static let privateCopyFloats = 1 << 19
    /// Packing work (floats) below which one thread packs alone.
    static let packGrain = 1 << 16

    /// A read-only matrix operand: element `(i, j)` is `base[i·rowStride + j·colStride]`.
    @_spi(Kernels) public struct Operand: @unchecked Sendable {
        /// The element `(0, 0)`.
        @_spi(Kernels) public var base: UnsafePointer<Float>
        /// Step between rows, in elements.
        @_spi(Kernels) public var rowStride: Int
        /// Step between columns, in elements.
        @_spi(Kernels) public var colStride: Int

        /// Creates an operand (row-major when `colStride` is 1).
        @_spi(Kernels) public init(_ base: UnsafePointer<Float>, rowStride: Int, colStride: Int = 1) {
            self.base = base
            self.rowStride = rowStride
            self.colStride = colStride
        }

        @inline(__always) subscript(i: Int, j: Int) -> Float { base[i * rowStride + j * colStride] }
    }

    /// Computes `C[m×n] = epilogue(A[m×k] · B[k×n])`; `C` is row-major with leading dimension `ldc`.
    ///
    /// The operands are packed into a scratch buffer the ``ThreadPool`` keeps
    /// between calls (large products do not page-fault on fresh memory).
    ///
    /// - Parameters:
    ///   - epilogueAxis: whether the epilogue's channel is the column (default) or the row of C.
    ///   - threads: the largest number of threads (results do not depend on it).
    ///   - split: how threads divide C (results do not depend on it; unused by segmented products).
    @_spi(Kernels) public static func multiply(
        m: Int, n: Int, k: Int, a: Operand, b: Operand,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue = .none,
        epilogueAxis: EpilogueAxis = .columns, threads: Int, split: Split = .automatic
    ) {
        guard m > 0 && n > 0 else { return }
        if isSegmented(m: m, n: n, k: k) {
            segmentedMultiply(m: m, n: n, k: k, a: a, b: .unpacked(b), packedDepth: k, c: c, ldc: ldc,
                              epilogue: epilogue, epilogueAxis: epilogueAxis, threads: threads)
            return
        }
        Driver(m: m, n: n, k: k, a: a, b: .unpacked(b), c: c, ldc: ldc, epilogue: epilogue,
               epilogueAxis: epilogueAxis, threads: threads, split: split).run()
    }

    /// Computes `C = epilogue(A · B)` with a B packed once (for weights reused across calls).
    @_spi(Kernels) public static func multiply(
        m: Int, a: Operand, packedB: PackedMatrix,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue = .none,
        epilogueAxis: EpilogueAxis = .columns, threads: Int, split: Split = .automatic
    ) {
        guard m > 0 && packedB.n > 0 else { return }
        withExtendedLifetime(packedB) {
            if isSegmented(m: m, n: packedB.n, k: packedB.k) {
                segmentedMultiply(m: m, n: packedB.n, k: packedB.k, a: a, b: .packed(packedB.base), packedDepth: packedB.k,
                                  c: c, ldc: ldc, epilogue: epilogue, epilogueAxis: epilogueAxis, threads: threads)
                return
            }
            Driver(m: m, n: packedB.n, k: packedB.k, a: a, b: .packed(packedB.base), c: c, ldc: ldc, epilogue: epilogue,
                   epilogueAxis: epilogueAxis, threads: threads, split: split).run()
        }
    }

    /// How threads divide C (every choice gives identical bits).
    @_spi(Kernels) public enum Split: String, Sendable, CaseIterable {
        /// The longer side of C, unless the other balances the tiles more than 5 % better.
        case automatic
        /// Threads take ranges of 6-row panels.
        case rows
        /// Threads take ranges of 16-column panels.
        case columns
    }

    /// Which index of C selects the epilogue's per-channel values.
    @_spi(Kernels) public enum EpilogueAxis: Sendable {
        /// Channel = column `j` (NHWC-style outputs).
        case columns
        /// Channel = row `i` (NCHW-style outputs: `out[o, pixel] = W · X`).
        case rows
    }

    /// The scalar reference: the same bits as ``multiply(m:n:k:a:b:c:ldc:epilogue:epilogueAxis:threads:split:)``
    /// with plain loops — one chain per output, or, for shapes that meet
    /// ``isSegmented(m:n:k:)``, the same segmented sum.
    @_spi(Kernels) public static func reference(
        m: Int, n: Int, k: Int, a: Operand, b: Operand,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue = .none, epilogueAxis: EpilogueAxis = .columns
    ) {
        if isSegmented(m: m, n: n, k: k) {
            segmentedReference(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, epilogue: epilogue, epilogueAxis: epilogueAxis)
            return
        }
        for i in 0..<m {
            for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k { acc = acc.addingProduct(a[i, p], b[p, j]) }
                c[i * ldc + j] = epilogue.apply(acc, channel: epilogueAxis == .rows ? i : j)
            }
        }
    }
}

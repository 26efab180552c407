#if os(Linux)
import Glibc
#endif
import Testing
@_spi(Kernels) @testable import ReproTensor

/// The serial glue around the kernels runs on the pool: weight packing (also flipped and
/// transposed for the input gradient), large copies, element-wise adds and the sample tree's
/// copy-out and merges. Each is compared bit for bit with a plain loop and across thread counts,
/// with the threads proven to have run (``onOwnPool(threads:team:sourceLocation:_:)``), on sizes
/// that span several chunks and end in a partial one.
@Suite struct ParallelPreparationTests {
    /// The packed layout written with plain loops from OIHW `w` (the layout's definition).
    static func referencePack(_ g: ConvGeometry, _ w: [Float]) -> [Float] {
        let icg = g.groupInChannels, ocg = g.groupOutChannels, kh = g.kernelHeight, kw = g.kernelWidth
        let blocks = (ocg + 15) / 16, blockSize = kh * kw * icg * 16
        var d = [Float](repeating: .nan, count: g.groups * blocks * blockSize)
        for grp in 0..<g.groups { for ob in 0..<blocks { for ky in 0..<kh { for kx in 0..<kw { for ic in 0..<icg { for l in 0..<16 {
            let o = ob * 16 + l
            d[(grp * blocks + ob) * blockSize + ((ky * kw + kx) * icg + ic) * 16 + l] =
                o < ocg ? w[(((grp * ocg + o) * icg + ic) * kh + ky) * kw + kx] : 0
        }}}}}}
        return d
    }

    /// The flipped, transposed OIHW weights of the input gradient's convolution, with plain loops.
    static func referenceFlip(_ g: ConvGeometry, _ w: [Float]) -> [Float] {
        let kk = g.kernelHeight * g.kernelWidth, icg = g.groupInChannels, ocg = g.groupOutChannels
        var f = [Float](repeating: .nan, count: w.count)
        for grp in 0..<g.groups { for c in 0..<icg { for o in 0..<ocg { for tap in 0..<kk {
            f[((grp * icg + c) * ocg + o) * kk + tap] = w[((grp * ocg + o) * icg + c) * kk + kk - 1 - tap]
        }}}}
        return f
    }

    static func contents(_ p: Conv2dKernel.PackedWeights) -> [Float] {
        Array(UnsafeBufferPointer(start: p.base, count: p.byteCount / 4))
    }

    /// Forward shapes: one group with a partial 16-channel block (3·3·250·250 floats ≈ 2.2 MB),
    /// and two groups (each over 1 MiB packed).
    static let geometries: [ConvGeometry] = [
        try! ConvGeometry(batch: 1, inChannels: 250, height: 8, width: 8, outChannels: 250, kernelHeight: 3, kernelWidth: 3,
                          padding: (1, 1)),
        try! ConvGeometry(batch: 1, inChannels: 384, height: 8, width: 8, outChannels: 320, kernelHeight: 3, kernelWidth: 3,
                          padding: (1, 1), groups: 2),
    ]

    @Test(arguments: 0..<geometries.count)
    func packingIsACopyForEveryThreadCount(_ i: Int) throws {
        let g = Self.geometries[i]
        let w = seededFloats(Conv2dBackward.weightCount(g), seed: UInt64(40 + i))
        let expected = bits(Self.referencePack(g, w))
        let t = Conv2dBackward.transposedGeometry(g)
        let flipped = Self.referenceFlip(g, w)
        let expectedFlipped = bits(Self.referencePack(t, flipped))
        for n in [1, 2, 3] {
            let packed = try onOwnPool(threads: n) {
                w.withUnsafeBufferPointer { Self.contents(Conv2dKernel.PackedWeights(oihw: $0.baseAddress!, geometry: g, threads: n)) }
            }
            #expect(bits(packed) == expected, "oihw, threads \(n)")
            let transposed = try onOwnPool(threads: n) {
                w.withUnsafeBufferPointer {
                    Self.contents(Conv2dKernel.PackedWeights(flippedTransposedOf: $0.baseAddress!, geometry: t, threads: n))
                }
            }
            #expect(bits(transposed) == expectedFlipped, "flipped, threads \(n)")
        }
    }

    /// Below 1 MiB packed the packing stays on the calling thread (no job at all).
    @Test func smallPackingStaysOnTheCaller() throws {
        let g = try ConvGeometry(batch: 1, inChannels: 16, height: 4, width: 4, outChannels: 16, kernelHeight: 3, kernelWidth: 3,
                                 padding: (1, 1))
        let w = seededFloats(Conv2dBackward.weightCount(g), seed: 9)
        let pool = ThreadPool()
        let packed = Runtime.withSettings(threads(2)) {
            Runtime.withThreadPool(pool) { w.withUnsafeBufferPointer { Self.contents(.init(oihw: $0.baseAddress!, geometry: g, threads: 2)) } }
        }
        #expect(bits(packed) == bits(Self.referencePack(g, w)))
        #expect(pool.statistics.largestRequest == 0)
    }

    /// 1,000,003 floats: sixteen 256 KiB copy chunks and a partial one; 31 add chunks and a partial one.
    static let large = 1_000_003

    @Test func copiesAndAddsAreInvariantToThreads() throws {
        let a = seededFloats(Self.large, seed: 1), b = seededFloats(Self.large, seed: 2)
        var plain = a
        for i in plain.indices { plain[i] = plain[i] + b[i] }
        for n in [1, 2, 3] {
            let copied = try onOwnPool(threads: n) { a.withUnsafeBufferPointer { ParallelMemory.array(copying: $0.baseAddress!, count: Self.large, threads: n) } }
            #expect(bits(copied) == bits(a), "copy, threads \(n)")
            var sum = a
            try onOwnPool(threads: n) {
                sum.withUnsafeMutableBufferPointer { s in b.withUnsafeBufferPointer { ParallelMemory.add($0.baseAddress!, into: s.baseAddress!, count: Self.large, threads: n) } }
            }
            #expect(bits(sum) == bits(plain), "add in place, threads \(n)")
            var out = [Float](repeating: .nan, count: Self.large)
            try onOwnPool(threads: n) {
                out.withUnsafeMutableBufferPointer { o in a.withUnsafeBufferPointer { l in b.withUnsafeBufferPointer { r in
                    ParallelMemory.add(l.baseAddress!, r.baseAddress!, into: o.baseAddress!, count: Self.large, threads: n)
                } } }
            }
            #expect(bits(out) == bits(plain), "add out of place, threads \(n)")
        }
    }

    @Test func tensorCopiesAreInvariantToThreads() throws {
        let a = seededFloats(Self.large, seed: 3)
        for n in [1, 2, 3] {
            let t = try onOwnPool(threads: n) { try Tensor(shape: [Self.large], scalars: a) }
            let back: [Float] = try onOwnPool(threads: n) { try t.scalars() }
            #expect(bits(back) == bits(a), "threads \(n)")
            // Copy-on-write of a shared storage.
            var u = t
            try onOwnPool(threads: n) { try u.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = 7 } }
            #expect(try t.scalar(at: [0], as: Float.self) == a[0])
            #expect(try u.scalars(as: Float.self)[1...] == a[1...])
        }
        let empty = try Tensor(shape: [0, 3], scalars: [Float]())
        #expect(try empty.scalars(as: Float.self).isEmpty)
    }

    /// A serial fill with the pages faulted in by a helper (a seeded model's parameters): the same
    /// bytes as the fill alone on every thread count, on a buffer of 8 MiB + 7 floats that starts
    /// off a page boundary (whole pages go to the helper, the partial ends stay with the filler).
    @Test func fillWithPrefaultWritesExactlyWhatTheFillerWrites() throws {
        let count = (8 << 18) + 7
        let expected = seededFloats(count, seed: 11)
        for n in [1, 2] {
            let storage = UnsafeMutablePointer<Float>.allocate(capacity: count + 1)
            defer { storage.deallocate() }
            let p = storage + 1
            try onOwnPool(threads: n) {
                ParallelMemory.fill(UnsafeMutableRawPointer(p), byteCount: count * 4, threads: n) {
                    for i in 0..<count { p[i] = expected[i] }
                }
            }
            #expect(bits(Array(UnsafeBufferPointer(start: p, count: count))) == bits(expected), "threads \(n)")
        }
        // Below 1 MiB the filler runs alone (no job).
        let pool = ThreadPool()
        var small = [Float](repeating: 0, count: 1000)
        Runtime.withSettings(threads(2)) {
            Runtime.withThreadPool(pool) {
                small.withUnsafeMutableBufferPointer { b in
                    ParallelMemory.fill(UnsafeMutableRawPointer(b.baseAddress!), byteCount: 4000, threads: 2) { b[999] = 1 }
                }
            }
        }
        #expect(small[999] == 1 && pool.statistics.largestRequest == 0)
    }

    enum Planted: Error, Equatable { case failure }

    /// A fill that throws: its error, typed, once the helper is done.
    @Test func fillWithPrefaultRethrowsTheFillersError() throws {
        let count = 4 << 18
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { p.deallocate() }
        #expect(throws: Planted.failure) {
            try onOwnPool(threads: 2) {
                try ParallelMemory.fill(UnsafeMutableRawPointer(p), byteCount: count * 4, threads: 2) { () throws(Planted) in
                    throw .failure
                }
            }
        }
    }

    #if os(Linux)
    /// The helper really faults the pages in: with a filler that writes nothing, every whole page
    /// of a fresh mapping is resident afterwards (`mincore`), and none is without the helper.
    @Test func fillWithPrefaultMakesThePagesResident() throws {
        let bytes = 8 << 20
        func residentPages(threads n: Int) throws -> (resident: Int, pages: Int) {
            let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            let base = try #require(raw == MAP_FAILED ? nil : raw)
            defer { munmap(base, bytes) }
            _ = madvise(base, bytes, MADV_NOHUGEPAGE)
            try onOwnPool(threads: n) { ParallelMemory.fill(base, byteCount: bytes, threads: n) {} }
            var vec = [UInt8](repeating: 0, count: bytes / 4096)
            #expect(mincore(base, bytes, &vec) == 0)
            return (vec.filter { $0 & 1 != 0 }.count, vec.count)
        }
        let alone = try residentPages(threads: 1), helped = try residentPages(threads: 2)
        #expect(alone.resident == 0, "nothing touched the mapping: \(alone)")
        #expect(helped.resident == helped.pages, "the helper faulted every page in: \(helped)")
    }
    #endif

    /// Sample-tree merges and the total over 100,003-float contributions (four add chunks and a
    /// tail), five samples from index 3: the same bits as plain loops for every thread count.
    @Test func sampleTreeSumIsInvariantToThreads() throws {
        let count = 100_003
        let samples = (0..<5).map { seededFloats(count, seed: UInt64(20 + $0)) }
        // Samples 3 | 4…7 → blocks [3] and [4, 8) = (4 + 5) + (6 + 7); the total adds them from the right.
        func plus(_ x: [Float], _ y: [Float]) -> [Float] { zip(x, y).map { $0 + $1 } }
        let right = plus(plus(samples[1], samples[2]), plus(samples[3], samples[4]))
        let expected = plus(right, samples[0])
        for n in [1, 2, 3] {
            let total = try onOwnPool(threads: n) { () -> [Float] in
                var s = SampleTreeSum(count: count, startIndex: 3)
                for v in samples { s.append(sample: v) }
                return s.total()
            }
            #expect(bits(total) == bits(expected), "threads \(n)")
        }
    }
}

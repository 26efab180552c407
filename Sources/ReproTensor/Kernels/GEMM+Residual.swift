/// A residual connection fused into the GEMM's epilogue:
/// `C = relu(epilogue(A · B) + R)`, element by element — the add and the ReLU
/// of a ResNet block's shortcut, done while each block of C is still in cache
/// instead of in a second pass over the whole output.
///
/// Bits: each output is first finished exactly as ``GEMM/multiply(m:a:packedB:c:ldc:epilogue:epilogueAxis:threads:split:)``
/// finishes it (its whole FMA chain, then the ``Epilogue``), then `v = c + r`
/// (one rounding) and `v < 0 ? 0 : v` — the same operations, in the same order,
/// as that multiply followed by ``Tensor/add(_:relu:)`` with `relu: true`.
extension GEMM {
    /// Computes `C = relu(epilogue(A · B) + R)` with a B packed once; `R` (`residual`) has C's
    /// shape (element `(i, j)` at `residual[i, j]`) and may not overlap C.
    ///
    /// ```swift
    /// GEMM.multiply(m: 4, a: .init(aPtr, rowStride: 3), packedB: packed,
    ///               c: cPtr, ldc: 5, addingReLU: .init(rPtr, rowStride: 5), threads: 2)
    /// ```
    ///
    /// - Parameters:
    ///   - residual: added to each finished output before the ReLU.
    ///   - threads: the largest number of threads (results do not depend on it).
    @_spi(Kernels) public static func multiply(
        m: Int, a: Operand, packedB: PackedMatrix, c: UnsafeMutablePointer<Float>, ldc: Int,
        epilogue: Epilogue = .none, addingReLU residual: Operand, threads: Int
    ) {
        guard m > 0 && packedB.n > 0 else { return }
        withExtendedLifetime(packedB) {
            multiply(m: m, n: packedB.n, k: packedB.k, a: a, b: .packed(packedB.base), c: c, ldc: ldc,
                     epilogue: epilogue, residual: residual, threads: threads)
        }
    }

    /// Computes `C = relu(epilogue(A · B) + R)` (see ``multiply(m:a:packedB:c:ldc:epilogue:addingReLU:threads:)``).
    ///
    /// ```swift
    /// GEMM.multiply(m: 4, n: 5, k: 3, a: .init(aPtr, rowStride: 3), b: .init(bPtr, rowStride: 5),
    ///               c: cPtr, ldc: 5, addingReLU: .init(rPtr, rowStride: 5), threads: 2)
    /// ```
    @_spi(Kernels) public static func multiply(
        m: Int, n: Int, k: Int, a: Operand, b: Operand, c: UnsafeMutablePointer<Float>, ldc: Int,
        epilogue: Epilogue = .none, addingReLU residual: Operand, threads: Int
    ) {
        guard m > 0 && n > 0 else { return }
        multiply(m: m, n: n, k: k, a: a, b: .unpacked(b), c: c, ldc: ldc, epilogue: epilogue, residual: residual, threads: threads)
    }

    private static func multiply(
        m: Int, n: Int, k: Int, a: Operand, b: BSource, c: UnsafeMutablePointer<Float>, ldc: Int,
        epilogue: Epilogue, residual: Operand, threads: Int
    ) {
        if isSegmented(m: m, n: n, k: k) {
            // Rare (long K, few outputs): the residual in one pass after the segmented sum.
            segmentedMultiply(m: m, n: n, k: k, a: a, b: b, packedDepth: k, c: c, ldc: ldc,
                              epilogue: epilogue, epilogueAxis: .columns, threads: threads)
            addResidualReLU(residual, c: c, ldc: ldc, rows: 0..<m, columns: 0..<n)
            return
        }
        var d = Driver(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, epilogue: epilogue,
                       epilogueAxis: .columns, threads: threads, split: .automatic)
        d.residual = residual
        d.run()
    }

    /// `c[i, j] = relu(c[i, j] + r[i, j])` over a block of finished outputs (ReLU as
    /// ``Epilogue``'s: NaN and −0 pass through).
    static func addResidualReLU(_ r: Operand, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Range<Int>, columns: Range<Int>) {
        typealias V = SIMD8<Float>
        for i in rows {
            let cr = c + i * ldc, rr = r.base + i * r.rowStride
            var j = columns.lowerBound
            if r.colStride == 1 {
                while j + 8 <= columns.upperBound {
                    var v = UnsafeRawPointer(cr + j).loadUnaligned(as: V.self) + UnsafeRawPointer(rr + j).loadUnaligned(as: V.self)
                    v.replace(with: 0, where: v .< 0)
                    UnsafeMutableRawPointer(cr + j).storeBytes(of: v, as: V.self)
                    j += 8
                }
            }
            while j < columns.upperBound {
                var v = cr[j] + rr[j * r.colStride]
                if v < 0 { v = 0 }
                cr[j] = v
                j += 1
            }
        }
    }
}

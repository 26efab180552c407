import Repro

/// torch-compatible fills of `count` elements (TorchGenerator), single thread.
func rngTorchCases(count: Int, repeats: Int, into results: inout [(String, Double)]) {
    var g = TorchGenerator(seed: UInt64(42))
    var f = [Float](repeating: 0, count: count)
    var d = [Double](repeating: 0, count: count)
    results.append(("torch_rand", best(repeats) {
        f.withUnsafeMutableBufferPointer { try? g.fillUniform($0) }
        sink(f[count - 1])
    }))
    results.append(("torch_rand_f64", best(repeats) {
        d.withUnsafeMutableBufferPointer { try? g.fillUniform($0) }
        sink(d[count - 1])
    }))
    results.append(("torch_randn", best(repeats) {
        f.withUnsafeMutableBufferPointer { try? g.fillNormal($0) }
        sink(f[count - 1])
    }))
}

/// Layout conversions between PyTorch's NCHW and the kernels' NHWC.
///
/// ```swift
/// Layout.nhwcToNCHW(src, dst, n: 1, c: 256, hw: 100 * 136, threads: 2)
/// ```
@_spi(Kernels) public enum Layout {
    /// Transposes `[N, HW, C]` to `[N, C, HW]` (pure copies: exact).
    @_spi(Kernels) public static func nhwcToNCHW(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, n: Int, c: Int, hw: Int, threads: Int) {
        let tile = 32
        let tiles = (c + tile - 1) / tile
        ThreadPool.current.forEachChunk(n * tiles, threads: threads) { chunk in
            let s = chunk / tiles, c0 = (chunk % tiles) * tile, c1 = min(c0 + tile, c)
            let sp = src + s * hw * c, dp = dst + s * c * hw
            for p0 in stride(from: 0, to: hw, by: tile) {
                let p1 = min(p0 + tile, hw)
                for ch in c0..<c1 { for p in p0..<p1 { dp[ch * hw + p] = sp[p * c + ch] } }
            }
        }
    }

    /// Transposes `[N, C, HW]` to `[N, HW, C]` (pure copies: exact).
    @_spi(Kernels) public static func nchwToNHWC(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, n: Int, c: Int, hw: Int, threads: Int) {
        let tile = 32
        let tiles = (hw + tile - 1) / tile
        ThreadPool.current.forEachChunk(n * tiles, threads: threads) { chunk in
            let s = chunk / tiles, p0 = (chunk % tiles) * tile, p1 = min(p0 + tile, hw)
            let sp = src + s * c * hw, dp = dst + s * hw * c
            for c0 in stride(from: 0, to: c, by: tile) {
                let c1 = min(c0 + tile, c)
                for p in p0..<p1 { for ch in c0..<c1 { dp[p * c + ch] = sp[ch * hw + p] } }
            }
        }
    }
}

/// Sorting and top-k under one documented total order: **value descending,
/// then index ascending**. `−0` and `+0` are equal (the index decides); every
/// NaN is greater than every number (NaNs come first, by index). The order is
/// a strict total order on (value, index), so the result is unique — the
/// algorithm (an unstable sort on a composite key) cannot change it.
///
/// ```swift
/// Sorting.order([0.5, 2, 0.5, -1])   // [1, 0, 2, 3]
/// ```
@_spi(Kernels) public enum Sorting {
    /// A key whose ascending order is the descending value order (NaN first, ±0 equal).
    @inline(__always)
    static func descendingKey(_ v: Float) -> UInt32 {
        if v.isNaN { return 0 }
        let b = (v == 0 ? Float(0) : v).bitPattern
        let ascending = b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
        return ~ascending  // ≥ 1 for numbers; the largest number gets the smallest key
    }

    /// Indices of `values` in the total order.
    @_spi(Kernels) public static func order(_ values: UnsafeBufferPointer<Float>) -> [Int] {
        var keys = [UInt64](repeating: 0, count: values.count)
        for i in values.indices { keys[i] = UInt64(descendingKey(values[i])) << 32 | UInt64(i) }
        keys.sort()
        return keys.map { Int($0 & 0xffff_ffff) }
    }

    /// Indices of `values` in the total order.
    @_spi(Kernels) public static func order(_ values: [Float]) -> [Int] {
        values.withUnsafeBufferPointer { order($0) }
    }

    /// The first `k` indices of the total order (the top `k`).
    @_spi(Kernels) public static func topK(_ values: UnsafeBufferPointer<Float>, k: Int) -> [Int] {
        let n = values.count
        let k = min(max(k, 0), n)
        if k == 0 { return [] }
        if k * 8 > n { return Array(order(values).prefix(k)) }
        // Bounded max-heap of the k smallest keys (= the k first in the order).
        var heap: [UInt64] = []
        heap.reserveCapacity(k)
        for i in 0..<n {
            let key = UInt64(descendingKey(values[i])) << 32 | UInt64(i)
            if heap.count < k {
                heap.append(key)
                var c = heap.count - 1
                while c > 0 {
                    let p = (c - 1) / 2
                    if heap[p] >= heap[c] { break }
                    heap.swapAt(p, c)
                    c = p
                }
            } else if key < heap[0] {
                heap[0] = key
                var p = 0
                while true {
                    let l = 2 * p + 1, r = l + 1
                    var m = p
                    if l < k && heap[l] > heap[m] { m = l }
                    if r < k && heap[r] > heap[m] { m = r }
                    if m == p { break }
                    heap.swapAt(p, m)
                    p = m
                }
            }
        }
        heap.sort()
        return heap.map { Int($0 & 0xffff_ffff) }
    }

    /// The scalar reference: a comparison sort with the order written out.
    @_spi(Kernels) public static func referenceOrder(_ values: [Float]) -> [Int] {
        values.indices.sorted { a, b in
            let va = values[a], vb = values[b]
            if va.isNaN || vb.isNaN {
                if va.isNaN && vb.isNaN { return a < b }
                return va.isNaN
            }
            if va != vb { return va > vb }
            return a < b
        }
    }
}

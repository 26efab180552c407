/// `max |a − b| / max |b|`: a difference relative to the reference's largest magnitude (the
/// absolute difference when the reference is all zeros) — how float comparisons against another
/// library's results state their tolerance.
public func maxRelativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxRelativeDifference: \(a.count) vs \(b.count) values")
    let scale = b.map { abs($0) }.max() ?? 0
    var worst: Float = 0
    for i in a.indices { worst = max(worst, abs(a[i] - b[i])) }
    return scale == 0 ? worst : worst / scale
}

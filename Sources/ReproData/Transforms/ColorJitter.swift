/// torchvision's `ColorJitter`: draws a random order of the four adjustments
/// (a uniform permutation), then a factor for each enabled one — brightness,
/// contrast, saturation in `[max(0, 1 − v), 1 + v]`, hue in `[−v, v]` — and
/// applies them in the drawn order on values in [0, 1], as torchvision's
/// tensor functional ops do (blend and clamp; grayscale
/// `0.2989 R + 0.587 G + 0.114 B`; contrast about the grayscale mean, summed
/// in a fixed order in Double; hue through HSV).
///
/// ```swift
/// let t = ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)
/// let y = try t.apply(x, using: &g)
/// ```
public struct ColorJitter: ImageTransform {
    /// Brightness jitter (0: off).
    public let brightness: Float
    /// Contrast jitter (0: off).
    public let contrast: Float
    /// Saturation jitter (0: off).
    public let saturation: Float
    /// Hue jitter, at most 0.5 (0: off).
    public let hue: Float

    /// Creates the transform.
    public init(brightness: Float = 0, contrast: Float = 0, saturation: Float = 0, hue: Float = 0) {
        self.brightness = brightness; self.contrast = contrast; self.saturation = saturation; self.hue = hue
    }

    /// Applies the four adjustments in a random order with random factors.
    public func apply<G: RandomNumberGenerator>(_ image: CHWImage, using generator: inout G) throws(TransformError) -> CHWImage {
        guard brightness >= 0, contrast >= 0, saturation >= 0, hue >= 0, hue <= 0.5 else {
            throw .invalidInput("ColorJitter(\(brightness), \(contrast), \(saturation), \(hue)): values must be ≥ 0 and hue ≤ 0.5")
        }
        var order = [0, 1, 2, 3]
        for i in stride(from: 3, to: 0, by: -1) { order.swapAt(i, Draw.below(i + 1, &generator)) }
        func factor(_ v: Float) -> Float? {
            v == 0 ? nil : Float(Draw.uniform(Double(Swift.max(0, 1 - v)), Double(1 + v), &generator))
        }
        let b = factor(brightness), c = factor(contrast), s = factor(saturation)
        let h: Float? = hue == 0 ? nil : Float(Draw.uniform(Double(-hue), Double(hue), &generator))
        var x = image
        for op in order {
            switch op {
            case 0: if let b { x = x.blended(with: { _ in 0 }, factor: b) }
            case 1: if let c { let m = x.grayscaleMean(); x = x.blended(with: { _ in m }, factor: c) }
            case 2: if let s, x.channels == 3 { let g = x.grayscale(); x = x.blended(with: { g[$0] }, factor: s) }
            default: if let h, x.channels == 3 { x = x.hueShifted(by: h) }
            }
        }
        return x
    }
}

extension CHWImage {
    /// `clamp(f·x + (1 − f)·other, 0, 1)`; `other` is indexed by pixel (not channel).
    func blended(with other: (Int) -> Float, factor f: Float) -> CHWImage {
        var out = values
        let plane = height * width
        for c in 0..<channels {
            for p in 0..<plane {
                let i = c * plane + p
                out[i] = Swift.min(Swift.max(f * values[i] + (1 - f) * other(p), 0), 1)
            }
        }
        return CHWImage(unchecked: channels, height, width, out)
    }

    /// Per-pixel luma `0.2989 R + 0.587 G + 0.114 B` (or the single channel).
    func grayscale() -> [Float] {
        let plane = height * width
        guard channels == 3 else { return Array(values[0..<plane]) }
        return (0..<plane).map { p in 0.2989 * values[p] + 0.587 * values[plane + p] + 0.114 * values[2 * plane + p] }
    }

    /// Mean luma, summed in pixel order in Double (a fixed order).
    func grayscaleMean() -> Float {
        var sum = 0.0
        for v in grayscale() { sum += Double(v) }
        return Float(sum / Double(height * width))
    }

    /// Rotates hue by `shift` (fraction of a turn) through HSV, as torchvision's `adjust_hue`.
    func hueShifted(by shift: Float) -> CHWImage {
        let plane = height * width
        var out = values
        for p in 0..<plane {
            let r = values[p], g = values[plane + p], b = values[2 * plane + p]
            let maxc = Swift.max(r, g, b), minc = Swift.min(r, g, b)
            let eq = maxc == minc, cr = maxc - minc
            let s = cr / (eq ? 1 : maxc)
            let d: Float = eq ? 1 : cr
            let rc = (maxc - r) / d, gc = (maxc - g) / d, bc = (maxc - b) / d
            var h: Float
            if maxc == r { h = bc - gc } else if maxc == g { h = 2 + rc - bc } else { h = 4 + gc - rc }
            h = (h / 6 + 1).truncatingRemainder(dividingBy: 1)
            h = (h + shift).truncatingRemainder(dividingBy: 1)
            if h < 0 { h += 1 }
            let v = maxc
            let h6 = h * 6, i = h6.rounded(.down), f = h6 - i
            let pp = Swift.min(Swift.max(v * (1 - s), 0), 1)
            let q = Swift.min(Swift.max(v * (1 - s * f), 0), 1)
            let t = Swift.min(Swift.max(v * (1 - s * (1 - f)), 0), 1)
            let (ro, go, bo): (Float, Float, Float)
            switch Int(i) % 6 {
            case 0: (ro, go, bo) = (v, t, pp)
            case 1: (ro, go, bo) = (q, v, pp)
            case 2: (ro, go, bo) = (pp, v, t)
            case 3: (ro, go, bo) = (pp, q, v)
            case 4: (ro, go, bo) = (t, pp, v)
            default: (ro, go, bo) = (v, pp, q)
            }
            out[p] = ro; out[plane + p] = go; out[2 * plane + p] = bo
        }
        return CHWImage(unchecked: channels, height, width, out)
    }
}

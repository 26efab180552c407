@_spi(Kernels) import ReproTensor

extension Variable {
    func requireSameTape(_ other: Variable, _ op: String) throws(AutogradError) {
        guard tape === other.tape else { throw .invalidOperation(op: op, reason: "operands come from different tapes") }
    }

    /// Records an element-wise map `y = f(x)` whose backward is `g · d(x)`; the rule keeps `x` only.
    func unary(_ op: String, _ f: (Float) -> Float, derivative: @escaping (Float) -> Float) -> Variable {
        let x = data
        return tape.record(shape, x.map(f), rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for i in dx.indices { dx[i] = g[i] * derivative(x[i]) }
            t.accumulate(id, dx)
        })
    }

    /// Records an element-wise map `y = f(x)` whose backward is `g · d(y)`; the rule keeps the
    /// output only (which the next layer usually keeps too, so the pair costs one buffer).
    func unaryOfOutput(_ op: String, _ f: (Float) -> Float, derivative: @escaping (Float) -> Float) -> Variable {
        let y = data.map(f)
        return tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for i in dx.indices { dx[i] = g[i] * derivative(y[i]) }
            t.accumulate(id, dx)
        })
    }

    /// `max(x, 0)`; the gradient passes where `x > 0` (zero at 0 and for NaN, as PyTorch's
    /// `threshold_backward`). The rule reads the output: `y > 0` exactly when `x > 0`.
    ///
    /// Both directions are element-wise passes over fixed chunks on the pool's threads (no value
    /// depends on the chunking): `y = x > 0 ? x : (NaN ? x : 0)`, `dx = g · (y > 0 ? 1 : 0)`.
    public func relu() -> Variable {
        let threads = Runtime.settings.threads
        let y = data.withUnsafeBufferPointer { x in
            elementwise(x.count, threads: threads) { range, out in
                for i in range { let v = x[i]; out[i] = v > 0 ? v : (v.isNaN ? v : 0) }
            }
        }
        return tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            t.accumulate(id, reluGradient(g, output: y))
        })
    }

    /// `1 / (1 + e^{−x})` with Repro's own `sigmoid`; backward `g · (1 − y) · y` (PyTorch's order).
    public func sigmoid() -> Variable {
        unaryOfOutput("sigmoid", { ElementaryFunctions.sigmoid($0) }, derivative: { y in (1 - y) * y })
    }

    /// `eˣ` with Repro's own `exp`; backward `g · y`.
    public func exp() -> Variable {
        unaryOfOutput("exp", { ElementaryFunctions.exp($0) }, derivative: { y in y })
    }

    /// `ln x` with Repro's own `log`; backward `g / x`.
    public func log() -> Variable {
        let x = data
        let y = x.map { ElementaryFunctions.log($0) }
        return tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for i in dx.indices { dx[i] = g[i] / x[i] }
            t.accumulate(id, dx)
        })
    }

    /// `x · c` for a constant `c`.
    public func scaled(by c: Float) -> Variable {
        unary("scale", { $0 * c }, derivative: { _ in c })
    }

    /// `x²`; backward `g · 2x`.
    public func squared() -> Variable {
        unary("square", { $0 * $0 }, derivative: { x in 2 * x })
    }

    /// `|x|`; backward `g · sign(x)` (0 at 0, as PyTorch's `sgn`).
    public func absolute() -> Variable {
        unary("abs", { Swift.abs($0) }, derivative: { x in x > 0 ? 1 : (x < 0 ? -1 : 0) })
    }

    /// `a + b` (same shapes), or `a + b[c]` for a `[C]` operand `b` broadcast over the last axis of
    /// `a` (a bias; as a parameter its gradient is summed per sample).
    public static func + (a: Variable, b: Variable) throws(AutogradError) -> Variable {
        try a.binary("add", b, sign: 1)
    }

    /// `a − b` (same shapes, or a `[C]` operand broadcast over the last axis).
    public static func - (a: Variable, b: Variable) throws(AutogradError) -> Variable {
        try a.binary("subtract", b, sign: -1)
    }

    private func binary(_ op: String, _ b: Variable, sign: Float) throws(AutogradError) -> Variable {
        try requireSameTape(b, op)
        guard parameterKey == nil else { throw .invalidOperation(op: op, reason: "a parameter must be the right operand") }
        if shape == b.shape, b.parameterKey == nil {
            var y = data
            for i in y.indices { y[i] = sign > 0 ? y[i] + b.data[i] : y[i] - b.data[i] }
            let ids = (id, b.id)
            let out = tape.record(shape, y, rule: { (t: GradientTape, g: [Float]) throws(AutogradError) in
                t.accumulate(ids.0, g)
                t.accumulate(ids.1, sign > 0 ? g : g.map { -$0 })
            })
            return out
        }
        guard b.shape.count == 1, let c = shape.last, b.shape[0] == c, shape.count >= 2 else {
            throw .invalidOperation(op: op, reason: "shapes \(shape) and \(b.shape): expected equal shapes or a [C] operand on the last axis")
        }
        var y = data
        for i in y.indices { y[i] = sign > 0 ? y[i] + b.data[i % c] : y[i] - b.data[i % c] }
        let n = shape[0], xID = id
        let out = tape.record(shape, y, rule: { (t: GradientTape, g: [Float]) throws(AutogradError) in
            t.accumulate(xID, g)
            let perSample = channelSums(g, samples: n, channels: c, sign: sign)
            if b.parameterKey != nil {
                t.accumulatePerSample(b, perSample)
            } else if t.nodes[b.id].rule != nil {
                throw .invalidOperation(op: op, reason: "a broadcast operand must be a parameter or a constant")
            }
        })
        tape.consume(b, by: out.id)
        return out
    }

    /// `a · b` (same shapes), or `a · b[c]` for a `[C]` operand broadcast over the last axis.
    public static func * (a: Variable, b: Variable) throws(AutogradError) -> Variable {
        try a.requireSameTape(b, "multiply")
        guard a.parameterKey == nil else { throw .invalidOperation(op: "multiply", reason: "a parameter must be the right operand") }
        if a.shape == b.shape, b.parameterKey == nil {
            var y = a.data
            for i in y.indices { y[i] = a.data[i] * b.data[i] }
            let out = a.tape.record(a.shape, y, rule: { (t: GradientTape, g: [Float]) throws(AutogradError) in
                var ga = g, gb = g
                for i in g.indices { ga[i] = g[i] * b.data[i]; gb[i] = g[i] * a.data[i] }
                t.accumulate(a.id, ga)
                t.accumulate(b.id, gb)
            })
            return out
        }
        guard b.shape.count == 1, let c = a.shape.last, b.shape[0] == c, a.shape.count >= 2 else {
            throw .invalidOperation(op: "multiply", reason: "shapes \(a.shape) and \(b.shape): expected equal shapes or a [C] operand on the last axis")
        }
        var y = a.data
        for i in y.indices { y[i] = a.data[i] * b.data[i % c] }
        let n = a.shape[0]
        let out = a.tape.record(a.shape, y, rule: { (t: GradientTape, g: [Float]) throws(AutogradError) in
            var ga = g, gb = g
            for i in g.indices { ga[i] = g[i] * b.data[i % c]; gb[i] = g[i] * a.data[i] }
            t.accumulate(a.id, ga)
            if b.parameterKey != nil { t.accumulatePerSample(b, channelSums(gb, samples: n, channels: c, sign: 1)) }
        })
        a.tape.consume(b, by: out.id)
        return out
    }
}

/// Per-sample sums over every position of each channel: `[n · rows · C] → [n · C]`, positions in order.
func channelSums(_ g: [Float], samples n: Int, channels c: Int, sign: Float = 1) -> [Float] {
    var out = [Float](repeating: 0, count: n * c)
    let rows = n == 0 ? 0 : g.count / (n * c)
    g.withUnsafeBufferPointer { gp in
        out.withUnsafeMutableBufferPointer { o in
            for s in 0..<n {
                for r in 0..<rows {
                    let base = (s * rows + r) * c
                    for ch in 0..<c { o[s * c + ch] = o[s * c + ch] + gp[base + ch] }
                }
                if sign < 0 { for ch in 0..<c { o[s * c + ch] = -o[s * c + ch] } }
            }
        }
    }
    return out
}

/// ReLU's backward from its output: `g · (y > 0 ? 1 : 0)`, element-wise on the pool's threads.
func reluGradient(_ g: [Float], output y: [Float]) -> [Float] {
    g.withUnsafeBufferPointer { g in y.withUnsafeBufferPointer { y in
        elementwise(g.count, threads: Runtime.settings.threads) { range, out in
            for i in range { out[i] = g[i] * (y[i] > 0 ? 1 : 0) }
        }
    } }
}

/// A new buffer of `count` floats written by `body(range, out)` over fixed chunks of 16,384
/// elements on the pool's threads — for element-wise maps only, where no value depends on the chunks.
func elementwise(_ count: Int, threads: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    let chunk = 1 << 14
    return kernelOutput(count) { out in
        ThreadPool.current.forEachChunk((count + chunk - 1) / chunk, threads: threads) { k in
            body(k * chunk ..< min(count, (k + 1) * chunk), out)
        }
    }
}

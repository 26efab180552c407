@_spi(Kernels) import ReproTensor

/// RetinaNet convolutions at 800×1067 (padded 800×1088): the shapes of the v2 backbone, FPN and head.
struct ConvShape {
    let name: String
    let c: Int, h: Int, w: Int, o: Int, k: Int, stride: Int, pad: Int

    static let retinanet: [ConvShape] = [
        ConvShape(name: "3x3_256-256_100x136", c: 256, h: 100, w: 136, o: 256, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_256-819_100x136", c: 256, h: 100, w: 136, o: 819, k: 3, stride: 1, pad: 1),
        ConvShape(name: "1x1_1024-256_50x68", c: 1024, h: 50, w: 68, o: 256, k: 1, stride: 1, pad: 0),
        ConvShape(name: "1x1_2048-256_25x34", c: 2048, h: 25, w: 34, o: 256, k: 1, stride: 1, pad: 0),
        ConvShape(name: "3x3s2_512-512_50x68", c: 512, h: 50, w: 68, o: 512, k: 3, stride: 2, pad: 1),
        ConvShape(name: "3x3s2_2048-256_25x34", c: 2048, h: 25, w: 34, o: 256, k: 3, stride: 2, pad: 1),  // P6
        ConvShape(name: "3x3s2_128-128_200x272", c: 128, h: 200, w: 272, o: 128, k: 3, stride: 2, pad: 1),
        ConvShape(name: "7x7s2_3-64_800x1088", c: 3, h: 800, w: 1088, o: 64, k: 7, stride: 2, pad: 3),
    ]

    /// The ResNet-50 body's other convolutions at the same input (`--shapes body` runs this list):
    /// each bottleneck's 1×1 reduce / 3×3 / 1×1 expand per stage, and the strided 1×1 downsamplings.
    static let body: [ConvShape] = [
        ConvShape(name: "1x1_256-64_200x272", c: 256, h: 200, w: 272, o: 64, k: 1, stride: 1, pad: 0),
        ConvShape(name: "3x3_64-64_200x272", c: 64, h: 200, w: 272, o: 64, k: 3, stride: 1, pad: 1),
        ConvShape(name: "1x1_64-256_200x272", c: 64, h: 200, w: 272, o: 256, k: 1, stride: 1, pad: 0),
        ConvShape(name: "1x1_512-128_100x136", c: 512, h: 100, w: 136, o: 128, k: 1, stride: 1, pad: 0),
        ConvShape(name: "3x3_128-128_100x136", c: 128, h: 100, w: 136, o: 128, k: 3, stride: 1, pad: 1),
        ConvShape(name: "1x1_128-512_100x136", c: 128, h: 100, w: 136, o: 512, k: 1, stride: 1, pad: 0),
        ConvShape(name: "3x3_256-256_50x68", c: 256, h: 50, w: 68, o: 256, k: 3, stride: 1, pad: 1),
        ConvShape(name: "1x1_256-1024_50x68", c: 256, h: 50, w: 68, o: 1024, k: 1, stride: 1, pad: 0),
        ConvShape(name: "1x1_2048-512_25x34", c: 2048, h: 25, w: 34, o: 512, k: 1, stride: 1, pad: 0),
        ConvShape(name: "3x3_512-512_25x34", c: 512, h: 25, w: 34, o: 512, k: 3, stride: 1, pad: 1),
        ConvShape(name: "1x1_512-2048_25x34", c: 512, h: 25, w: 34, o: 2048, k: 1, stride: 1, pad: 0),
        ConvShape(name: "1x1s2_256-512_200x272", c: 256, h: 200, w: 272, o: 512, k: 1, stride: 2, pad: 0),
        ConvShape(name: "1x1s2_512-1024_100x136", c: 512, h: 100, w: 136, o: 1024, k: 1, stride: 2, pad: 0),
        ConvShape(name: "1x1s2_1024-2048_50x68", c: 1024, h: 50, w: 68, o: 2048, k: 1, stride: 2, pad: 0),
    ]
}

enum ConvBench {
    static func run(threads: [Int], reps: Int, algorithms: Set<String>, shapes: Set<String>, includeDefault: Bool = true) {
        let body = Set(ConvShape.body.map(\.name))
        for s in ConvShape.retinanet + ConvShape.body
        where shapes.isEmpty || shapes.contains(s.name) || (shapes.contains("body") && body.contains(s.name)) {
            do {
                let w = try Tensor(shape: [s.o, s.c, s.k, s.k], scalars: seeded(s.o * s.c * s.k * s.k, seed: 3).map { $0 * 0.05 })
                let x = try Tensor(shape: [1, s.c, s.h, s.w], scalars: seeded(s.c * s.h * s.w, seed: 4))
                let conv = try PreparedConv2d(weight: w, stride: (s.stride, s.stride), padding: (s.pad, s.pad))
                let g = try conv.geometry(for: x.shape)
                let flops = 2 * Double(g.macs)
                for t in threads where includeDefault {
                    var sink = 0
                    let r = time(reps: reps) {
                        let y = try! conv.forward(x, threads: t)
                        sink &+= y.count
                    }
                    report("conv", s.name, t, flops, r)
                    if sink == 0 { print("") }
                }
                // Every algorithm that can run this shape, NCHW API (kind `conv-alg-<name>`).
                for alg in PreparedConv2d.Algorithm.allCases where algorithms.contains(alg.rawValue) {
                    guard let forced = try? PreparedConv2d(weight: w, stride: (s.stride, s.stride), padding: (s.pad, s.pad), algorithm: alg)
                    else { continue }
                    for t in threads {
                        var sink = 0
                        let r = time(reps: reps) { sink &+= try! forced.forward(x, threads: t).count }
                        report("conv-alg-\(alg.rawValue)", s.name, t, flops, r)
                        if sink == 0 { print("") }
                    }
                    // The same on the NHWC entry point, the models' layout (kind `conv-alg-nhwc-<name>`).
                    let xn = try x.permuted([0, 2, 3, 1]).contiguous()
                    for t in threads {
                        var sink = 0
                        let r = time(reps: reps) { sink &+= try! forced.forward(nhwc: xn, threads: t).count }
                        report("conv-alg-nhwc-\(alg.rawValue)", s.name, t, flops, r)
                        if sink == 0 { print("") }
                    }
                }
                let xn = try x.permuted([0, 2, 3, 1]).contiguous()
                for t in threads where includeDefault {
                    var sink = 0
                    let r = time(reps: reps) { sink &+= try! conv.forward(nhwc: xn, threads: t).count }
                    report("conv-nhwc", s.name, t, flops, r)
                    if sink == 0 { print("") }
                }
            } catch {
                print("conv \(s.name) error \(error)")
            }
        }
    }
}

/// Direct vs Winograd around the rule's boundary (channel counts, tiny images), one line per algorithm.
enum RuleBench {
    static let shapes: [ConvShape] = [
        ConvShape(name: "3x3_16-16_50x68", c: 16, h: 50, w: 68, o: 16, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_24-24_50x68", c: 24, h: 50, w: 68, o: 24, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_32-32_50x68", c: 32, h: 50, w: 68, o: 32, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_64-64_200x272", c: 64, h: 200, w: 272, o: 64, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_128-128_100x136", c: 128, h: 100, w: 136, o: 128, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_512-512_25x34", c: 512, h: 25, w: 34, o: 512, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_256-256_7x9", c: 256, h: 7, w: 9, o: 256, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_256-256_4x5", c: 256, h: 4, w: 5, o: 256, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_256-36_13x17", c: 256, h: 13, w: 17, o: 36, k: 3, stride: 1, pad: 1),
    ]

    static func run(threads: [Int], reps: Int) {
        for s in shapes {
            let w = try! Tensor(shape: [s.o, s.c, 3, 3], scalars: seeded(s.o * s.c * 9, seed: 3).map { $0 * 0.05 })
            let x = try! Tensor(shape: [1, s.c, s.h, s.w], scalars: seeded(s.c * s.h * s.w, seed: 4))
            for alg in PreparedConv2d.Algorithm.allCases {
                let conv = try! PreparedConv2d(weight: w, padding: (1, 1), algorithm: alg)
                let flops = 2 * Double(try! conv.geometry(for: x.shape).macs)
                for t in threads {
                    var sink = 0
                    let r = time(reps: reps) { sink &+= try! conv.forward(x, threads: t).count }
                    report("rule-\(alg.rawValue)", s.name, t, flops, r)
                    if sink == 0 { print("") }
                }
            }
        }
    }
}

import Engine

// The self-test's cases for elementwise.cl, reduce.cl, layout.cl, random.cl, optimizer.cl and histogram.cl.

extension SelfTest {
    // MARK: - elementwise.cl

    /// Every unary op; inputs kept where the op is defined (positive for sqrt, log, pow).
    static let unaryOps: [(String, UnaryOp, ClosedRange<Float>)] = [
        ("neg", .neg, -2...2), ("sqrt", .sqrt, 0.1...4), ("rsqrt", .rsqrt, 0.1...4), ("exp", .exp, -3...3),
        ("log", .log, 0.1...4), ("square", .square, -2...2), ("abs", .abs, -2...2), ("softplus", .softplus, -5...5),
        ("relu", .relu, -2...2), ("sign", .sign, -2...2), ("reciprocal", .reciprocal, 0.2...3),
        ("leaky_relu 0.2", .leakyReLU(alpha: 0.2), -2...2), ("scale 1.7", .scale(1.7), -2...2),
        ("add 0.3", .addScalar(0.3), -2...2), ("pow 1.5", .powScalar(1.5), 0.1...3), ("step 0.1", .step(threshold: 0.1), -2...2),
        ("sigmoid", .sigmoid, -20...20), ("tanh", .tanh, -4...4),
    ]

    static let elementwiseCases: [SelfTestCase] = {
        let count = 1037
        var cases = [SelfTestCase(family: "elementwise fill", shape: "\(count)") { ctx in
            let out = try ctx.poisoned(count)
            try ctx.backend.fill(out, count: count, value: -0.625)
            return try ctx.read(out)
        }]
        cases += unaryOps.map { name, op, range in
            SelfTestCase(family: "elementwise unary", shape: "\(name) \(count)", quick: name == "exp") { ctx in
                let x = try ctx.input(count, seed: 20, in: range), out = try ctx.poisoned(count)
                try ctx.backend.unary(op, x, out, count: count)
                return try ctx.read(out)
            }
        }
        // a [5,1,7] broadcast against b [1,6,7] (stride-0 axes), out [5,6,7].
        let shape = [5, 6, 7]
        cases += BinaryOp.allCases.map { op in
            SelfTestCase(family: "elementwise binary", shape: "\(op) [5,1,7]·[1,6,7]", quick: op == .mul) { ctx in
                let positive = op == .pow || op == .div
                let a = try ctx.input(35, seed: 21, in: positive ? 0.2...2 : -2...2)
                let b = try ctx.input(42, seed: 22, in: positive ? 0.5...2 : -2...2)
                let out = try ctx.poisoned(210)
                try ctx.backend.binary(op, StridedView(a, strides: [7, 0, 1]), StridedView(b, strides: [0, 7, 1]), out, shape: shape)
                return try ctx.read(out)
            }
        }
        cases.append(SelfTestCase(family: "elementwise select", shape: "[5,6,7] cond [5,6,1]") { ctx in
            let c = try ctx.input(30, seed: 23), a = try ctx.input(210, seed: 24), b = try ctx.input(42, seed: 25)
            let out = try ctx.poisoned(210)
            try ctx.backend.select(StridedView(c, strides: [6, 1, 0]), StridedView(contiguous: a, shape: shape),
                                   StridedView(b, strides: [0, 7, 1]), out, shape: shape)
            return try ctx.read(out)
        })
        return cases
    }()

    // MARK: - reduce.cl

    static let reduceShapes: [([Int], axes: [Int], tolerance: Double, quick: Bool)] = [
        ([7, 13, 5], [1], 1e-5, true),
        ([7, 13, 5], [0, 2], 1e-5, false),
        ([3, 1, 257, 9], [0, 1, 2, 3], 1e-5, false),
        ([1 << 20 | 3], [0], 1e-4, false),
        ([33, 4099], [1], 1e-4, false),
    ]

    static let reduceCases: [SelfTestCase] = reduceShapes.flatMap { shape, axes, tolerance, quick in
        ReduceOp.allCases.map { op in
            let kept = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
            let count = shape.reduce(1, *), outCount = kept.reduce(1, *)
            return SelfTestCase(family: "reduce \(op)", shape: "\(dims(shape)) axes \(dims(axes))",
                                tolerance: op == .max ? 0 : tolerance, quick: quick && op == .sum) { ctx in
                let x = try ctx.input(count, seed: 30), out = try ctx.poisoned(outCount)
                try ctx.backend.reduce(op, x, shape: shape, axes: axes, out)
                return try ctx.read(out)
            }
        }
    } + [(12, 7, false), (8, 4099, true)].map { rows, length, divided in
        // The scaled convolutions' scale gradients: Σ over a row of products, optionally divided per row.
        SelfTestCase(family: "reduce row_dot", shape: "\(dims([rows, length]))\(divided ? " / divisor" : "")", tolerance: 1e-5,
                     quick: divided) { ctx in
            let a = try ctx.input(rows * length, seed: 31), b = try ctx.input(rows * length, seed: 32)
            let divisor = divided ? try ctx.input(rows, seed: 33, in: 0.5...2) : nil, out = try ctx.poisoned(rows)
            try ctx.backend.rowDot(rows: rows, length: length, a, b, divisor: divisor, out)
            return try ctx.read(out)
        }
    }

    // MARK: - layout.cl

    static let layoutCases: [SelfTestCase] = [
        SelfTestCase(family: "layout transpose", shape: "[5,6,7] -> [7,5,6]") { ctx in
            let x = try ctx.input(210, seed: 40), out = try ctx.poisoned(210)
            try ctx.backend.copy(StridedView(x, strides: [1, 42, 7]), to: StridedView(contiguous: out, shape: [7, 5, 6]), shape: [7, 5, 6])
            return try ctx.read(out)
        },
        SelfTestCase(family: "layout concat", shape: "[3,5,9] ++ [3,2,9] axis 1", quick: false) { ctx in
            let a = try ctx.input(135, seed: 41), b = try ctx.input(54, seed: 42), out = try ctx.poisoned(189)
            let strides = StridedView.contiguousStrides([3, 7, 9])
            try ctx.backend.copy(StridedView(contiguous: a, shape: [3, 5, 9]), to: StridedView(out, strides: strides), shape: [3, 5, 9])
            try ctx.backend.copy(StridedView(contiguous: b, shape: [3, 2, 9]), to: StridedView(out, offset: 45, strides: strides),
                                 shape: [3, 2, 9])
            return try ctx.read(out)
        },
        SelfTestCase(family: "layout slice", shape: "[9,11,13][2..<7, ::2, 3..<12]", quick: false) { ctx in
            let x = try ctx.input(9 * 11 * 13, seed: 43), out = try ctx.poisoned(5 * 6 * 9)
            try ctx.backend.copy(StridedView(x, offset: 2 * 143 + 3, strides: [143, 26, 1]),
                                 to: StridedView(contiguous: out, shape: [5, 6, 9]), shape: [5, 6, 9])
            return try ctx.read(out)
        },
        SelfTestCase(family: "layout expand", shape: "[4,1,3] -> [4,5,3]", quick: false) { ctx in
            let x = try ctx.input(12, seed: 44), out = try ctx.poisoned(60)
            try ctx.backend.copy(StridedView(x, strides: [3, 0, 1]), to: StridedView(contiguous: out, shape: [4, 5, 3]), shape: [4, 5, 3])
            return try ctx.read(out)
        },
    ]

    // MARK: - random.cl

    static let randomCases: [SelfTestCase] = [(1001, 0), (1037, 3), (4, 1 << 33)].flatMap { count, offset in
        RandomDistribution.allCases.map { dist in
            // Uniform is integer arithmetic then one exact scale: bit-identical. Normal goes through log/cos.
            SelfTestCase(family: "random \(dist)", shape: "\(count) offset \(offset)", tolerance: dist == .uniform ? 0 : 1e-6,
                         quick: offset == 3) { ctx in
                let out = try ctx.poisoned(count)
                try ctx.backend.random(dist, seed: 0x5eed_1234_abcd, offset: UInt64(offset), out, count: count)
                return try ctx.read(out)
            }
        }
    }

    // MARK: - optimizer.cl

    static let optimizerCases: [SelfTestCase] = [
        AdamStep(learningRate: 0.002, step: 1), AdamStep(learningRate: 0.01, beta1: 0.9, beta2: 0.999, step: 10, gradScale: 0.5),
    ].map { step in
        let count = 1003
        return SelfTestCase(family: "adam", shape: "\(count) β1 \(step.beta1) β2 \(step.beta2) step \(step.step)",
                            quick: step.step == 1) { ctx in
            let p = try ctx.input(count, seed: 50), g = try ctx.input(count, seed: 51)
            let m = try ctx.input(count, seed: 52, in: -0.1...0.1), v = try ctx.input(count, seed: 53, in: 0...0.2)
            try ctx.backend.adamStep(step, param: p, grad: g, m: m, v: v, count: count)
            return try ctx.read(p, m, v)
        }
    } + [
        // 21 tensors: two launches of the multi-tensor kernel (16 per launch), sizes across work-group edges.
        SelfTestCase(family: "adam", shape: "21 tensors of 1…300") { ctx in
            let counts = (0..<21).map { [1, 300, 17, 64, 65, 3, 255][$0 % 7] }
            var slots: [AdamSlot] = []
            for (k, c) in counts.enumerated() {
                let seed = UInt64(60 + 4 * k)
                slots.append(AdamSlot(param: try ctx.input(c, seed: seed), grad: try ctx.input(c, seed: seed + 1),
                                      m: try ctx.input(c, seed: seed + 2, in: -0.1...0.1),
                                      v: try ctx.input(c, seed: seed + 3, in: 0...0.2), count: c))
            }
            try ctx.backend.adamStep(AdamStep(learningRate: 0.01, beta1: 0.5, step: 3, gradScale: 0.25), slots)
            return try slots.flatMap { try ctx.read($0.param, $0.m, $0.v) }
        },
        SelfTestCase(family: "ema", shape: "21 tensors of 1…300") { ctx in
            let counts = (0..<21).map { [300, 1, 129, 2, 64, 33, 7][$0 % 7] }
            var slots: [EMASlot] = []
            for (k, c) in counts.enumerated() {
                slots.append(EMASlot(ema: try ctx.input(c, seed: UInt64(200 + 2 * k)), param: try ctx.input(c, seed: UInt64(201 + 2 * k)), count: c))
            }
            try ctx.backend.emaUpdate(slots, beta: 0.9)
            return try slots.flatMap { try ctx.read($0.ema) }
        },
        SelfTestCase(family: "ema", shape: "1003 β 0.999") { ctx in
            let e = try ctx.input(1003, seed: 54), p = try ctx.input(1003, seed: 55)
            try ctx.backend.emaUpdate(e, toward: p, beta: 0.999, count: 1003)
            return try ctx.read(e)
        },
    ]

    // MARK: - histogram.cl

    static let histogramShapes: [(batch: Int, height: Int, width: Int, HistogramOptions, quick: Bool)] = [
        (1, 13, 11, HistogramOptions(bins: 7), false),
        (3, 13, 11, HistogramOptions(bins: 64), true),
        (3, 13, 11, HistogramOptions(bins: 64, kernel: .gaussian, sigma: 0.05, maxSize: 8), false),
        (3, 13, 11, HistogramOptions(bins: 20, resize: .sampling, maxSize: 12), true),
        (2, 122, 30, HistogramOptions(bins: 14, kernel: .threshold, resize: .sampling, maxSize: 100), false),
        (1, 40, 61, HistogramOptions(bins: 64, maxSize: 30), false),
    ]

    static let histogramCases: [SelfTestCase] = histogramShapes.flatMap { batch, height, width, options, quick in
        let s = HistogramShape(batch: batch, height: height, width: width, options: options)
        var desc = "\(dims([batch, 3, height, width])) \(options.bins) bins \(options.kernel.rawValue)"
        if options.kernel != .threshold { desc += " σ \(options.sigma)" }
        if s.reduces { desc += " \(options.resize.rawValue) \(options.maxSize)" }
        // Pixels slightly outside [0, 1] so the clamp (and its zero gradient) is exercised.
        let tolerance = options.kernel == .gaussian && options.sigma < 0.06 ? 1e-4 : 1e-5
        return [
            SelfTestCase(family: "histogram fwd", shape: desc, tolerance: tolerance, quick: quick) { ctx in
                let x = try ctx.input(s.imageCount, seed: 60, in: -0.05...1.05), h = try ctx.poisoned(s.outputCount)
                try ctx.backend.rgbuvHistogram(s, image: x, output: h)
                return try ctx.read(h)
            },
            SelfTestCase(family: "histogram bwd", shape: desc, tolerance: max(tolerance, 2e-5), quick: quick) { ctx in
                let x = try ctx.input(s.imageCount, seed: 60, in: -0.05...1.05), h = try ctx.poisoned(s.outputCount)
                try ctx.backend.rgbuvHistogram(s, image: x, output: h)
                let g = try ctx.input(s.outputCount, seed: 61), dx = try ctx.poisoned(s.imageCount)
                try ctx.backend.rgbuvHistogramBackward(s, image: x, histogram: h, gradOutput: g, gradImage: dx)
                return try ctx.read(dx)
            },
        ]
    }

    // MARK: - batch_norm.cl

    /// Statistics and normalisation of x `[outer, channels, inner]`: rows longer than the 64-wide work-group,
    /// a batch of 65 single values per channel.
    static let batchNormCases: [SelfTestCase] = [(3, 5, 37, true), (65, 3, 1, false)].map { outer, channels, inner, quick in
        SelfTestCase(family: "batch_norm", shape: dims([outer, channels, inner]), quick: quick) { ctx in
            let s = BatchNormShape(outer: outer, channels: channels, inner: inner, epsilon: 1e-5)
            let x = try ctx.input(s.count, seed: 90, in: -2...5)
            let mean = try ctx.poisoned(channels), variance = try ctx.poisoned(channels), y = try ctx.poisoned(s.count)
            try ctx.backend.batchNormStatistics(s, x: x, mean: mean, variance: variance)
            try ctx.backend.batchNormApply(s, x: x, mean: mean, variance: variance, gamma: try ctx.input(channels, seed: 91, in: 0.5...2),
                                           beta: try ctx.input(channels, seed: 92), y: y)
            return try ctx.read(mean, variance, y)
        }
    }

    // MARK: - log_softmax.cl

    /// Rows of 10 (a classifier's logits, spread wide) and 67 rows of 1 (log-softmax of one class is 0).
    static let logSoftmaxCases: [SelfTestCase] = [(13, 10, true), (67, 1, false)].map { rows, classes, quick in
        SelfTestCase(family: "log_softmax", shape: dims([rows, classes]), quick: quick) { ctx in
            let x = try ctx.input(rows * classes, seed: 93, in: -30...30), y = try ctx.poisoned(rows * classes)
            try ctx.backend.logSoftmax(rows: rows, classes: classes, x: x, y: y)
            return try ctx.read(y)
        }
    }

    // MARK: - minibatch_stddev.cl

    /// The discriminator's 4x4 epilogue (N = 4 in one group; N = 6 asked for 4, lowered to 3, two groups), and a
    /// sample larger than a work-group (C·H·W = 700); forward and backward.
    static let minibatchStddevCases: [SelfTestCase] = [(4, 4, 64, 4, 4, true), (6, 4, 7, 10, 10, false)].flatMap { n, asked, c, h, w, quick in
        let s = MinibatchStddevShape(batch: n, group: MinibatchStddevShape.group(asked, batch: n), channels: c, height: h, width: w)
        return [
            SelfTestCase(family: "minibatch_stddev fwd", shape: dims([n, c, h, w]), quick: quick) { ctx in
                let x = try ctx.input(s.inputCount, seed: 94, in: -2...2), y = try ctx.poisoned(s.outputCount)
                try ctx.backend.minibatchStddev(s, x: x, y: y)
                return try ctx.read(y)
            },
            SelfTestCase(family: "minibatch_stddev bwd", shape: dims([n, c, h, w]), quick: quick) { ctx in
                let x = try ctx.input(s.inputCount, seed: 95, in: -2...2), dy = try ctx.input(s.outputCount, seed: 96)
                let dx = try ctx.poisoned(s.inputCount)
                try ctx.backend.minibatchStddevBackward(s, x: x, gradOutput: dy, gradInput: dx)
                return try ctx.read(dx)
            },
        ]
    }
}

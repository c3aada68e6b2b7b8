import Foundation

// Elementwise kernels of the CPU backend (elementwise.cl on OpenCL). The functions themselves are in
// ElementwiseKernels.swift; here are the loops, specialised per function by generics:
//   unary   contiguous, SIMD8 chunks with a scalar tail.
//   binary  `StridedLoop` runs (merged dimensions), then one of four inner loops chosen by the operands'
//           strides inside the run: both contiguous (same shape, or broadcast over outer dimensions),
//           b constant (scalar, or broadcast over inner dimensions such as a per-channel `[1,C,1,1]`),
//           a constant, or any other strides (scalar loop).
//   select  the same runs, contiguous or scalar.
extension CPUBackend {
    public func fill(_ out: any Buffer, count: Int, value: Float) throws {
        let o = try ptr(out, "fill")
        parallelFor(count, grain: 1 << 16) { r in (o + r.lowerBound).update(repeating: value, count: r.count) }
    }

    // MARK: - Unary

    public func unary(_ op: UnaryOp, _ x: any Buffer, _ out: any Buffer, count: Int) throws {
        let src = try ptr(x, "unary"), dst = try ptr(out, "unary")
        typealias K = UnaryKernels
        switch op {
        case .neg: unaryLoop(K.Neg(), src, dst, count)
        case .sqrt: unaryLoop(K.Sqrt(), src, dst, count)
        case .rsqrt: unaryLoop(K.Rsqrt(), src, dst, count)
        case .exp: unaryLoop(K.Exp(), src, dst, count)
        case .log: unaryLoop(K.Log(), src, dst, count)
        case .square: unaryLoop(K.Square(), src, dst, count)
        case .abs: unaryLoop(K.Abs(), src, dst, count)
        case .softplus: unaryLoop(K.Softplus(), src, dst, count)
        case .relu: unaryLoop(K.Relu(), src, dst, count)
        case .sign: unaryLoop(K.Sign(), src, dst, count)
        case .reciprocal: unaryLoop(K.Reciprocal(), src, dst, count)
        case .leakyReLU(let a): unaryLoop(K.LeakyReLU(alpha: a), src, dst, count)
        case .scale(let k): unaryLoop(K.Scale(k: k), src, dst, count)
        case .addScalar(let k): unaryLoop(K.AddScalar(k: k), src, dst, count)
        case .powScalar(let p): unaryLoop(K.PowScalar(p: p), src, dst, count)
        case .step(let t): unaryLoop(K.Step(t: t), src, dst, count)
        case .sigmoid: unaryLoop(K.Sigmoid(), src, dst, count)
        case .tanh: unaryLoop(K.Tanh(), src, dst, count)
        }
    }

    /// `dst[i] = f(src[i])` for `i < count`: SIMD8 chunks, scalar tail, split over threads.
    private func unaryLoop<F: UnaryKernel>(_ f: F, _ src: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                                           _ count: Int) {
        parallelFor(count, grain: 1 << 15) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                store(f.vector(load(src + i)), dst + i)
                i += 8
            }
            while i < r.upperBound { dst[i] = f.scalar(src[i]); i += 1 }
        }
    }

    // MARK: - Binary

    public func binary(_ op: BinaryOp, _ a: StridedView, _ b: StridedView, _ out: any Buffer, shape: [Int]) throws {
        let pa = try ptr(a.buffer, "binary") + a.offset, pb = try ptr(b.buffer, "binary") + b.offset
        let po = try ptr(out, "binary")
        let loop = StridedLoop(shape: shape, strides: [a.strides, b.strides])
        typealias K = BinaryKernels
        switch op {
        case .add: binaryLoop(K.Add(), loop, pa, pb, po)
        case .sub: binaryLoop(K.Sub(), loop, pa, pb, po)
        case .mul: binaryLoop(K.Mul(), loop, pa, pb, po)
        case .div: binaryLoop(K.Div(), loop, pa, pb, po)
        case .pow: binaryLoop(K.Pow(), loop, pa, pb, po)
        case .maximum: binaryLoop(K.Maximum(), loop, pa, pb, po)
        case .minimum: binaryLoop(K.Minimum(), loop, pa, pb, po)
        case .greater: binaryLoop(K.Greater(), loop, pa, pb, po)
        }
    }

    /// `po[i] = f(a, b)` over the runs of `loop` (operand 0 = a, 1 = b; `po` contiguous).
    private func binaryLoop<F: BinaryKernel>(_ f: F, _ loop: StridedLoop, _ pa: UnsafeMutablePointer<Float>,
                                             _ pb: UnsafeMutablePointer<Float>, _ po: UnsafeMutablePointer<Float>) {
        let sa = loop.innerStrides[0], sb = loop.innerStrides[1]
        loop.forEachRun(on: self, grain: 1 << 14) { start, off, n in
            let x = pa + off[0], y = pb + off[1], z = po + start
            var j = 0
            switch (sa, sb) {
            case (1, 1):
                // Both contiguous along the run.
                while j + 8 <= n { store(f.vector(load(x + j), load(y + j)), z + j); j += 8 }
                while j < n { z[j] = f.scalar(x[j], y[j]); j += 1 }
            case (1, 0):
                // b is one value for the whole run.
                let s = y[0], v = Float8(repeating: s)
                while j + 8 <= n { store(f.vector(load(x + j), v), z + j); j += 8 }
                while j < n { z[j] = f.scalar(x[j], s); j += 1 }
            case (0, 1):
                // a is one value for the whole run.
                let s = x[0], v = Float8(repeating: s)
                while j + 8 <= n { store(f.vector(v, load(y + j)), z + j); j += 8 }
                while j < n { z[j] = f.scalar(s, y[j]); j += 1 }
            default:
                // Any other strides (transposed views): scalar.
                while j < n { z[j] = f.scalar(x[j * sa], y[j * sb]); j += 1 }
            }
        }
    }

    // MARK: - Select

    public func select(_ cond: StridedView, _ a: StridedView, _ b: StridedView, _ out: any Buffer, shape: [Int]) throws {
        let pc = try ptr(cond.buffer, "select") + cond.offset, pa = try ptr(a.buffer, "select") + a.offset
        let pb = try ptr(b.buffer, "select") + b.offset, po = try ptr(out, "select")
        let loop = StridedLoop(shape: shape, strides: [cond.strides, a.strides, b.strides])
        let s = loop.innerStrides
        loop.forEachRun(on: self, grain: 1 << 14) { start, off, n in
            let c = pc + off[0], x = pa + off[1], y = pb + off[2], z = po + start
            var j = 0
            if s[0] == 1 && s[1] == 1 && s[2] == 1 {
                // All three contiguous along the run.
                while j + 8 <= n {
                    store(load(y + j).replacing(with: load(x + j), where: load(c + j) .> 0), z + j)
                    j += 8
                }
            }
            while j < n { z[j] = c[j * s[0]] > 0 ? x[j * s[1]] : y[j * s[2]]; j += 1 }
        }
    }
}

// MARK: - Unaligned SIMD8 access

/// 8 floats from `p` (any alignment).
@inline(__always) func load(_ p: UnsafePointer<Float>) -> Float8 {
    UnsafeRawPointer(p).loadUnaligned(as: Float8.self)
}

@inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> Float8 {
    UnsafeRawPointer(p).loadUnaligned(as: Float8.self)
}

/// Writes 8 floats at `p` (any alignment).
@inline(__always) func store(_ v: Float8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self)
}

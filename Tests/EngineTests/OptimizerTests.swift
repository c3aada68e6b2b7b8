import Engine
import TestSupport
import Foundation
import XCTest

/// optimizer.cl / CPUBackend+Optimizer: fused Adam and EMA against Double references over three
/// successive steps, and OpenCL-vs-CPU parity.
final class OptimizerTests: XCTestCase {
    struct AdamState { var param: [Double], m: [Double], v: [Double] }

    /// AdamStep's documented semantics in Double.
    static func adamReference(_ s: AdamStep, _ state: inout AdamState, grad: [Float]) {
        let b1 = Double(s.beta1), b2 = Double(s.beta2)
        let bc1 = 1 - Foundation.pow(b1, Double(s.step)), bc2 = 1 - Foundation.pow(b2, Double(s.step))
        for i in grad.indices {
            let g = Double(grad[i]) * Double(s.gradScale)
            state.m[i] = b1 * state.m[i] + (1 - b1) * g
            state.v[i] = b2 * state.v[i] + (1 - b2) * g * g
            state.param[i] -= Double(s.learningRate) * (state.m[i] / bc1) / ((state.v[i] / bc2).squareRoot() + Double(s.epsilon))
        }
    }

    /// Three Adam steps (different gradients each) with the given hyper-parameters; returns the final
    /// param, m and v of `backend` after checking each step against the Double reference.
    static func runAdam(_ backend: any Backend, count: Int, beta1: Float, gradScale: Float, seed: UInt64) throws -> [[Float]] {
        var rng = TestRNG(seed: seed)
        let p0 = rng.floats(count), m0 = rng.floats(count, -0.1, 0.1), v0 = rng.floats(count, 0, 0.01)
        let grads = (0..<3).map { _ in rng.floats(count, -2, 2) }
        var ref = AdamState(param: p0.map(Double.init), m: m0.map(Double.init), v: v0.map(Double.init))
        // Outputs start as the initial state with a NaN-poisoned tail that must stay NaN.
        let pad = [Float](repeating: .nan, count: 3)
        let param = try backend.buffer(p0 + pad), m = try backend.buffer(m0 + pad), v = try backend.buffer(v0 + pad)
        for step in 1...3 {
            let s = AdamStep(learningRate: 0.0025, beta1: beta1, beta2: 0.99, epsilon: 1e-8, step: step, gradScale: gradScale)
            try backend.adamStep(s, param: param, grad: try backend.buffer(grads[step - 1]), m: m, v: v, count: count)
            adamReference(s, &ref, grad: grads[step - 1])
            let what = "\(backend.label) adam n=\(count) beta1=\(beta1) step \(step)"
            for (name, buffer, want) in [("param", param, ref.param), ("m", m, ref.m), ("v", v, ref.v)] {
                let got = try backend.array(buffer)
                XCTAssertTrue(got[count...].allSatisfy(\.isNaN), "\(what): \(name) written past count")
                assertClose(Array(got[..<count]), want, tolerance: 1e-6, "\(what) \(name)")
            }
        }
        return try [param, m, v].map { Array(try backend.array($0)[..<count]) }
    }

    /// Three EMA updates toward changing parameters; returns the final EMA.
    static func runEMA(_ backend: any Backend, count: Int, beta: Float, seed: UInt64) throws -> [Float] {
        var rng = TestRNG(seed: seed)
        let e0 = rng.floats(count)
        var ref = e0.map(Double.init)
        let ema = try backend.buffer(e0 + [.nan])
        for step in 1...3 {
            let p = rng.floats(count, -3, 3)
            try backend.emaUpdate(ema, toward: try backend.buffer(p), beta: beta, count: count)
            for i in 0..<count { ref[i] = Double(p[i]) + (ref[i] - Double(p[i])) * Double(beta) }
            let got = try backend.array(ema)
            XCTAssertTrue(got[count].isNaN, "\(backend.label) ema written past count")
            assertClose(Array(got[..<count]), ref, tolerance: 1e-6, "\(backend.label) ema n=\(count) beta=\(beta) step \(step)")
        }
        return Array(try backend.array(ema)[..<count])
    }

    func testAdamMatchesReferenceOverThreeSteps() throws {
        for backend in TestBackends.all {
            for count in [1, 7, 1023, 4099] {
                // StyleGAN2's betas (0, 0.99), and a nonzero beta1 with a gradient scale.
                _ = try Self.runAdam(backend, count: count, beta1: 0, gradScale: 1, seed: UInt64(count))
                _ = try Self.runAdam(backend, count: count, beta1: 0.9, gradScale: 0.25, seed: UInt64(count) + 1)
            }
        }
    }

    func testEMAMatchesReferenceOverThreeSteps() throws {
        for backend in TestBackends.all {
            for count in [1, 7, 1023, 4099] {
                _ = try Self.runEMA(backend, count: count, beta: 0.999, seed: UInt64(count))
                _ = try Self.runEMA(backend, count: count, beta: 0.5, seed: UInt64(count) + 1)
            }
        }
    }

    func testParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        for count in [7, 4099] {
            let a = try Self.runAdam(cpu, count: count, beta1: 0.9, gradScale: 0.5, seed: 99)
            let b = try Self.runAdam(cl, count: count, beta1: 0.9, gradScale: 0.5, seed: 99)
            for (name, x, y) in zip3(["param", "m", "v"], b, a) { assertClose(x, y, tolerance: 1e-6, "parity adam \(name) n=\(count)") }
            assertClose(try Self.runEMA(cl, count: count, beta: 0.99, seed: 98), try Self.runEMA(cpu, count: count, beta: 0.99, seed: 98),
                        tolerance: 1e-6, "parity ema n=\(count)")
        }
    }

    func testBadArgumentsThrow() throws {
        for backend in TestBackends.all {
            let b = try backend.buffer([1, 2, 3])
            XCTAssertThrowsError(try backend.adamStep(AdamStep(learningRate: 0.1, step: 0), param: b, grad: b, m: b, v: b, count: 3),
                                 "\(backend.label): step 0")
            XCTAssertThrowsError(try backend.adamStep(AdamStep(learningRate: 0.1, step: 1), param: b, grad: b, m: b, v: b, count: 4),
                                 "\(backend.label): count past the buffers")
            XCTAssertThrowsError(try backend.emaUpdate(b, toward: b, beta: 0.5, count: 4), "\(backend.label): ema count")
        }
    }

    /// Slot sizes of the multi-tensor tests: more than two launches' worth (16 per OpenCL launch), an empty
    /// tensor, single elements and sizes that straddle work-groups.
    static let slotCounts = [5, 1, 0, 300, 17, 1, 4099, 2, 64, 65, 3, 1000, 7, 129, 1, 33, 255, 2, 31, 9, 1024, 11, 6, 257,
                             1, 70, 8, 513, 3, 12, 40, 19, 2, 1]

    /// One multi-tensor Adam call over `slotCounts` tensors (each with its own NaN-poisoned tail), twice, against
    /// the Double reference per tensor; returns every tensor's param, m, v.
    static func runAdamSlots(_ backend: any Backend, seed: UInt64) throws -> [[Float]] {
        var rng = TestRNG(seed: seed)
        let pad = [Float](repeating: .nan, count: 2)
        var refs: [AdamState] = [], buffers: [(p: any Buffer, m: any Buffer, v: any Buffer)] = []
        for c in slotCounts {
            let p0 = rng.floats(c), m0 = rng.floats(c, -0.1, 0.1), v0 = rng.floats(c, 0, 0.01)
            refs.append(AdamState(param: p0.map(Double.init), m: m0.map(Double.init), v: v0.map(Double.init)))
            buffers.append((try backend.buffer(p0 + pad), try backend.buffer(m0 + pad), try backend.buffer(v0 + pad)))
        }
        for step in 1...2 {
            let s = AdamStep(learningRate: 0.01, beta1: 0.5, beta2: 0.99, step: step, gradScale: 0.5)
            var slots: [AdamSlot] = []
            for (k, c) in slotCounts.enumerated() {
                let g = rng.floats(c, -2, 2)
                adamReference(s, &refs[k], grad: g)
                slots.append(AdamSlot(param: buffers[k].p, grad: try backend.buffer(g + pad), m: buffers[k].m, v: buffers[k].v, count: c))
            }
            try backend.adamStep(s, slots)
        }
        var out: [[Float]] = []
        for (k, c) in slotCounts.enumerated() {
            for (name, buffer, want) in [("param", buffers[k].p, refs[k].param), ("m", buffers[k].m, refs[k].m), ("v", buffers[k].v, refs[k].v)] {
                let got = try backend.array(buffer)
                XCTAssertTrue(got[c...].allSatisfy(\.isNaN), "\(backend.label) adam slot \(k): \(name) written past count")
                assertClose(Array(got[..<c]), want, tolerance: 1e-6, "\(backend.label) adam slot \(k) (n=\(c)) \(name)")
                out.append(Array(got[..<c]))
            }
        }
        return out
    }

    func testMultiTensorAdamMatchesReferencePerTensor() throws {
        for backend in TestBackends.all { _ = try Self.runAdamSlots(backend, seed: 5) }
    }

    func testMultiTensorEMAMatchesReferencePerTensor() throws {
        for backend in TestBackends.all {
            var rng = TestRNG(seed: 6)
            var slots: [EMASlot] = [], refs: [[Double]] = []
            for c in Self.slotCounts {
                let e = rng.floats(c), p = rng.floats(c, -3, 3)
                refs.append(zip(e, p).map { Double($1) + (Double($0) - Double($1)) * 0.75 })
                slots.append(EMASlot(ema: try backend.buffer(e + [.nan]), param: try backend.buffer(p), count: c))
            }
            try backend.emaUpdate(slots, beta: 0.75)
            for (k, slot) in slots.enumerated() {
                let got = try backend.array(slot.ema)
                XCTAssertTrue(got[slot.count].isNaN, "\(backend.label) ema slot \(k) written past count")
                assertClose(Array(got[..<slot.count]), refs[k], tolerance: 1e-5, "\(backend.label) ema slot \(k) (n=\(slot.count))")
            }
        }
    }

    /// The multi-tensor kernel agrees with the CPU loop tensor by tensor (the OpenCL compiler may contract
    /// a·b + c into one fma, so not bit for bit).
    func testMultiTensorParity() throws {
        let cl = try TestBackends.requireOpenCL()
        let a = try Self.runAdamSlots(cl, seed: 8), b = try Self.runAdamSlots(TestBackends.cpu, seed: 8)
        for (k, (x, y)) in zip(a, b).enumerated() { assertClose(x, y, tolerance: 1e-6, "adam tensor \(k / 3) array \(k % 3)") }
    }

    /// Launch grouping: 16 tensors per launch, in order, the element total of a launch below 2³¹.
    func testOptimizerLaunchGrouping() throws {
        let counts = Array(repeating: 3, count: 35)
        let groups = try OpenCLBackend.optimizerLaunches(counts)
        XCTAssertEqual(groups.map(\.count), [16, 16, 3])
        XCTAssertEqual(groups.flatMap { $0 }, Array(0..<35))
        let big = Int(Int32.max) / 2 + 1
        XCTAssertEqual(try OpenCLBackend.optimizerLaunches([big, big, 5]).map(\.count), [1, 2])
        XCTAssertThrowsError(try OpenCLBackend.optimizerLaunches([Int(Int32.max)]))
    }

    private func zip3<A, B, C>(_ a: [A], _ b: [B], _ c: [C]) -> [(A, B, C)] {
        zip(a, zip(b, c)).map { ($0, $1.0, $1.1) }
    }
}

import Engine
import Foundation

/// A NumPy implementation of the RGB-uv histogram (DESIGN.md section 6) and its gradient, run in a
/// `python3` subprocess: the CPU speed reference of `HistogramBenchmark`, and an independent check of
/// the Engine's result on the same inputs (exchanged as `.npy` files).
public enum NumPyHistogram {
    /// The script. `python3 -c SCRIPT bench N SIZE BINS MODE MAXSIZE SIGMA SECONDS` prints the mean
    /// milliseconds of one forward+backward; `... check X.npy G.npy BINS MODE MAXSIZE SIGMA H.npy DX.npy`
    /// writes the histogram of X and the gradient of Σ G·H w.r.t. X. Inverse-quadratic kernel, float32.
    static let script = #"""
    import sys, time
    import numpy as np
    EPS = np.float32(1e-6)

    def bilinear(n_in, n_out):
        # PyTorch align_corners=False taps as a dense [n_out, n_in] matrix.
        scale = np.float32(n_in) / np.float32(n_out)
        src = np.maximum(scale * (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5), 0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
        l1 = np.clip(src - i0, 0, 1).astype(np.float32)
        m = np.zeros((n_out, n_in), np.float32)
        np.add.at(m, (np.arange(n_out), i0), 1 - l1)
        np.add.at(m, (np.arange(n_out), i1), l1)
        return m

    def reducer(h, w, bins, mode, maxsize):
        if h <= maxsize and w <= maxsize:
            return None
        if mode == 'sampling':
            rows = np.linspace(0, h, bins, endpoint=False).astype(np.int64)
            cols = np.linspace(0, w, bins, endpoint=False).astype(np.int64)
            my = np.zeros((bins, h), np.float32); my[np.arange(bins), rows] = 1
            mx = np.zeros((bins, w), np.float32); mx[np.arange(bins), cols] = 1
            return my, mx
        return bilinear(h, maxsize), bilinear(w, maxsize)

    def fwd_bwd(x, g, bins, mode, maxsize, sigma):
        n, _, h, w = x.shape
        t = np.linspace(-3, 3, bins).astype(np.float32)
        inv = np.float32(1 / (sigma * sigma))
        xc = np.clip(x, 0, 1)
        red = reducer(h, w, bins, mode, maxsize)
        xr = xc if red is None else red[0] @ xc @ red[1].T
        xr = xr.reshape(n, 3, -1)
        iy = np.sqrt((xr * xr).sum(1) + EPS)
        L = np.log(xr + EPS)
        u = np.stack([L[:, 0] - L[:, 1], L[:, 1] - L[:, 0], L[:, 2] - L[:, 0]], 1)
        v = np.stack([L[:, 0] - L[:, 2], L[:, 1] - L[:, 2], L[:, 2] - L[:, 1]], 1)
        du = u[..., None] - t; dv = v[..., None] - t
        ku = 1 / (1 + du * du * inv); kv = 1 / (1 + dv * dv * inv)
        G = np.matmul((iy[:, None, :, None] * ku).transpose(0, 1, 3, 2), kv)
        S = G.sum((1, 2, 3))
        H = G / (S + EPS)[:, None, None, None]
        dot = (g * H).sum((1, 2, 3))
        gG = (g - dot[:, None, None, None]) / (S + EPS)[:, None, None, None]
        gT = gG.transpose(0, 1, 3, 2)
        T = np.matmul(kv, gT)
        Tv = np.matmul(-2 * dv * inv * kv * kv, gT)
        dIy = (ku * T).sum(-1).sum(1)
        dU = iy[:, None] * ((-2 * du * inv * ku * ku) * T).sum(-1)
        dV = iy[:, None] * (ku * Tv).sum(-1)
        dL = np.stack([dU[:, 0] + dV[:, 0] - dU[:, 1] - dU[:, 2],
                       -dU[:, 0] + dU[:, 1] + dV[:, 1] - dV[:, 2],
                       -dV[:, 0] - dV[:, 1] + dU[:, 2] + dV[:, 2]], 1)
        dxr = dL / (xr + EPS) + (dIy / iy)[:, None] * xr
        if red is None:
            dxc = dxr.reshape(x.shape)
        else:
            dxc = red[0].T @ dxr.reshape(n, 3, red[0].shape[0], red[1].shape[0]) @ red[1]
        return H, np.where((x >= 0) & (x <= 1), dxc, 0).astype(np.float32)

    if sys.argv[1] == 'bench':
        n, size, bins, mode, maxsize, sigma, seconds = sys.argv[2:9]
        n, size, bins, maxsize, sigma, seconds = int(n), int(size), int(bins), int(maxsize), float(sigma), float(seconds)
        rng = np.random.default_rng(0)
        x = rng.random((n, 3, size, size), dtype=np.float32)
        g = rng.standard_normal((n, 3, bins, bins)).astype(np.float32)
        fwd_bwd(x, g, bins, mode, maxsize, sigma)
        k, start = 0, time.perf_counter()
        while True:
            fwd_bwd(x, g, bins, mode, maxsize, sigma); k += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds: break
        print(elapsed * 1000 / k, k)
    else:
        x, g = np.load(sys.argv[2]), np.load(sys.argv[3])
        H, dx = fwd_bwd(x, g, int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), float(sys.argv[7]))
        np.save(sys.argv[8], H.astype(np.float32)); np.save(sys.argv[9], dx)
    """#

    /// Mean milliseconds and iterations of NumPy's forward+backward on random `[batch, 3, size, size]`
    /// images, or nil when python3/NumPy is unavailable.
    public static func milliseconds(batch: Int, size: Int, options: HistogramOptions, minimumSeconds: Double) -> (Double, Int)? {
        let out = python(["bench", "\(batch)", "\(size)", "\(options.bins)", options.resize.rawValue, "\(options.maxSize)",
                          "\(options.sigma)", "\(minimumSeconds)"])
        guard let fields = out?.split(separator: " "), fields.count == 2,
              let ms = Double(fields[0]), let k = Int(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return (ms, k)
    }

    /// NumPy's histogram `[N, 3, bins, bins]` of `images` and gradient of `Σ gradOutput·H` (inverse-quadratic
    /// kernel only), or nil when python3/NumPy is unavailable.
    public static func evaluate(images: NumPyArray, gradOutput: NumPyArray, options: HistogramOptions) throws -> (NumPyArray, NumPyArray)? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numpy-histogram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let paths = ["x", "g", "h", "dx"].map { directory.appendingPathComponent("\($0).npy").path }
        try NumPyFile.write(images, to: paths[0])
        try NumPyFile.write(gradOutput, to: paths[1])
        guard python(["check", paths[0], paths[1], "\(options.bins)", options.resize.rawValue, "\(options.maxSize)",
                      "\(options.sigma)", paths[2], paths[3]]) != nil else { return nil }
        return (try NumPyFile.read(paths[2]), try NumPyFile.read(paths[3]))
    }

    /// stdout of this file's NumPy script run with `arguments`, or nil on failure.
    static func python(_ arguments: [String]) -> String? {
        NumPyReference.runPython(script, arguments: arguments)
    }
}

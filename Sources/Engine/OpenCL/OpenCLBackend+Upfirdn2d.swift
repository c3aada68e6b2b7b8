// upfirdn2d on the OpenCL backend (upfirdn2d.cl). Semantics: Upfirdn2dShape+Gradient.swift.
extension OpenCLBackend {
    public func upfirdn2d(_ shape: Upfirdn2dShape, input: any Buffer, filter: any Buffer, output: any Buffer) throws {
        try shape.validate("upfirdn2d", input: input, filter: filter, output: output)
        guard shape.planes > 0 else { return }
        let factors = "-D UP_X=\(shape.upX) -D UP_Y=\(shape.upY) -D DOWN_X=\(shape.downX) -D DOWN_Y=\(shape.downY)"
            + " -D FW=\(shape.filterW) -D FH=\(shape.filterH)"
        let scalars: [KernelArg] = [
            .int(shape.planes), .int(shape.inHeight), .int(shape.inWidth), .int(shape.outHeight), .int(shape.outWidth),
            .int(shape.padX0), .int(shape.padY0), .int(shape.flipFilter ? 1 : 0), .float(shape.gain),
        ]
        let buffers: [KernelArg] = [.buffer(input), .buffer(filter), .buffer(output)]
        if let tile = Upfirdn2dTile(shape) {
            let groupsX = (shape.outWidth + tile.lx * tile.px - 1) / (tile.lx * tile.px)
            let groupsY = (shape.outHeight + tile.ly * tile.py - 1) / (tile.ly * tile.py)
            // Planes go along the third NDRange axis; keep each launch's group count there well inside
            // CUDA-backed drivers' 65535 limit.
            let planesPerLaunch = Self.maxGroupsZ * tile.lz
            for start in stride(from: 0, to: shape.planes, by: planesPerLaunch) {
                let n = min(planesPerLaunch, shape.planes - start)
                try launch("upfirdn2d", "upfirdn2d_tiled", options: factors,
                           global: [groupsX * tile.lx, groupsY * tile.ly, n], local: [tile.lx, tile.ly, tile.lz],
                           buffers + scalars + [.int(start)] + tile.arguments)
            }
        } else {
            for start in stride(from: 0, to: shape.planes, by: Self.maxGroupsZ) {
                let n = min(Self.maxGroupsZ, shape.planes - start)
                try launch("upfirdn2d", "upfirdn2d_direct", options: factors,
                           global: [shape.outWidth, shape.outHeight, n], local: [16, 16, 1],
                           buffers + scalars + [.int(start)])
            }
        }
    }

    /// Work-groups per launch along the plane axis.
    static let maxGroupsZ = 32768
}

/// Work-group geometry of `upfirdn2d_tiled` for one shape: an `lx × ly × lz` group computes
/// `px × py` outputs per work-item on each of `lz` planes and stages a `tinH × tinW` input tile per plane.
struct Upfirdn2dTile: Equatable {
    var lx: Int, ly: Int, lz: Int, px: Int, py: Int
    var tinW: Int, tinH: Int

    /// Local memory the kernel may use (well under every OpenCL GPU's 32 KiB minimum).
    static let localBudgetBytes = 16 * 1024
    /// Largest filter the tiled kernel is compiled for (`MAX_TILED_TAPS` in upfirdn2d.cl).
    static let maxTaps = 1024

    /// The tile for `s`, or nil when even the smallest does not fit `localBudgetBytes` (very large
    /// filters: use `upfirdn2d_direct`). Work-groups come in two shapes only, 32×8 for wide images and
    /// 8×8 stacking 4 planes for narrow ones, so drivers that compile per work-group size (PoCL) build
    /// few variants.
    init?(_ s: Upfirdn2dShape) {
        guard s.filterCount <= Self.maxTaps else { return nil }
        if s.outWidth >= 24 {
            (lx, ly, lz) = (32, 8, 1)
        } else {
            (lx, ly, lz) = (8, 8, 4)
        }
        // Large images: several outputs per work-item amortise the tile's halo and the index math.
        px = s.outWidth >= 4 * lx && s.upX > s.downX ? 2 : 1
        py = s.outHeight >= 8 * ly ? 4 : (s.outHeight >= 4 * ly ? 2 : 1)
        tinW = 0; tinH = 0
        while true {
            tinW = Self.inputSpan(outputs: lx * px, up: s.upX, down: s.downX, filter: s.filterW)
            tinH = Self.inputSpan(outputs: ly * py, up: s.upY, down: s.downY, filter: s.filterH)
            let bytes = 4 * (lz * tinW * tinH + s.filterH * s.filterW)
            if bytes <= Self.localBudgetBytes { return }
            if py > 1 { py /= 2 } else if px > 1 { px /= 2 } else if lz > 1 { lz /= 2 } else { return nil }
        }
    }

    /// Input samples under `outputs` consecutive outputs: ceil((outputs − 1)·down / up) + ceil(filter / up).
    static func inputSpan(outputs: Int, up: Int, down: Int, filter: Int) -> Int {
        ((outputs - 1) * down + up - 1) / up + (filter + up - 1) / up
    }

    /// The kernel's trailing arguments: the local tile, px, py, tinW, tinH.
    var arguments: [KernelArg] {
        [.local(4 * lz * tinW * tinH), .int(px), .int(py), .int(tinW), .int(tinH)]
    }
}

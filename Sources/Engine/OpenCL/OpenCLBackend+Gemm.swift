import Foundation

// Matrix multiply of the OpenCL backend (gemm.cl).
extension OpenCLBackend {
    /// Micro-tiles of gemm.cl (`-D TM -D TN`), largest block first: a 16×16 work-group computes a
    /// `[16·TM, 16·TN]` block of C. Bigger blocks reuse each loaded element more (8×8: 128×128 blocks,
    /// 64 FMAs per four float4 local reads) but give fewer work-groups. TM, TN are multiples of 4.
    static let gemmTiles: [GemmTile] = [GemmTile(tm: 8, tn: 8), GemmTile(tm: 8, tn: 4), GemmTile(tm: 4, tn: 4)]

    /// `HISTOGAN_GEMM_TILE=TMxTN` (each 4 or 8, e.g. `8x4`) forces one tile, for tuning on a new GPU by hand;
    /// it wins over the tuning table.
    static let gemmTileOverride: GemmTile? = {
        guard let text = ProcessInfo.processInfo.environment["HISTOGAN_GEMM_TILE"] else { return nil }
        let sides = text.split(separator: "x").compactMap { Int($0) }
        guard sides.count == 2, sides.allSatisfy({ $0 == 4 || $0 == 8 }) else { return nil }
        return GemmTile(tm: sides[0], tn: sides[1])
    }()

    /// The heuristic: the largest tile that still yields about one work-group per compute unit (at least 3/4
    /// of them busy), else the smallest. 1024² on a 132-SM H100 takes 128×64 blocks, 4096² takes 128×128.
    static func gemmTile(_ s: GemmShape, computeUnits: Int) -> GemmTile {
        if let tile = gemmTileOverride { return tile }
        for tile in gemmTiles {
            let groups = (s.m + 16 * tile.tm - 1) / (16 * tile.tm) * ((s.n + 16 * tile.tn - 1) / (16 * tile.tn)) * s.batch
            if groups * 4 >= computeUnits * 3 { return tile }
        }
        return gemmTiles[gemmTiles.count - 1]
    }

    /// Whether gemm.cl may load `s`'s operands as float4 (`-D VEC_LOADS`): each operand's contiguous extent
    /// (K of A and B^T, M of A^T, N of B), offset and batch stride are multiples of 4, so every vector is
    /// 16-byte aligned and lies wholly inside or outside its matrix.
    public static func gemmVectorLoads(_ s: GemmShape) -> Bool {
        let contiguous = [s.transA ? s.m : s.k, s.transB ? s.k : s.n]
        let strides = s.batch > 1 ? [s.strideA, s.strideB] : []
        return (contiguous + [s.offsetA, s.offsetB] + strides).allSatisfy { $0 % 4 == 0 }
    }

    public func gemm(_ s: GemmShape, a: any Buffer, b: any Buffer, c: any Buffer) throws {
        let tuned = Self.gemmTileOverride == nil ? tunedChoice(.gemm(s)) : nil
        try gemm(s, a: a, b: b, c: c, tile: tuned?.gemm, staging: tuned?.staging)
    }

    /// The GEMM with micro-tile `tile` (nil: the heuristic, or `HISTOGAN_GEMM_TILE`) and local-memory `staging`
    /// (nil: the backend's).
    public func gemm(_ s: GemmShape, a: any Buffer, b: any Buffer, c: any Buffer, tile chosen: GemmTile?,
                     staging chosenStaging: TileStaging? = nil) throws {
        try s.validate(a: a.count, b: b.count, c: c.count)
        guard s.m > 0, s.n > 0, s.batch > 0 else { return }
        // Kernel indices are 32-bit except the batch and row products (64-bit).
        let limit = Int(Int32.max)
        guard [s.m * s.n, s.offsetA, s.offsetB, s.offsetC, s.strideA, s.strideB, s.strideC, s.batch].allSatisfy({ $0 <= limit }) else {
            throw EngineError.shapeMismatch(op: "gemm", detail: "sizes, strides or offsets beyond 32-bit kernel indices")
        }
        if s.k == 0 {
            try launch("gemm", "gemm_scale", global: [s.m * s.n, s.batch], local: [Self.localSize1D, 1],
                       [.int(s.m * s.n), .buffer(c), .int(s.offsetC), .int(s.strideC), .float(s.beta)])
            return
        }
        let tile = chosen ?? Self.gemmTile(s, computeUnits: info.computeUnits)
        guard [4, 8].contains(tile.tm), [4, 8].contains(tile.tn) else {
            throw EngineError.shapeMismatch(op: "gemm", detail: "micro-tile \(tile.tm)x\(tile.tn): TM and TN must be 4 or 8")
        }
        // One program per tile size; the transposes are arguments (four programs per tile would cost
        // PoCL about 4 s of compilation each for no measurable gain: they only steer the tile loads).
        let options = "-D TM=\(tile.tm) -D TN=\(tile.tn)" + (Self.gemmVectorLoads(s) ? " -D VEC_LOADS" : "")
            + stagedOptions(fp32Bytes: tile.stagedBytes, depth: 16, exchangeBytes: tile.tf32ExchangeBytes, tensorCores: true,
                            staging: chosenStaging ?? staging)
        let groupsN = (s.n + 16 * tile.tn - 1) / (16 * tile.tn), groupsM = (s.m + 16 * tile.tm - 1) / (16 * tile.tm)
        try launch("gemm", "gemm", options: options, global: [groupsN * 16, groupsM * 16, s.batch], local: [16, 16, 1],
                   [.int(s.m), .int(s.n), .int(s.k),
                    .buffer(a), .int(s.offsetA), .int(s.strideA),
                    .buffer(b), .int(s.offsetB), .int(s.strideB),
                    .buffer(c), .int(s.offsetC), .int(s.strideC),
                    .int(s.transA ? 1 : 0), .int(s.transB ? 1 : 0), .float(s.alpha), .float(s.beta)])
    }
}

/// A 64-bit FNV-1a hash over the bit patterns of float arrays (one 32-bit word per step), for checking that
/// data-parallel replicas hold bit-identical state: equal inputs give equal fingerprints on every rank.
public struct Fingerprint: Sendable, Equatable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// Mixes in every element of `values`, in order.
    public mutating func add(_ values: [Float]) {
        var h = value
        for v in values { h = (h ^ UInt64(v.bitPattern)) &* 0x0000_0100_0000_01b3 }
        value = h
    }

    /// Mixes in every parameter value of `parameters`, in order.
    public mutating func add(_ parameters: ParameterCollection) throws {
        for p in parameters.parameters { add(try p.value.array()) }
    }
}

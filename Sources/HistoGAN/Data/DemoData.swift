import Engine
import Foundation

/// Procedural, colourful demo images (seeded): each picks a palette of 2-4 colours around a random hue
/// scheme and paints a smooth background gradient, soft discs and stripes with them, so the set spans many
/// different colour histograms — enough for HistoGAN to learn colour control in a few minutes.
public struct DemoDataGenerator: Sendable {
    public let resolution: Int
    public let seed: UInt64

    public init(resolution: Int = 64, seed: UInt64 = 0) {
        self.resolution = resolution
        self.seed = seed
    }

    /// Image `index` as CHW floats in [0, 1], `[3, resolution, resolution]`.
    public func image(_ index: Int) -> [Float] {
        var random = HostRandom(seed: seed, stream: UInt64(index))
        let palette = Self.palette(&random)
        let r = resolution
        var pixels = [Float](repeating: 0, count: 3 * r * r)
        // Background: a linear gradient between two palette colours along a random direction.
        let angle = random.uniform() * 2 * .pi
        let (dx, dy) = (cos(angle), sin(angle))
        let c0 = palette[0], c1 = palette[1 % palette.count]
        for y in 0..<r {
            for x in 0..<r {
                let t = 0.5 + 0.5 * ((Float(x) / Float(r) - 0.5) * dx + (Float(y) / Float(r) - 0.5) * dy) * 1.4
                let tc = min(max(t, 0), 1)
                for c in 0..<3 { pixels[c * r * r + y * r + x] = c0[c] * (1 - tc) + c1[c] * tc }
            }
        }
        // Soft discs.
        for _ in 0..<(2 + Int(random.uniform() * 4)) {
            let colour = palette[Int(random.uniform() * Float(palette.count)) % palette.count]
            let (cx, cy) = (random.uniform() * Float(r), random.uniform() * Float(r))
            let radius = (0.08 + random.uniform() * 0.25) * Float(r)
            for y in 0..<r {
                for x in 0..<r {
                    let d = ((Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy)).squareRoot()
                    let a = min(max((radius - d) / (0.15 * radius + 1), 0), 1)
                    if a > 0 { blend(&pixels, x, y, colour, a) }
                }
            }
        }
        // Stripes in one palette colour on half of the images.
        if random.uniform() < 0.5 {
            let colour = palette.last!
            let period = Float(4 + Int(random.uniform() * Float(r / 4)))
            let phase = random.uniform() * period
            let vertical = random.uniform() < 0.5
            for y in 0..<r {
                for x in 0..<r where (Float(vertical ? x : y) + phase).truncatingRemainder(dividingBy: period) < period / 3 {
                    blend(&pixels, x, y, colour, 0.6)
                }
            }
        }
        return pixels
    }

    private func blend(_ pixels: inout [Float], _ x: Int, _ y: Int, _ colour: SIMD3<Float>, _ a: Float) {
        let r = resolution
        for c in 0..<3 {
            let i = c * r * r + y * r + x
            pixels[i] = pixels[i] * (1 - a) + colour[c] * a
        }
    }

    /// 2-4 colours: a base hue and analogous / complementary / triadic companions, random saturation and value.
    static func palette(_ random: inout HostRandom) -> [SIMD3<Float>] {
        let base = random.uniform()
        let schemes: [[Float]] = [[0, 0.08, -0.08], [0, 0.5], [0, 1.0 / 3, 2.0 / 3], [0, 0.5, 0.08, 0.58]]
        let offsets = schemes[Int(random.uniform() * Float(schemes.count)) % schemes.count]
        return offsets.map { offset in
            let h = (base + offset).truncatingRemainder(dividingBy: 1)
            return hsv(h < 0 ? h + 1 : h, 0.35 + 0.65 * random.uniform(), 0.3 + 0.7 * random.uniform())
        }
    }

    /// HSV (all in [0, 1]) to RGB.
    static func hsv(_ h: Float, _ s: Float, _ v: Float) -> SIMD3<Float> {
        let i = Int(h * 6) % 6
        let f = h * 6 - Float(Int(h * 6))
        let (p, q, t) = (v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s))
        switch i {
        case 0: return [v, t, p]
        case 1: return [q, v, p]
        case 2: return [p, v, t]
        case 3: return [p, q, v]
        case 4: return [t, p, v]
        default: return [v, p, q]
        }
    }
}

/// Host-side Philox stream for data decisions (deterministic, independent of backend and threads).
public struct HostRandom: Sendable {
    let seed: UInt64
    let stream: UInt64
    var counter: UInt64 = 0
    var lane = 4
    var block = SIMD4<UInt32>()

    public init(seed: UInt64, stream: UInt64) {
        self.seed = seed
        self.stream = stream
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Float {
        if lane == 4 {
            block = Philox.block(seed: seed, index: (stream << 32) &+ counter)
            counter += 1
            lane = 0
        }
        defer { lane += 1 }
        return Philox.uniform(block[lane])
    }

    /// Uniform integer in 0..<n.
    public mutating func int(_ n: Int) -> Int { min(n - 1, Int(uniform() * Float(n))) }
}

extension DemoDataGenerator {
    /// Writes images `0..<count` as `demo-NNNNN.png` into `directory` (created); returns the count.
    public func write(count: Int, to directory: String) throws -> Int {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw HistoGANError.data("\(directory): cannot create: \(error.localizedDescription)")
        }
        for i in 0..<count {
            let image = try Image(width: resolution, height: resolution, pixels: self.image(i))
            try ImageIO.writePNG(image, to: String(format: "%@/demo-%05d.png", directory, i))
        }
        return count
    }
}

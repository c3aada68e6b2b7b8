import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct DemoDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Write a seeded set of procedurally generated, colourful PNG images to train on.")

    @Option(help: "Output folder (created).")
    var output: String

    @Option(help: "Number of images.")
    var count = 256

    @Option(help: "Image size in pixels.")
    var resolution = 64

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be > 0") }
        guard resolution >= 8 else { throw ValidationError("--resolution must be >= 8") }
    }

    func run() throws {
        let written = try DemoDataGenerator(resolution: resolution, seed: seed).write(count: count, to: output)
        print("wrote \(written) images to \(output)")
    }
}

import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Run a few training steps and print per-layer forward/backward times, sorted, with each layer's share.",
        discussion: "Kernel times come from OpenCL profiling events on OpenCL devices, from the clock on the CPU backend.")

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var network: NetworkFlags

    @Option(help: "Profile the network and options stored in this checkpoint instead of --resolution/--capacity.")
    var checkpoint: String?

    @Option(help: "Images per step.")
    var batch = 4

    @Option(help: "Profiled steps (after one warm-up step).")
    var steps = 2

    @Option(name: .customLong("plain-steps"), help: "Plain (unprofiled) steps timed first (default: one regulariser period, lcm of the R1 and path-length intervals, 16).")
    var plainSteps: Int?

    @Option(help: "Also write the profile as JSON to this file.")
    var json: String?

    func run() throws {
        let backend = try deviceOption.makeBackend(profiling: true)
        var options = TrainingOptions(network: network.config, batch: batch)
        if let checkpoint { options = try Checkpoint.options(at: checkpoint) }
        func makeTrainer(_ backend: any Backend) throws -> Trainer {
            let trainer = try Trainer(options: options, backend: backend)
            if let checkpoint { try Checkpoint.restore(trainer, from: checkpoint) }
            return trainer
        }
        let trainer = try makeTrainer(backend)
        // Plain steps on OpenCL run on a second backend without profiling events, so launches do not wait.
        let plainTrainer = backend.info.kind == .opencl ? try makeTrainer(deviceOption.makeBackend(profiling: false)) : trainer
        print("profiling \(options.network.resolution)x\(options.network.resolution), capacity \(options.network.capacity), batch \(options.batch) on \(backend.info.selector) (\(backend.info.name))")
        print("G \(trainer.generator.parameters.count) parameters, D \(trainer.discriminator.parameters.count); products (GEMM, conv) in \(backend.matmulArithmetic.rawValue); 3x3 convs: \(backend.convAlgorithm.rawValue)")
        if let cl = backend as? OpenCLBackend {
            print(cl.tuningTable.map { "tuning table: \($0.entries.count) shape classes (HISTOGAN_TUNING=off ignores it)" }
                  ?? "tuning table: none, built-in tile heuristics" + (cl.tuningNotice.map { " (\($0))" } ?? ""))
        }
        let profile = try TrainingProfile.measure(trainer: trainer, steps: max(1, steps), plainTrainer: plainTrainer,
                                                  plainSteps: plainSteps.map { max(1, $0) })
        let launches = profile.launchesPerStep.map { String(format: ", %.0f kernel launches/step", $0) } ?? ""
        print(String(format: "step: %.1f ms plain (%.2f images/s; mean of %d steps with R1 and path length on their schedule%@), %.1f ms profiled (per-op synchronisation)",
                     profile.unprofiledStepMilliseconds, Double(options.batch) * 1000 / profile.unprofiledStepMilliseconds,
                     profile.plainSteps, launches, profile.stepMilliseconds))
        if let host = profile.hostMillisecondsPerStep, let share = profile.hostShare {
            let perLaunch = profile.launchesPerStep.map { String(format: "; %.1f us per launch", host * 1000 / $0) } ?? ""
            print(String(format: "host: %.1f ms CPU per plain step on the thread that enqueues (%.0f%% of the step%@): a step on this device cannot take less",
                         host, share * 100, perLaunch)
                  + (share >= TrainingProfile.hostBoundShare ? "; host-bound: fewer launches or less host work per launch pay before faster kernels" : ""))
        }
        print("layer                                   fwd ms    bwd ms  kernel ms  share  launches")
        for l in profile.layers {
            let kernel = l.kernelMilliseconds.map { String(format: "%9.2f", $0) } ?? "        -"
            let launches = l.launches.map { String(format: "%9.1f", $0) } ?? "        -"
            print("\(l.layer.padding(toLength: 36, withPad: " ", startingAt: 0)) \(String(format: "%9.2f %9.2f", l.forwardMilliseconds, l.backwardMilliseconds)) \(kernel) \(String(format: "%5.1f%%", l.share * 100)) \(launches)")
        }
        print("op                                    calls/step     ms    share")
        for o in profile.ops {
            print("\(o.op.padding(toLength: 36, withPad: " ", startingAt: 0)) \(String(format: "%9.1f %9.2f %5.1f%%", o.calls, o.milliseconds, o.share * 100))")
        }
        if !profile.kernels.isEmpty {
            print("kernel                             launches/step  device ms")
            for k in profile.kernels {
                print("\(k.kernel.padding(toLength: 36, withPad: " ", startingAt: 0)) \(String(format: "%9.1f %10.2f", k.launches, k.milliseconds))")
            }
        }
        if let json {
            do { try JSONEncoder.histogan.encode(profile).write(to: URL(fileURLWithPath: json), options: .atomic) } catch {
                throw ValidationError("--json \(json): cannot write: \(error.localizedDescription)")
            }
            print("wrote \(json)")
        }
    }
}

extension JSONEncoder {
    /// Pretty, key-sorted JSON for files users read.
    static var histogan: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}

import ArgumentParser
import Engine
import HistoGAN

@main
struct HistoganGPU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "histogan-gpu",
        abstract: "Train and run HistoGAN (colour-histogram-controlled StyleGAN2) on OpenCL GPUs or the CPU.",
        version: HistoGAN.version,
        subcommands: [DevicesCommand.self, DemoDataCommand.self, TrainCommand.self, GenerateCommand.self, EvaluateCommand.self, InterpolateCommand.self, MixCommand.self, HistogramCommand.self, RecolorTrainCommand.self, RecolorCommand.self, TransferCommand.self, EvaluateRecolorCommand.self, ProfileCommand.self, TuneCommand.self, BenchCommand.self, BenchAllReduceCommand.self, SelfTestCommand.self, GANCommand.self]
    )
}

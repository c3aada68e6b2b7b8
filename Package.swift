// swift-tools-version:6.0
import PackageDescription

/// CPU code generation: haswell (AVX2 + FMA + F16C, LLVM has no x86-64-v3 name here) on x86-64 Linux. The CPU backend's GEMM and
/// convolution loops are written with Swift SIMD types and only reach useful speed with 256-bit FMA;
/// plain x86-64 (SSE2) measured 3-4x slower (see docs/benchmarks.md). Override with
/// `HISTOGAN_TARGET_CPU=x86-64` at build time for older processors.
let targetCPU = Context.environment["HISTOGAN_TARGET_CPU"] ?? "haswell"
let cpuFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", targetCPU], .when(platforms: [.linux]))]

let package = Package(
    name: "histogan-gpu",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "histogan-gpu", targets: ["histogan-gpu"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "HistoGAN", targets: ["HistoGAN"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),
        // MPI bound at run time (dlopen): no MPI header or library is needed to build or run the binary.
        .target(name: "CMPI", path: "Sources/CMPI", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(
            name: "Kernels",
            path: "Sources/Kernels",
            exclude: ["gemm.cl", "conv2d.cl", "modconv.cl", "upfirdn2d.cl", "bias_act.cl", "elementwise.cl",
                      "reduce.cl", "layout.cl", "random.cl", "optimizer.cl", "strided_index.cl", "histogram.cl", "batch_norm.cl", "log_softmax.cl", "winograd.cl",
                      "tf32.cl", "minibatch_stddev.cl"],
            cSettings: [.unsafeFlags(["-Wno-c23-extensions"])]
        ),
        .target(
            name: "Engine",
            dependencies: ["COpenCL", "Kernels", "CMPI"],
            swiftSettings: cpuFlags + [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(name: "HistoGAN", dependencies: ["Engine"], swiftSettings: cpuFlags),
        .executableTarget(
            name: "histogan-gpu",
            dependencies: ["HistoGAN", "Engine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: cpuFlags
        ),
        .target(name: "TestSupport", dependencies: ["Engine"], path: "Tests/TestSupport", swiftSettings: cpuFlags),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"], swiftSettings: cpuFlags),
        .testTarget(name: "HistoGANTests", dependencies: ["HistoGAN", "Engine", "TestSupport"], swiftSettings: cpuFlags),
    ]
)

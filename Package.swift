// swift-tools-version: 6.0
import Foundation
import PackageDescription

// The static Foundation archives and their dependencies, in one linker group (order-independent).
let staticFoundation = ["-Xlinker", "--start-group"] + [
    "Foundation", "FoundationInternationalization", "FoundationEssentials", "CoreFoundation", "_FoundationICU",
    "_FoundationCShims", "_FoundationCollections", "swiftSynchronization", "swiftDispatch", "dispatch", "BlocksRuntime",
    "swift_StringProcessing", "swift_RegexParser", "swift_Concurrency", "swiftGlibc", "swift_Builtin_float", "swiftCore",
].map { "-l" + $0 } + ["-Xlinker", "--end-group"]

// Release builds name a target CPU so hand-written SIMD kernels vectorise (docs/machine-facts.md: the default
// x86-64 baseline lowers SIMD FMAs to libm calls, 30-60x slower). The build machine picks it: `skylake-avx512`
// (AVX-512 F/CD/BW/DQ/VL, which Intel Xeons since Skylake and AMD Zen 4 have) where /proc/cpuinfo lists all
// five, else `haswell` (AVX2 + FMA). On AVX-512, SIMD16<Float> is one zmm register: the attention tiles and
// elementwise kernels double their width on Intel, whose cores have two 512-bit FMA units. RIVER_TARGET_CPU
// overrides the choice (e.g. `haswell` for a binary that must also run on AVX2-only hosts); `river` refuses
// to start, with a message, on a CPU lacking what it was built for.
let targetCPU: String = {
    if let forced = ProcessInfo.processInfo.environment["RIVER_TARGET_CPU"], !forced.isEmpty { return forced }
    #if arch(x86_64) && os(Linux)
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) {
        let have = Set(flags.split(separator: " ").map(String.init))
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(have.contains) { return "skylake-avx512" }
    }
    #endif
    return "haswell"
}()
let simd: [SwiftSetting] = [.unsafeFlags(["-target-cpu", targetCPU], .when(configuration: .release))]

let package = Package(
    name: "RiverValley",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "river", targets: ["river"]),
        .library(name: "RiverValley", targets: ["RiverValley"]),
        .library(name: "Trainer", targets: ["Trainer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C system libraries' headers. OpenBLAS provides BLAS/CBLAS and the LAPACK underneath LAPACKE. None of
        // the three is linked: CSystemLibraries opens each on first use (dlopen) and defines the functions the
        // package calls as trampolines to it, so a command that needs none of them does not load them.
        .systemLibrary(name: "CLapacke", path: "Sources/CLapacke"),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CGSL", path: "Sources/CGSL"),
        .target(name: "CSystemLibraries", path: "Sources/CSystemLibraries",
                linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),
        // oneDNN's matmul for the trainer's bf16 path, opened with dlopen on first use (so nothing else
        // pays for loading it); needs libdnnl-dev's headers to build.
        .target(name: "COneDNN", path: "Sources/COneDNN",
                cSettings: [.unsafeFlags(["-O3", "-march=\(targetCPU)"], .when(configuration: .release))],
                linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),

        // What the build was compiled for, checked against the CPU at start-up (compiled for baseline x86-64).
        .target(name: "CHostCPU", path: "Sources/CHostCPU",
                cSettings: [.define("RIVER_TARGET_CPU", to: "\"\(targetCPU)\"", .when(configuration: .release))]),
        // Thin linear-algebra layer over the C libraries.
        .target(name: "LinearAlgebra",
                dependencies: ["CLapacke", "COpenBLAS", "CGSL", "CSystemLibraries"],
                swiftSettings: simd),
        // Numerics: schedules, landscapes, spectra, dynamics, bigram.
        .target(name: "RiverValley",
                dependencies: ["LinearAlgebra", .product(name: "Yams", package: "Yams")],
                swiftSettings: simd),
        // Real language models: transformer, data, checkpoints, runs.
        .target(name: "Bigram", dependencies: ["RiverValley", "LinearAlgebra"], swiftSettings: simd),
        .target(name: "Trainer", dependencies: ["RiverValley", "LinearAlgebra", "COneDNN"], swiftSettings: simd),
        // One file per paper figure: each writes a data table.
        .target(name: "Experiments", dependencies: ["RiverValley", "Bigram", "Trainer"], swiftSettings: simd),
        .executableTarget(name: "river",
                          dependencies: ["CHostCPU", "Experiments", "RiverValley", "Bigram", "Trainer", "LinearAlgebra",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: simd,
                          // Release: the Swift runtime and Foundation linked in statically (-static-stdlib, plus the
                          // Foundation archives that SwiftPM's --static-swift-stdlib would add): start-up 14.5 → 9.8 ms,
                          // a sixth of a quick `river simulate` (docs/machine-facts.md, "river's start-up").
                          linkerSettings: [.unsafeFlags(["-static-stdlib"] + staticFoundation, .when(configuration: .release))]),

        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"]),
        .testTarget(name: "RiverValleyTests", dependencies: ["RiverValley", "LinearAlgebra"]),
        .testTarget(name: "BigramTests", dependencies: ["Bigram", "RiverValley"]),
        .testTarget(name: "TrainerTests", dependencies: ["Trainer", "RiverValley", "COneDNN"]),
        .testTarget(name: "CLITests", dependencies: []),  // runs the built `river` binary (swift test builds every product)
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "RiverValley"]),
    ]
)

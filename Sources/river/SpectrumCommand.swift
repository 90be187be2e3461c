import ArgumentParser
import Foundation
import LinearAlgebra
import RiverValley

/// `river spectrum`: eigenvalues of a seeded random symmetric (GOE-like) matrix or of a built-in
/// landscape's Hessian, by dense LAPACK `dsyevd`, Lanczos, or an SLQ spectral density.
struct SpectrumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrum",
        abstract: "Hessian / random-matrix spectra: dense dsyevd, Lanczos top-k, or an SLQ density.",
        discussion: """
        Examples:
          river spectrum --random-symmetric 2000 --seed 1 --json
          river spectrum --random-symmetric 500 --method lanczos --top 5
          river spectrum --landscape straight-valley --dim 10 --hill-curvature 4 --on-river 0.5
        CSV output is `index,eigenvalue` in descending order (`lambda,density` for --method slq).
        """)

    enum Method: String, ExpressibleByArgument, CaseIterable { case dense, lanczos, slq }

    @Option(name: .customLong("random-symmetric"), help: "Size N of a GOE-like random symmetric matrix (entries N(0,1/N), diagonal N(0,2/N)).")
    var randomSymmetric: Int?

    @Option(help: "Random seed (matrix, Lanczos start vector, SLQ probes).")
    var seed: UInt64 = 0

    @Option(help: "dense (LAPACK dsyevd), lanczos (top-k by Lanczos with full reorthogonalisation), slq (spectral density).")
    var method: Method = .dense

    @Option(help: "Number of eigenvalues to print (default: all for dense, 5 for lanczos).")
    var top: Int?

    @Flag(help: "With lanczos: the smallest eigenvalues instead of the largest (printed ascending).")
    var bottom = false

    @Option(help: "Lanczos steps per run (lanczos, slq).")
    var iterations: Int = 30

    @Option(help: "SLQ runs (random start vectors).")
    var runs: Int = 10

    @Option(help: "SLQ density grid points.")
    var gridPoints: Int = 512

    @Flag(help: "Dense only: compute eigenvalues without eigenvectors (numpy eigvalsh instead of eigh).")
    var valuesOnly = false

    @Option(help: "Write the random matrix as raw little-endian float64, row-major (numpy.fromfile(...).reshape(N, N)).")
    var writeMatrix: String?

    @Flag(help: "Print JSON (with the timing) instead of CSV.")
    var json = false

    @OptionGroup var landscape: SpectrumLandscapeOptions

    mutating func validate() throws {
        if let n = randomSymmetric, n < 1 {
            throw ValidationError("--random-symmetric \(n) is not allowed: the matrix size must be an integer >= 1")
        }
        if (randomSymmetric == nil) == (landscape.landscape == nil) {
            throw ValidationError("give exactly one of --random-symmetric N or --landscape NAME")
        }
        if let k = top, k < 1 { throw ValidationError("--top \(k) is not allowed: need an integer >= 1") }
        if iterations < 1 { throw ValidationError("--iterations \(iterations) is not allowed: need an integer >= 1") }
        if runs < 1 { throw ValidationError("--runs \(runs) is not allowed: need an integer >= 1") }
        if gridPoints < 2 { throw ValidationError("--grid-points \(gridPoints) is not allowed: need an integer >= 2") }
        if bottom && method != .lanczos { throw ValidationError("--bottom needs --method lanczos (got \(method.rawValue))") }
        if writeMatrix != nil && randomSymmetric == nil { throw ValidationError("--write-matrix needs --random-symmetric") }
        if landscape.landscape != nil { try landscape.validate() }
    }

    func run() throws {
        let source: String
        let op: any SymmetricOperator
        if let n = randomSymmetric {
            let a = RandomMatrices.goe(size: n, seed: seed)
            if let path = writeMatrix {
                try a.data.withUnsafeBytes { raw in   // x86-64 and arm64 are little-endian
                    try AtomicFile.write(chunks: [raw], to: URL(fileURLWithPath: path))
                }
            }
            source = "random-symmetric N=\(n) seed=\(seed)"
            op = DenseOperator(a)
        } else {
            let (name, hessian) = try landscape.hessianOperator()
            source = name
            op = hessian
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try compute(op)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        FileHandle.standardError.write(Data("\(method.rawValue) spectrum of \(source): \(String(format: "%.4f", seconds)) s\n".utf8))
        print(json ? try result.json(source: source, method: method.rawValue, seconds: seconds) : result.csv, terminator: "")
    }

    /// The computation that is timed.
    private func compute(_ op: any SymmetricOperator) throws -> SpectrumOutput {
        switch method {
        case .dense:
            let eig: SymmetricEigen
            if let d = op as? DenseOperator { eig = try symmetricEigen(d.matrix, vectors: !valuesOnly) }
            else { eig = try denseSpectrum(of: op, vectors: !valuesOnly) }
            let descending = Array(eig.values.reversed())
            return .eigenvalues(Array(descending.prefix(top ?? descending.count)), residuals: nil)
        case .lanczos:
            let ritz = try lanczosEigen(op, count: top ?? 5, end: bottom ? .smallest : .largest,
                                        iterations: iterations, seed: seed)
            return .eigenvalues(ritz.values, residuals: ritz.residuals)
        case .slq:
            let slq = try stochasticLanczosQuadrature(op, iterations: iterations, runs: runs, seed: seed)
            let (grid, density) = slq.smoothed(points: gridPoints)
            return .density(grid: grid, density: density)
        }
    }
}

/// What `river spectrum` prints.
enum SpectrumOutput {
    case eigenvalues([Double], residuals: [Double]?)
    case density(grid: [Double], density: [Double])

    var csv: String {
        switch self {
        case let .eigenvalues(values, _):
            return "index,eigenvalue\n" + values.enumerated().map { "\($0),\($1)\n" }.joined()
        case let .density(grid, density):
            return "lambda,density\n" + zip(grid, density).map { "\($0),\($1)\n" }.joined()
        }
    }

    func json(source: String, method: String, seconds: Double) throws -> String {
        struct Payload: Encodable {
            let source: String, method: String, seconds: Double, openblasCore: String
            let eigenvalues: [Double]?, residuals: [Double]?, grid: [Double]?, density: [Double]?
        }
        let p: Payload
        switch self {
        case let .eigenvalues(v, r):
            p = Payload(source: source, method: method, seconds: seconds, openblasCore: BLAS.coreName,
                        eigenvalues: v, residuals: r, grid: nil, density: nil)
        case let .density(g, d):
            p = Payload(source: source, method: method, seconds: seconds, openblasCore: BLAS.coreName,
                        eigenvalues: nil, residuals: nil, grid: g, density: d)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(p), as: UTF8.self) + "\n"
    }
}

/// Landscape selection for `river spectrum --landscape` (built by LandscapeCatalog once it lands).
struct SpectrumLandscapeOptions: ParsableArguments {
    @Option(help: "A built-in landscape (straight-valley, curved-valley, quadratic).")
    var landscape: String?

    @Option(help: "Landscape dimension d (1 river coordinate + d-1 hill coordinates).")
    var dim: Int = 2

    func validate() throws {
        if dim < 1 { throw ValidationError("--dim \(dim) is not allowed: need an integer >= 1") }
    }

    func hessianOperator() throws -> (String, any SymmetricOperator) {
        throw ValidationError("--landscape \(landscape ?? "") is not available yet: the landscape catalog is not built")
    }
}

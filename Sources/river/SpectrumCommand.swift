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
          river spectrum --landscape curved-valley --dim 3 --at 0.2,0.1,-0.3 --method lanczos --top 2
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

    @Option(name: .customLong("repeat"), help: "Run the computation this many times and report each time (the first run in a process pays page faults and thread start-up; benchmarks take a warm one).")
    var repeats: Int = 1

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
        if repeats < 1 || repeats > 1000 { throw ValidationError("--repeat \(repeats) is not allowed: need an integer in 1...1000") }
        if runs < 1 { throw ValidationError("--runs \(runs) is not allowed: need an integer >= 1") }
        if gridPoints < 2 { throw ValidationError("--grid-points \(gridPoints) is not allowed: need an integer >= 2") }
        if bottom && method != .lanczos { throw ValidationError("--bottom needs --method lanczos (got \(method.rawValue))") }
        if writeMatrix != nil && randomSymmetric == nil { throw ValidationError("--write-matrix needs --random-symmetric") }
    }

    func run() throws {
        let source: String
        let op: any SymmetricOperator
        var matrix: Matrix? = nil
        if let path = writeMatrix { try OutputSet.checkWritable(path) }
        if let n = randomSymmetric {
            let a = try RandomMatrices.goe(size: n, seed: seed)
            matrix = a
            source = "random-symmetric N=\(n) seed=\(seed)"
            op = DenseOperator(a)
        } else {
            let (name, hessian) = try landscape.hessianOperator(dense: method == .dense)
            source = name
            op = hessian
        }
        var result: SpectrumOutput? = nil
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            result = try compute(op)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        // The matrix file only once the spectrum succeeded: a failed command leaves no output.
        if let path = writeMatrix, let a = matrix {
            try a.data.withUnsafeBytes { raw in   // x86-64 and arm64 are little-endian
                try AtomicFile.write(chunks: [raw], to: URL(fileURLWithPath: path))
            }
        }
        let shown = times.map { String(format: "%.4f", $0) }.joined(separator: ", ")
        FileHandle.standardError.write(Data("\(method.rawValue) spectrum of \(source): \(shown) s\n".utf8))
        print(json ? try result!.json(source: source, method: method.rawValue, times: times) : result!.csv, terminator: "")
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
            let (grid, density) = try slq.smoothed(points: gridPoints)
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

    /// `seconds` is the last run's time, `times` every run's.
    func json(source: String, method: String, times: [Double]) throws -> String {
        struct Payload: Encodable {
            let source: String, method: String, seconds: Double, times: [Double], openblasCore: String
            let eigenvalues: [Double]?, residuals: [Double]?, grid: [Double]?, density: [Double]?
        }
        let p: Payload
        switch self {
        case let .eigenvalues(v, r):
            p = Payload(source: source, method: method, seconds: times.last!, times: times, openblasCore: BLAS.coreName,
                        eigenvalues: v, residuals: r, grid: nil, density: nil)
        case let .density(g, d):
            p = Payload(source: source, method: method, seconds: times.last!, times: times, openblasCore: BLAS.coreName,
                        eigenvalues: nil, residuals: nil, grid: g, density: d)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(p), as: UTF8.self) + "\n"
    }
}

/// Landscape selection for `river spectrum --landscape`: a `LandscapeCatalog` landscape and a point.
struct SpectrumLandscapeOptions: ParsableArguments {
    @Option(help: "A built-in landscape: \(LandscapeCatalog.names.joined(separator: ", ")).")
    var landscape: String?

    @Option(help: "Landscape dimension d (1 river coordinate + d-1 hill coordinates).")
    var dim: Int = 2

    @Option(help: "Hill curvature: one value for every hill direction, or a comma list (one per direction).")
    var hillCurvature: String = "10"

    @Option(help: "River profile: \(LandscapeCatalog.profiles.joined(separator: ", ")).")
    var riverProfile: String = "linear"

    @Option(help: "Slope s of the linear river profile (loss = -s x).")
    var riverSlope: Double = 1

    @Option(help: "A of the power river profile A (1+x)^(-alpha).")
    var powerAmplitude: Double = 1

    @Option(help: "alpha of the power river profile.")
    var powerExponent: Double = 0.5

    @Option(help: "Curved valley: amplitude a of the river h(x) = a sin(kx).")
    var amplitude: Double = 1

    @Option(help: "Curved valley: wavenumber k of the river.")
    var wavenumber: Double = 0.5

    @Option(help: "The point: d comma-separated coordinates x,y1,...")
    var at: String?

    @Option(help: "The point on the river with river coordinate X (the default, X = 0), found by the river tracer.")
    var onRiver: Double?

    func validate() throws {
        guard landscape != nil else { return }
        if at != nil && onRiver != nil { throw ValidationError("give at most one of --at and --on-river") }
        _ = try point(parameters())
    }

    func parameters() throws -> LandscapeParameters {
        let curvatures = try hillCurvature.split(separator: ",").map { part -> Double in
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--hill-curvature '\(hillCurvature)' is not a number or comma list of numbers")
            }
            return v
        }
        return LandscapeParameters(dimension: dim, hillCurvature: curvatures, riverProfile: riverProfile,
                                   riverSlope: riverSlope, powerAmplitude: powerAmplitude,
                                   powerExponent: powerExponent, amplitude: amplitude, wavenumber: wavenumber)
    }

    /// The landscape (validated by the catalog) and the point where the Hessian is taken.
    func point(_ p: LandscapeParameters) throws -> (any Landscape, [Double]) {
        let name = landscape ?? ""
        let l: any Landscape
        do { l = try LandscapeCatalog.make(name, p) } catch let e as LandscapeError {
            throw ValidationError("--landscape \(name): \(e.description)")
        }
        if let at {
            let w = at.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard w.count == l.dimension, w.allSatisfy({ $0?.isFinite == true }) else {
                throw ValidationError("--at '\(at)' must be \(l.dimension) comma-separated finite numbers (the dimension)")
            }
            return (l, w.map { $0! })
        }
        // The river of the definition (RiverTracer relaxes the hill coordinates at x), started from the
        // closed-form point where there is one (for the curved valley that is the floor, slightly off).
        let x = onRiver ?? 0
        guard x.isFinite else { throw ValidationError("--on-river \(x) is not allowed: need a finite number") }
        let analytic = l.analyticRiverPoint(x: x)
        do {
            return (l, try RiverTracer(l).riverPoint(x: x, guess: analytic))
        } catch {
            if let analytic { return (l, analytic) }
            throw ValidationError("--on-river \(x): no river point found for \(name) (\(error)); give the point with --at")
        }
    }

    /// The Hessian at the chosen point: dense (analytic `hessian(at:)`) or as an HVP operator.
    func hessianOperator(dense: Bool) throws -> (String, any SymmetricOperator) {
        let (l, w) = try point(parameters())
        let name = "\(landscape ?? "") d=\(dim) at (\(w.prefix(4).map { String($0) }.joined(separator: ","))\(w.count > 4 ? ",..." : ""))"
        if dense { return (name, DenseOperator(try l.denseHessian(at: w))) }
        func hvp<L: Landscape>(_ l: L) -> any SymmetricOperator { LandscapeHessian(l, at: w) }
        return (name, hvp(l))
    }
}

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

    @Option(name: .customLong("random-symmetric"),
            help: ArgumentHelp("Size N of a GOE-like random symmetric matrix (entries N(0,1/N), diagonal N(0,2/N)).", valueName: "n"))
    var randomSymmetric: Int?

    @Option(help: ArgumentHelp("Random seed (matrix, Lanczos start vector, SLQ probes).", valueName: "seed"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("dense (LAPACK dsyevd), lanczos (top-k by Lanczos with full reorthogonalisation), slq (spectral density).",
                               valueName: "method"))
    var method: Method = .dense

    @Option(help: ArgumentHelp("Number of eigenvalues to print (default: all for dense, 5 for lanczos).", valueName: "n"))
    var top: Int?

    @Flag(help: "With lanczos: the smallest eigenvalues instead of the largest (printed ascending).")
    var bottom = false

    @Option(help: ArgumentHelp("Lanczos steps per run (lanczos, slq).", valueName: "n"))
    var iterations: Int = 30

    @Option(help: ArgumentHelp("SLQ probes: Lanczos runs from independent random start vectors.", valueName: "n"))
    var probes: Int = 10

    /// Deprecated spelling of --probes (`--runs` names run directories elsewhere).
    @Option(name: .customLong("runs"), help: .hidden)
    var deprecatedRuns: Int?

    @Option(help: ArgumentHelp("SLQ density grid points.", valueName: "n"))
    var gridPoints: Int = 512

    @Flag(help: "Dense only: compute eigenvalues without eigenvectors (numpy eigvalsh instead of eigh).")
    var valuesOnly = false

    @Option(help: ArgumentHelp("Write the random matrix as raw little-endian float64, row-major (numpy.fromfile(...).reshape(N, N)).",
                               valueName: "path"))
    var writeMatrix: String?

    @Option(name: .customLong("repeat"),
            help: ArgumentHelp("Run the computation this many times and report each time (the first run in a process pays page faults and thread start-up; benchmarks take a warm one).",
                               valueName: "n"))
    var repeats: Int = 1

    @Flag(help: "Print JSON (with the timing) instead of CSV.")
    var json = false

    @OptionGroup var landscape: LandscapeOptions

    @OptionGroup var point: LandscapePointOptions

    mutating func validate() throws {
        Deprecated.merge(old: "--runs", oldValue: deprecatedRuns, new: "--probes", into: &probes)
        deprecatedRuns = nil
        if let n = randomSymmetric, n < 1 {
            throw ValidationError("--random-symmetric \(n) is not allowed: the matrix size must be an integer >= 1")
        }
        if (randomSymmetric == nil) == (landscape.landscape == nil) {
            throw ValidationError("give exactly one of --random-symmetric N or --landscape NAME")
        }
        if landscape.landscape != nil { _ = try point.point(on: landscape.make()) }
        if let k = top, k < 1 { throw ValidationError("--top \(k) is not allowed: need an integer >= 1") }
        if iterations < 1 { throw ValidationError("--iterations \(iterations) is not allowed: need an integer >= 1") }
        if repeats < 1 || repeats > 1000 { throw ValidationError("--repeat \(repeats) is not allowed: need an integer in 1...1000") }
        if probes < 1 { throw ValidationError("--probes \(probes) is not allowed: need an integer >= 1") }
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
            let (name, hessian) = try point.hessianOperator(on: landscape, dense: method == .dense)
            source = name
            op = hessian
        }
        var result: SpectrumOutput? = nil
        var times: [Double] = []
        OpenBLASCore.open(.lapacke)  // opened on first use: not inside the first timed run
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
            let slq = try stochasticLanczosQuadrature(op, iterations: iterations, runs: probes, seed: seed)
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
        return try JSONOutput.string(p) + "\n"
    }
}

/// Where `river spectrum --landscape` takes the Hessian: `--at` a point, or `--on-river X` (default 0).
struct LandscapePointOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("The point: d coordinates x,y1,... (negative values allowed).", valueName: "x,..."),
            transform: CommaList<Double>.parse)
    var at: CommaList<Double>?

    @Option(name: .customLong("on-river"), parsing: .unconditional,
            help: ArgumentHelp("The point on the river with river coordinate X (the default, X = 0), found by the river tracer.",
                               valueName: "x"))
    var onRiver: Double?

    func validate() throws {
        if at != nil && onRiver != nil { throw ValidationError("give at most one of --at and --on-river") }
    }

    /// The point where the Hessian is taken.
    func point(on l: any Landscape) throws -> [Double] {
        if let at {
            guard at.count == l.dimension, at.allSatisfy({ $0.isFinite }) else {
                throw ValidationError("--at '\(at)' must be \(l.dimension) comma-separated finite numbers (the dimension)")
            }
            return at.elements
        }
        // The river of the definition (RiverTracer relaxes the hill coordinates at x), started from the
        // closed-form point where there is one (for the curved valley that is the floor, slightly off).
        let x = onRiver ?? 0
        guard x.isFinite else { throw ValidationError("--on-river \(x) is not allowed: need a finite number") }
        let analytic = l.analyticRiverPoint(x: x)
        do {
            return try RiverTracer(l).riverPoint(x: x, guess: analytic)
        } catch {
            if let analytic { return analytic }
            throw ValidationError("--on-river \(x): no river point found (\(error)); give the point with --at")
        }
    }

    /// The Hessian at the chosen point: dense (analytic `hessian(at:)`) or as an HVP operator.
    func hessianOperator(on landscape: LandscapeOptions, dense: Bool) throws -> (String, any SymmetricOperator) {
        let l = try landscape.make()
        let w = try point(on: l)
        let name = "\(landscape.landscape?.rawValue ?? "") d=\(landscape.dim) at (\(w.prefix(4).map { String($0) }.joined(separator: ","))\(w.count > 4 ? ",..." : ""))"
        if dense { return (name, DenseOperator(try l.denseHessian(at: w))) }
        func hvp<L: Landscape>(_ l: L) -> any SymmetricOperator { LandscapeHessian(l, at: w) }
        return (name, hvp(l))
    }
}

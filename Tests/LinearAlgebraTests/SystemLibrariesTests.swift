import Foundation
import Testing
@testable import LinearAlgebra

/// The C libraries opened on first use (Sources/CSystemLibraries) and what spares a process from opening them.
@Suite struct SystemLibrariesTests {
    /// The loader's OPENBLAS_CORETYPE rule is scripts/env.sh's: SkylakeX where /proc/cpuinfo lists avx512f,
    /// Haswell where it lists avx2, none otherwise.
    @Test func recommendedCoreTypeFollowsTheScriptsRule() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ").map(String.init) } ?? [])
        let expected = flags.contains("avx512f") ? "SkylakeX" : flags.contains("avx2") ? "Haswell" : nil
        #expect(OpenBLASCore.recommendedCoreType() == expected)
        #expect(OpenBLASCore.threadTimeout == "4")
    }

    /// A BLAS call opens OpenBLAS, and OpenBLAS then runs the kernels the loader asked for.
    @Test func aBLASCallOpensOpenBLAS() {
        #expect(BLAS.dot([1, 2, 3], [4, 5, 6]) == 32)
        #expect(OpenBLASCore.isLoaded(.openBLAS))
        if let core = OpenBLASCore.recommendedCoreType(),
           ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map({ $0.lowercased() == core.lowercased() }) ?? true {
            #expect(BLAS.coreName.lowercased() == core.lowercased())
        }
    }

    /// OpenBLAS's sgemm on one and on two threads, on three GEMM shapes of a 0.86M training step (row-major: the
    /// forward x·Wᵀ with k = 128 and 344, and a weight gradient dyᵀ·x with k = 4096), operands uniform in [−1, 1]:
    /// the results agree to 1e-6 of the product's largest element; on the Haswell (AVX2) kernels their bits
    /// differ (docs/trainer-format.md, "What resumes bit for bit assumes"; checkpoints record the thread count).
    @Test func sgemmThreadCountChangesOnlyTheLastBits() {
        let rng = RandomSource(seed: 5)
        let shapes: [(transA: Bool, transB: Bool, m: Int, n: Int, k: Int)] = [
            (false, true, 4096, 384, 128), (false, true, 4096, 128, 344), (true, false, 128, 344, 4096),
        ]
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        var differing = 0
        for s in shapes {
            let a = (0..<(s.m * s.k)).map { _ in Float(2 * rng.uniform() - 1) }
            let b = (0..<(s.k * s.n)).map { _ in Float(2 * rng.uniform() - 1) }
            func product(threads: Int) -> [Float] {
                BLAS.setThreads(threads)
                var c = [Float](repeating: 0, count: s.m * s.n)
                BLAS.sgemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, a: a, lda: s.transA ? s.m : s.k,
                           b: b, ldb: s.transB ? s.k : s.n, beta: 0, c: &c, ldc: s.n)
                return c
            }
            let one = product(threads: 1), two = product(threads: 2)
            let largest = one.map(abs).max()!
            let worst = zip(one, two).map { abs($0 - $1) }.max()!
            let count = zip(one, two).filter { $0.bitPattern != $1.bitPattern }.count
            differing += count
            #expect(worst <= 1e-6 * largest, "\(s): 1 and 2 threads differ by \(worst), largest element \(largest)")
            print("sgemm \(s.transA ? "T" : "N")\(s.transB ? "T" : "N") \(s.m)×\(s.n)×\(s.k) on \(BLAS.coreName): "
                  + "1 and 2 threads differ in \(count) of \(one.count) elements, by at most \(worst / largest) of the largest")
        }
        if BLAS.coreName.lowercased() == "haswell" { #expect(differing > 0) }
    }

    /// `symmetricEigen` answers a diagonal matrix's eigenvalues without LAPACK: exactly what dsyevd returns,
    /// on 200 random diagonals (sizes 1–40; Gaussian entries scaled by 10^±60, with repeats and zeros).
    @Test func diagonalEigenvaluesEqualDsyevd() throws {
        let rng = RandomSource(seed: 11)
        for trial in 0..<200 {
            let n = 1 + trial % 40
            let scale = pow(10.0, Double(rng.int(below: 121) - 60))
            var a = Matrix(rows: n, cols: n)
            for i in 0..<n {
                switch rng.int(below: 6) {
                case 0: a[i, i] = 0
                case 1 where i > 0: a[i, i] = a[i - 1, i - 1]
                default: a[i, i] = scale * rng.gaussian()
                }
            }
            let shortcut = try #require(diagonalEigenvalues(a))
            let lapack = try dsyevd(a, vectors: false).values
            #expect(shortcut == lapack, "n = \(n), scale = \(scale)")
            #expect(try symmetricEigen(a, vectors: false).values == lapack)
        }
    }

    /// Not diagonal, or at a magnitude where dsyevd scales the matrix first: LAPACK answers.
    @Test func shortcutDeclinesOtherMatrices() {
        var a = Matrix(rows: 3, cols: 3, data: [1, 0, 0, 0, 2, 0, 0, 0, 3])
        #expect(diagonalEigenvalues(a) == [1, 2, 3])
        a[0, 2] = 1e-300; a[2, 0] = 1e-300
        #expect(diagonalEigenvalues(a) == nil)
        #expect(diagonalEigenvalues(Matrix(rows: 2, cols: 2, data: [1e150, 0, 0, 1])) == nil)
        #expect(diagonalEigenvalues(Matrix(rows: 2, cols: 2, data: [1e-150, 0, 0, 0])) == nil)
        #expect(diagonalEigenvalues(Matrix(rows: 2, cols: 2, data: [0, 0, 0, 0])) == [0, 0])
    }
}

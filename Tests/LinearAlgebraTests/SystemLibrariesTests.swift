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

import Bigram
import LinearAlgebra

/// Small seeded languages and points shared by the bigram tests.
enum Fixtures {
    /// V = 6 with every kind of context: deterministic, uniform-2, uniform-3, Dirichlet of entropy 1.
    static func mixed(seed: UInt64 = 7, v: Int = 6) throws -> BigramDistribution {
        try SyntheticBigramSpec(vocabularySize: v,
                                mix: [(.deterministic, 1), (.uniform(k: 2), 1), (.uniform(k: 3), 1), (.dirichlet(entropy: 1.0), 1)],
                                frequencies: .zipf(exponent: 1), seed: seed).generate()
    }

    static func randomVector(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
        let rng = RandomSource(seed: seed)
        return (0..<n).map { _ in scale * rng.gaussian() }
    }

    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        var num = 0.0, den = 0.0
        for (x, y) in zip(a, b) { num += (x - y) * (x - y); den += y * y }
        return (num / max(den, 1e-300)).squareRoot()
    }
}

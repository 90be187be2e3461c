import Foundation

/// The loss along the river, ℓ(x), of the built-in valleys.
public enum RiverProfile: Sendable, Equatable, Codable {
    /// ℓ(x) = −s·x: constant downhill slope s, no bottom (progress is exactly s·Σ η for GD).
    case linear(slope: Double)
    /// ℓ(x) = A·(1+x)^(−α) for x > −1: a loss-curve-like river that flattens out.
    case power(amplitude: Double, exponent: Double)

    /// ℓ(x).
    @inlinable public func value(_ x: Double) -> Double {
        switch self {
        case let .linear(s): return -s * x
        case let .power(a, alpha): return a * pow(1 + x, -alpha)
        }
    }

    /// ℓ′(x).
    @inlinable public func derivative(_ x: Double) -> Double {
        switch self {
        case let .linear(s): return -s
        case let .power(a, alpha): return -a * alpha * pow(1 + x, -alpha - 1)
        }
    }

    /// ℓ″(x).
    @inlinable public func secondDerivative(_ x: Double) -> Double {
        switch self {
        case .linear: return 0
        case let .power(a, alpha): return a * alpha * (alpha + 1) * pow(1 + x, -alpha - 2)
        }
    }

    /// Name used on the command line.
    public var name: String {
        switch self {
        case .linear: return "linear"
        case .power: return "power"
        }
    }
}

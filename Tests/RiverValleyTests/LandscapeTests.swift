import Foundation
import Testing
import RiverValley

/// Built-in landscapes: analytic derivatives against central finite differences, the catalog's validation.
@Suite struct LandscapeDerivativeTests {
    static func landscapes() throws -> [(String, any Landscape)] {
        [
            ("straight-linear", try LandscapeCatalog.make("straight-valley",
                LandscapeParameters(dimension: 4, hillCurvature: [2, 5, 9], riverSlope: 0.3))),
            ("straight-power", try LandscapeCatalog.make("straight-valley",
                LandscapeParameters(dimension: 3, hillCurvature: [4], riverProfile: "power", powerAmplitude: 2, powerExponent: 0.7))),
            ("curved", try LandscapeCatalog.make("curved-valley",
                LandscapeParameters(dimension: 3, hillCurvature: [10, 6], riverSlope: 0.5, amplitude: 1, wavenumber: 0.5))),
            ("curved-power", try LandscapeCatalog.make("curved-valley",
                LandscapeParameters(dimension: 2, hillCurvature: [10], riverProfile: "power", amplitude: 0.7, wavenumber: 1.3))),
            ("quadratic", try LandscapeCatalog.make("quadratic", LandscapeParameters(dimension: 3, hillCurvature: [1, 2, 3]))),
            ("quadratic-full", QuadraticLandscape(hessian: Matrix(rows: 2, cols: 2, data: [3, 1, 1, 2]))),
        ]
    }
    static let point: [Double] = [0.4, -0.3, 0.8, 0.25]

    /// Central differences with h = 1e-5 have error O(h²·L‴) + O(ε/h) ≈ 1e-9: tolerance 1e-7 relative.
    @Test func gradientMatchesCentralDifferences() throws {
        for (name, l) in try Self.landscapes() {
            let w = Array(Self.point.prefix(l.dimension))
            let g = l.gradient(at: w)
            for i in 0..<l.dimension {
                var p = w, m = w
                p[i] += 1e-5; m[i] -= 1e-5
                let fd = (l.value(at: p) - l.value(at: m)) / 2e-5
                #expect(abs(fd - g[i]) <= 1e-7 * max(1, abs(g[i])), "\(name) ∂\(i): \(g[i]) vs \(fd)")
            }
        }
    }

    /// Hessian columns vs central differences of the analytic gradient (tolerance 1e-7 relative), and
    /// the HVP vs the dense Hessian times v (1e-13).
    @Test func hessianAndHVPMatchDifferences() throws {
        for (name, l) in try Self.landscapes() {
            let d = l.dimension
            let w = Array(Self.point.prefix(d))
            let h = l.hessian(at: w)
            #expect(h.asymmetry == 0, "\(name) Hessian not symmetric")
            for j in 0..<d {
                var p = w, m = w
                p[j] += 1e-5; m[j] -= 1e-5
                let gp = l.gradient(at: p), gm = l.gradient(at: m)
                for i in 0..<d {
                    let fd = (gp[i] - gm[i]) / 2e-5
                    #expect(abs(fd - h[i, j]) <= 1e-7 * max(1, abs(h[i, j])), "\(name) H[\(i),\(j)]")
                }
            }
            let v = (0..<d).map { cos(Double($0) + 0.5) }
            let hv = l.hessianVectorProduct(at: w, v), dense = h.apply(v)
            for i in 0..<d { #expect(abs(hv[i] - dense[i]) <= 1e-13 * max(1, abs(dense[i])), "\(name) HVP[\(i)]") }
        }
    }

    /// The split adds up to L, and on the straight valley it is ℓ(x) + ½Σλy² by hand.
    @Test func splitAddsUpAndMatchesHandValues() throws {
        let l = try LandscapeCatalog.make("straight-valley", LandscapeParameters(dimension: 3, hillCurvature: [2, 8], riverSlope: 0.5))
        let s = try #require(l.analyticSplit(at: [3, 1, -0.5]))
        #expect(s.riverLoss == -1.5 && s.hillLoss == 0.5 * (2 + 8 * 0.25) && s.riverCoordinate == 3)
        #expect(abs(s.distance - 1.25.squareRoot()) < 1e-15)
        let c = try LandscapeCatalog.make("curved-valley", LandscapeParameters(dimension: 2, hillCurvature: [10]))
        let w: [Double] = [1.2, 0.1]
        let cs = try #require(c.analyticSplit(at: w))
        #expect(abs(cs.loss - c.value(at: w)) < 1e-14)
    }

    @Test func catalogRejectsBadValuesByName() {
        func message(_ name: String, _ p: LandscapeParameters) -> String {
            do { _ = try LandscapeCatalog.make(name, p); return "" } catch { return "\(error)" }
        }
        #expect(message("bumpy-valley", LandscapeParameters()).contains("straight-valley, curved-valley, quadratic"))
        #expect(message("straight-valley", LandscapeParameters(hillCurvature: [-1])).contains("-1.0"))
        #expect(message("straight-valley", LandscapeParameters(dimension: 4, hillCurvature: [1, 2])).contains("1 value or 3"))
        #expect(message("straight-valley", LandscapeParameters(riverProfile: "cubic")).contains("linear, power"))
        #expect(message("straight-valley", LandscapeParameters(dimension: 1)).contains("2...100000"))
        #expect(message("straight-valley", LandscapeParameters(riverSlope: .nan)).contains("slope"))
    }
}

/// The numerical river tracer against the analytic rivers.
@Suite struct LandscapeRiverTracerTests {
    /// Straight valleys: the river is exactly y = 0; traced points within 1e-9 of it, and the start
    /// (placed off the river) relaxes onto it.
    @Test(arguments: ["linear", "power"]) func straightValleyTraceIsTheAxis(_ profile: String) throws {
        let l = try LandscapeCatalog.make("straight-valley",
            LandscapeParameters(dimension: 4, hillCurvature: [3, 5, 11], riverProfile: profile, riverSlope: 0.2))
        let tracer = RiverTracer(l)
        let points = try tracer.trace(from: [0.5, 0.3, -0.2, 0.1], arcLength: 2, spacing: 0.25)
        #expect(points.count == 9)
        for p in points {
            let river = try #require(l.analyticRiverPoint(x: p[0]))
            for i in 1..<4 { #expect(abs(p[i] - river[i]) < 1e-9, "y\(i) = \(p[i]) at x = \(p[0])") }
        }
        // Downstream: x increases (both profiles descend in +x); spacing 0.25 of arc length.
        for k in 1..<points.count { #expect(abs(points[k][0] - points[k - 1][0] - 0.25) < 1e-6) }
    }

    /// Curved valley with a flat river (s = 0): every floor point satisfies the definition, so the
    /// traced river is the floor y = a·sin(kx) to 1e-8.
    @Test func curvedValleyFlatRiverIsTheFloor() throws {
        let l = try LandscapeCatalog.make("curved-valley",
            LandscapeParameters(dimension: 3, hillCurvature: [20], riverSlope: 0, amplitude: 1, wavenumber: 0.5))
        let tracer = RiverTracer(l)
        for x in stride(from: -2.0, through: 4.0, by: 0.75) {
            let p = try tracer.riverPoint(x: x, guess: [x, 0.3, -0.3])
            let floor = try #require(l.analyticRiverPoint(x: x))
            for i in 1..<3 { #expect(abs(p[i] - floor[i]) < 1e-8, "x = \(x)") }
        }
    }

    /// Curved valley with slope s: the definition's river sits off the floor by the first-order offset
    /// δ = ℓ′h′/(λ(1 + h′²)); with s/λ = 0.01 the second-order remainder is below 3% of |δ| + 1e-9.
    /// The traced points also satisfy the river condition (|r|/|∇L| < 1e-9).
    @Test func curvedValleyTraceMatchesFloorPlusOffset() throws {
        let lambda = 100.0, s = 1.0, a = 1.0, k = 0.5
        let l = try LandscapeCatalog.make("curved-valley",
            LandscapeParameters(dimension: 2, hillCurvature: [lambda], riverSlope: s, amplitude: a, wavenumber: k))
        let tracer = RiverTracer(l)
        let points = try tracer.trace(from: [-1, 0], arcLength: 6, spacing: 0.5)
        #expect(points.count == 13)
        for p in points {
            let x = p[0]
            let dh = a * k * cos(k * x)
            let delta = -s * dh / (lambda * (1 + dh * dh))
            let offset = p[1] - a * sin(k * x)
            #expect(abs(offset - delta) <= 0.03 * abs(delta) + 1e-9, "x = \(x): offset \(offset), first order \(delta)")
            let residual = try tracer.relativeResidual(at: p)
            #expect(residual < 1e-9)
        }
    }

    /// Projection: on the straight valley the numerical projection is (x, 0) and the numerical split
    /// equals the analytic one (1e-9); on the curved valley with s = 0 it equals the analytic
    /// nearest floor point (1e-7).
    @Test func numericalProjectionMatchesAnalytic() throws {
        let straight = try LandscapeCatalog.make("straight-valley", LandscapeParameters(dimension: 3, hillCurvature: [4, 9], riverSlope: 0.5))
        let w: [Double] = [0.7, 0.2, -0.1]
        let num = try RiverTracer(straight).split(at: w)
        let ana = try #require(straight.analyticSplit(at: w))
        #expect(abs(num.riverLoss - ana.riverLoss) < 1e-9 && abs(num.hillLoss - ana.hillLoss) < 1e-9)
        #expect(abs(num.distance - ana.distance) < 1e-9 && abs(num.riverCoordinate - ana.riverCoordinate) < 1e-9)

        let curved = try LandscapeCatalog.make("curved-valley", LandscapeParameters(dimension: 2, hillCurvature: [30], riverSlope: 0))
        let u: [Double] = [1.0, 0.9]
        let cn = try RiverTracer(curved).split(at: u)
        let ca = try #require(curved.analyticSplit(at: u))
        #expect(abs(cn.riverCoordinate - ca.riverCoordinate) < 1e-7 && abs(cn.distance - ca.distance) < 1e-7)
    }
}

import Foundation
import RiverValley
import Testing
@testable import Trainer

/// A misspelt key in a run or model config is an error naming its path and the nearest key (it used to be
/// ignored silently: `{"batchsize": 4, "schedule": {"warmpu": 2}}` trained with batch 16 and no warmup);
/// sizes that cannot be allocated are errors naming the value and the limit.
@Suite("Config keys and sizes")
struct ConfigKeyTests {
    func decode(_ json: String) throws -> RunConfig { try JSONDecoder().decode(RunConfig.self, from: Data(json.utf8)) }

    func unknownKey(_ json: String) -> UnknownKeyError? {
        do { _ = try decode(json); return nil } catch let e as UnknownKeyError { return e } catch { return nil }
    }

    @Test func misspeltKeysAtEveryLevelAreNamedWithTheNearestKey() {
        let cases: [(String, String, String)] = [
            (#"{"batchsize": 4, "schedule": {"warmup": 2}}"#, "batchsize", "batchSize"),
            (#"{"batchSize": 4, "schedule": {"warmpu": 2}}"#, "schedule.warmpu", "warmup"),
            (#"{"model": {"preset": "tiny", "widht": 32}}"#, "model.widht", "width"),
            (#"{"optimizer": {"bta2": 0.9}}"#, "optimizer.bta2", "beta2"),
            (#"{"data": {"corpsu": "x.txt"}}"#, "data.corpsu", "corpus"),
            (#"{"parent": {"run": "r", "step": 3, "stpe": 4}}"#, "parent.stpe", "step"),
        ]
        for (json, path, suggestion) in cases {
            let e = unknownKey(json)
            #expect(e?.path == path && e?.suggestion == suggestion, "\(json): \(String(describing: e))")
            #expect(e?.description.contains("did you mean '\(suggestion)'") == true)
        }
    }

    @Test func everyKeyTheEncoderWritesIsAccepted() throws {
        var c = RunConfig()
        c.parent = ParentRef(run: "r", step: 1)
        c.schedule.decay = 0.2
        c.schedule.cycles = [100]
        c.schedule.kind = .wsds
        let back = try JSONDecoder().decode(RunConfig.self, from: try c.json())
        #expect(back == c)
        let model = try JSONDecoder().decode(TransformerConfig.self, from: try JSONEncoder().encode(TransformerConfig.tiny))
        #expect(model == .tiny)
    }

    @Test func transformerConfigRejectsUnknownKeys() throws {
        var obj = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(TransformerConfig.tiny)) as! [String: Any]
        obj["layres"] = 3
        let data = try JSONSerialization.data(withJSONObject: obj)
        do {
            _ = try JSONDecoder().decode(TransformerConfig.self, from: data)
            Issue.record("an unknown model key was accepted")
        } catch let e as UnknownKeyError {
            #expect(e.key == "layres" && e.suggestion == "layers")
        }
    }

    @Test func selfDoublingBPEMergesAreRefused() {
        // Merge k joins token 255 + k with itself: 40 merges would make a 2⁴⁰-byte token.
        var doubling: [(Int32, Int32)] = [(0, 0)]
        for k in 0..<40 {
            let id = Int32(256 + k)
            doubling.append((id, id))
        }
        #expect(throws: DataError.self) { _ = try BPETokenizer(merges: doubling) }
        #expect(throws: Never.self) { _ = try BPETokenizer(merges: Array(doubling.prefix(10))) }   // 1 KiB token
    }

    @Test func hugeModelAndBatchSizesAreErrorsNotTraps() throws {
        for width in [Int.min, 2_147_483_648, Int.max] {
            var m = TransformerConfig.tiny
            m.width = width
            m.mlpHidden = TransformerConfig.llamaHidden(width: width)   // must not overflow either
            #expect(throws: TransformerConfigError.self) { try m.validate() }
        }
        var c = RunConfig()
        c.model = .tiny
        c.batchSize = Int.max
        do { try c.validate(); Issue.record("batchSize Int.max was accepted") } catch {
            #expect("\(error)".contains("\(Int.max)") && "\(error)".contains("half of physical memory"), "\(error)")
        }
        #expect(throws: Never.self) { try TransformerConfig.tiny.checkMemory(batchSize: 16) }
        // The estimate is at least the exact float count of parameters, gradients and two moments.
        #expect(TransformerConfig.tiny.memoryBytes(batchSize: 1) >= 16 * Double(Transformer.parameterCount(for: .tiny)))
    }

    @Test("memoryBytes is what a Transformer allocates (parameters, gradients, two moments, the activation arena) to within 1%, from one sequence to 32")
    func memoryEstimateMatchesAllocation() {
        for (config, batch) in [(TransformerConfig.tiny, 1), (.tiny, 16), (.small086M, 32), (.small3M, 2)] {
            let model = Transformer(config: config, batchSize: batch, seed: 0)
            let allocated = Double(16 * Transformer.parameterCount(for: config) + model.network.act.byteCount)
            let estimate = config.memoryBytes(batchSize: batch)
            #expect(abs(estimate / allocated - 1) < 0.01, "batch \(batch): estimate \(estimate) bytes, allocated \(allocated)")
        }
    }
}

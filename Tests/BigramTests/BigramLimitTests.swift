import Bigram
import Foundation
import LinearAlgebra
import RiverValley
import Testing

/// Vocabulary sizes, widths and batch sizes that cannot be allocated are errors naming the value and the
/// memory limit (they used to overflow `V·V`, fail to allocate, or segfault).
@Suite("Bigram size limits")
struct BigramLimitTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func hugeVocabulariesAreSizeErrors() throws {
        for v in [4_294_967_296, 4_611_686_018_427_387_904, Int.max] {
            let m = try #require(message {
                _ = try SyntheticBigramSpec(vocabularySize: v, mix: [(.deterministic, 1)]).generate()
            })
            #expect(m.contains("V = \(v)") && m.contains("half of physical memory"), "\(m)")
            #expect(throws: SizeLimitError.self) { _ = try TableBigram(vocabularySize: v) }
            #expect(throws: SizeLimitError.self) { _ = try FactorizedBigram(vocabularySize: v, width: 2) }
        }
    }

    @Test func hugeWidthIsASizeError() throws {
        let m = try #require(message { _ = try FactorizedBigram(vocabularySize: 64, width: 2_147_483_648) })
        #expect(m.contains("d = 2147483648"), "\(m)")
        #expect(throws: Never.self) { _ = try FactorizedBigram(vocabularySize: 64, width: 16) }
    }

    @Test func hugeMinibatchIsASizeError() throws {
        let d = try SyntheticBigramSpec(vocabularySize: 4, mix: [(.deterministic, 1)]).generate()
        let m = try TableBigram(vocabularySize: 4)
        let obj = try BigramObjective(model: m, data: d)
        #expect(throws: SizeLimitError.self) {
            _ = try BigramTrainer(objective: obj, initial: m.zeros(), optimizer: OptimizerHyperparameters(algorithm: .sgd),
                                  batchSize: 4_294_967_296, seed: 0)
        }
    }
}

/// The one-line JSON that `river train` and `river branch` print when a run stops:
/// `{"loss": …, "run": "DIR", "step": N, "val_loss": …}`. `loss` is the last training step's loss and
/// `val_loss` the last validation loss; each is `null` when the run has none yet (or it is not finite).
struct RunSummary: Encodable {
    var run: String
    var step: Int
    var loss: Double?
    var valLoss: Double?

    enum CodingKeys: String, CodingKey { case run, step, loss, valLoss }

    /// Writes every key, `null` for an absent value (synthesised `Encodable` would drop the key).
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(run, forKey: .run)
        try c.encode(step, forKey: .step)
        try c.encode(loss, forKey: .loss)
        try c.encode(valLoss, forKey: .valLoss)
    }
}

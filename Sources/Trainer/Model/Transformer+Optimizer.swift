import RiverValley

extension Transformer {
    /// Optimizer groups in nanoGPT's convention: weight decay on every matrix (embeddings and linear
    /// weights), none on the RMSNorm gains (1-D tensors). Adjacent tensors of one kind are merged.
    public func parameterGroups(weightDecay: Double) -> [ParameterGroup] {
        var groups: [ParameterGroup] = []
        for t in tensors {
            let wd = t.shape.count >= 2 ? weightDecay : 0
            let r = t.offset..<(t.offset + t.count)
            if let last = groups.last, last.weightDecay == wd, last.range.upperBound == r.lowerBound {
                groups[groups.count - 1].range = last.range.lowerBound..<r.upperBound
            } else {
                groups.append(ParameterGroup(range: r, weightDecay: wd))
            }
        }
        return groups
    }
}

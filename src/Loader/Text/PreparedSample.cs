namespace NanoVlm.Loader.Text;

/// <summary>
/// A view of the last sample a <see cref="SamplePreparer"/> prepared: spans over its pooled buffers, valid until
/// the next call on that preparer.
/// </summary>
public readonly ref struct PreparedSample
{
    internal PreparedSample(ReadOnlySpan<int> inputIds, ReadOnlySpan<byte> lossMask, ReadOnlySpan<int> labels, int images)
    {
        InputIds = inputIds;
        LossMask = lossMask;
        Labels = labels;
        Images = images;
    }

    /// <summary>Token ids of the templated conversation (no BOS/EOS).</summary>
    public ReadOnlySpan<int> InputIds { get; }

    /// <summary>1 on assistant content + its <c>&lt;|im_end|&gt;</c> + trailing newline, else 0.</summary>
    public ReadOnlySpan<byte> LossMask { get; }

    /// <summary>labels[i] = mask[i+1] ? ids[i+1] : −100; the last is −100.</summary>
    public ReadOnlySpan<int> Labels { get; }

    /// <summary>Tokens.</summary>
    public int Length => InputIds.Length;

    /// <summary>Images.</summary>
    public int Images { get; }

    /// <summary>Writes the sample into caller-provided spans (e.g. a pinned slab), each at least <see cref="Length"/>
    /// long; attention mask = 1 everywhere. Pass an empty span to skip an output.</summary>
    public void CopyTo(Span<int> inputIds, Span<byte> attentionMask, Span<int> labels, Span<byte> lossMask = default)
    {
        if (!inputIds.IsEmpty) InputIds.CopyTo(inputIds);
        if (!attentionMask.IsEmpty) attentionMask[..Length].Fill(1);
        if (!labels.IsEmpty) Labels.CopyTo(labels);
        if (!lossMask.IsEmpty) LossMask.CopyTo(lossMask);
    }
}

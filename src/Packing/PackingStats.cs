namespace NanoVlm.Packing;

/// <summary>How well a set of packs uses its sequences.</summary>
/// <param name="Items">Samples packed.</param>
/// <param name="Packs">Packs (sequences) produced.</param>
/// <param name="Tokens">Tokens packed, per-sample pad tokens included.</param>
/// <param name="Images">Images packed.</param>
/// <param name="SequenceLength">Tokens per sequence, the L of every ratio.</param>
/// <param name="MaxImagesInPack">The most images any one pack holds.</param>
/// <param name="MinPackTokens">Tokens of the emptiest pack (0 when there are no packs).</param>
public readonly record struct PackingStats(
    long Items, long Packs, long Tokens, long Images, int SequenceLength, int MaxImagesInPack, int MinPackTokens)
{
    /// <summary>Packed tokens over sequence capacity, <c>Tokens / (Packs · L)</c>; 0 without packs.</summary>
    public double Fill => Packs == 0 ? 0 : (double)Tokens / ((double)Packs * SequenceLength);

    /// <summary>Share of sequence positions left as tail padding, <c>1 − Fill</c> (0 without packs).</summary>
    public double PaddingRatio => Packs == 0 ? 0 : 1 - Fill;

    /// <summary>Mean images per pack.</summary>
    public double ImagesPerPack => Packs == 0 ? 0 : (double)Images / Packs;

    /// <summary>No packing can use fewer sequences than <c>ceil(Tokens / L)</c>.</summary>
    public long LowerBound => (Tokens + SequenceLength - 1) / SequenceLength;

    /// <summary><c>Packs / LowerBound</c>: 1.0 is optimal by length (1 when there is nothing to pack).</summary>
    public double PacksOverLowerBound => LowerBound == 0 ? 1 : (double)Packs / LowerBound;

    /// <summary>Stats of a plan written by <see cref="PackPlanner.Plan"/>.</summary>
    /// <param name="shapes">The planned samples.</param>
    /// <param name="members">The plan's members.</param>
    /// <param name="packStarts">The plan's pack offsets.</param>
    /// <param name="packs">The pack count <see cref="PackPlanner.Plan"/> returned.</param>
    /// <param name="sequenceLength">Tokens per sequence.</param>
    public static PackingStats FromPlan(ReadOnlySpan<SampleShape> shapes, ReadOnlySpan<int> members,
        ReadOnlySpan<int> packStarts, int packs, int sequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        long tokens = 0, images = 0, items = 0;
        int maxImages = 0, minTokens = packs == 0 ? 0 : int.MaxValue;
        for (var p = 0; p < packs; p++)
        {
            int t = 0, im = 0;
            foreach (var i in members[packStarts[p]..packStarts[p + 1]])
            {
                t += shapes[i].Length;
                im += shapes[i].Images;
                items++;
            }
            tokens += t;
            images += im;
            maxImages = Math.Max(maxImages, im);
            minTokens = Math.Min(minTokens, t);
        }
        return new PackingStats(items, packs, tokens, images, sequenceLength, maxImages, minTokens);
    }

    /// <summary>Stats of packs given as groups of samples (for example a streaming run).</summary>
    /// <param name="packTokens">Tokens per pack.</param>
    /// <param name="packImages">Images per pack.</param>
    /// <param name="items">Samples in all packs.</param>
    /// <param name="sequenceLength">Tokens per sequence.</param>
    public static PackingStats FromPacks(ReadOnlySpan<int> packTokens, ReadOnlySpan<int> packImages, long items,
        int sequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        if (packImages.Length != packTokens.Length)
            throw new ArgumentException("packImages and packTokens differ in length.", nameof(packImages));
        long tokens = 0, images = 0;
        int maxImages = 0, minTokens = packTokens.Length == 0 ? 0 : int.MaxValue;
        for (var p = 0; p < packTokens.Length; p++)
        {
            tokens += packTokens[p];
            images += packImages[p];
            maxImages = Math.Max(maxImages, packImages[p]);
            minTokens = Math.Min(minTokens, packTokens[p]);
        }
        return new PackingStats(items, packTokens.Length, tokens, images, sequenceLength, maxImages, minTokens);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Items} items -> {Packs} packs (lower bound {LowerBound}, x{PacksOverLowerBound:F3}), fill {Fill:P2}, " +
        $"{ImagesPerPack:F2} images/pack (max {MaxImagesInPack})";
}

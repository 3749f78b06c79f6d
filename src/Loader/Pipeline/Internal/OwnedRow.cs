using System.Buffers;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>A row read from a source, its image bytes copied into pooled arrays (the row's buffers are reused).</summary>
internal sealed class OwnedRow
{
    public required int SourceIndex { get; init; }
    public required Sources.SourceRow Row { get; init; }
    public required byte[][] ImageBuffers { get; init; }
    public required int[] ImageLengths { get; init; }

    /// <summary>The read stage right after this row: its source's position, the mixture's random state and which
    /// sources had ended (a shared snapshot, replaced when a source ends) — what a <see cref="LoaderState"/> saved
    /// after consuming this row records.</summary>
    public SourcePosition After { get; init; }

    public ulong MixtureRandom { get; init; }

    public bool[] Ended { get; init; } = [];

    public static OwnedRow Copy(int source, Sources.SourceRow row, SourcePosition after = default, ulong mixtureRandom = 0,
        bool[]? ended = null)
    {
        var (buffers, lengths) = Own(row.Images);
        return new OwnedRow
        {
            SourceIndex = source, Row = row, ImageBuffers = buffers, ImageLengths = lengths,
            After = after, MixtureRandom = mixtureRandom, Ended = ended ?? [],
        };
    }

    /// <summary>A copy with its own image buffers (a row that occurs twice, e.g. in two epochs, is owned twice).</summary>
    public OwnedRow Clone()
    {
        var (buffers, lengths) = Own([.. ImageBuffers.Select((b, i) => (ReadOnlyMemory<byte>)b.AsMemory(0, ImageLengths[i]))]);
        return new OwnedRow
        {
            SourceIndex = SourceIndex, Row = Row, ImageBuffers = buffers, ImageLengths = lengths,
            After = After, MixtureRandom = MixtureRandom, Ended = Ended,
        };
    }

    private static (byte[][] Buffers, int[] Lengths) Own(IReadOnlyList<ReadOnlyMemory<byte>> images)
    {
        var buffers = new byte[images.Count][];
        var lengths = new int[images.Count];
        for (var i = 0; i < buffers.Length; i++)
        {
            var src = images[i].Span;
            buffers[i] = ArrayPool<byte>.Shared.Rent(Math.Max(1, src.Length));
            src.CopyTo(buffers[i]);
            lengths[i] = src.Length;
        }
        return (buffers, lengths);
    }

    public ReadOnlySpan<byte> Image(int i) => ImageBuffers[i].AsSpan(0, ImageLengths[i]);

    /// <summary>The name image <paramref name="i"/> goes by in messages; built only when one is needed.</summary>
    public string ImageName(int i) => $"{Row.ShardName} row {Row.Position.Row} image {i}";

    /// <summary>What the stages pass to the image path as the image's name: a failure is renamed with
    /// <see cref="ImageName"/> where it is caught, so that images that decode fine cost no string.</summary>
    public const string UnnamedImage = "image";

    public long ImageBytes
    {
        get
        {
            long n = 0;
            foreach (var l in ImageLengths) n += l;
            return n;
        }
    }

    public void ReturnBuffers()
    {
        for (var i = 0; i < ImageBuffers.Length; i++)
        {
            if (ImageBuffers[i] is { Length: > 0 } b) ArrayPool<byte>.Shared.Return(b);
            ImageBuffers[i] = [];
        }
    }
}

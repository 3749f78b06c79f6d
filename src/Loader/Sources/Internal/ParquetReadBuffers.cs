using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// Everything managed that a <see cref="ParquetShardReader"/> reuses: the decoded columns of a row group and the one
/// row it hands out (with its text sample and lists). Kept by <see cref="ParquetRowSource"/> from one enumeration to
/// the next, so that reading shard after shard does not grow a fresh set of buffers (the text buffer alone is a row
/// group's worth of characters). The image bytes' native buffer is not kept: it is freed when an enumeration ends, so
/// that a slice read after that throws instead of showing another shard's bytes.
/// </summary>
internal sealed class ParquetReadBuffers
{
    public ColumnScratch Scratch { get; } = new();

    public TextColumn User { get; } = new();

    public TextColumn Assistant { get; } = new();

    public StringColumn Source { get; } = new();

    public LeveledColumn Images { get; } = new();

    /// <summary>The four rating columns, in <see cref="FineVisionParquetBinding.RatingColumns"/> order.</summary>
    public IntegerColumn[] Ratings { get; } = [new(), new(), new(), new()];

    /// <summary>Each image value's offset in the native buffer and its length.</summary>
    public long[] ImageOffsets { get; private set; } = [];

    public int[] ImageLengths { get; private set; } = [];

    public SourceRow Row { get; } = SourceRow.Reusable();

    public List<ChatTurn> Turns { get; } = [];

    public List<ReadOnlyMemory<byte>> ImageList { get; } = [];

    /// <summary>The row's rating lists, in <see cref="Ratings"/> order.</summary>
    public List<long?>[] RatingLists { get; } = [[], [], [], []];

    public void GrowImages(int n)
    {
        if (ImageOffsets.Length >= n) return;
        ImageOffsets = new long[Math.Max(n, 2 * ImageOffsets.Length)];
        ImageLengths = new int[ImageOffsets.Length];
    }
}

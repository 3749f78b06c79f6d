namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// A candidate merge of the symbol at <see cref="Position"/> with its right neighbour into <see cref="NewId"/>, popped
/// as Rust tokenizers' <c>Merge</c> orders its <c>BinaryHeap</c>: lowest rank first, then leftmost.
/// </summary>
internal readonly struct BpeMerge(int rank, int position, int newId) : IHeapOrder<BpeMerge>
{
    // Rank and position in one key: one comparison orders both.
    private readonly long _key = ((long)rank << 32) | (uint)position;

    public int Position => (int)(uint)_key;

    public int NewId { get; } = newId;

    public static bool Before(in BpeMerge a, in BpeMerge b) => a._key < b._key;
}

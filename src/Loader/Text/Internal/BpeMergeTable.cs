using System.Runtime.CompilerServices;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// A BPE model's merges: the pair of token ids → (rank, id of the merged token), Rust tokenizers' <c>MergeMap</c>.
/// Open addressing with linear probing over one array of 16-byte entries (one cache line per probe), sized at load
/// so a lookup never allocates. A pair listed twice keeps its last rank, as Rust's <c>collect</c> into a
/// <c>HashMap</c> does.
/// </summary>
internal sealed class BpeMergeTable
{
    private struct Entry
    {
        public long Key; // (a << 32) | b; -1 = empty
        public int Rank;
        public int NewId;
    }

    private readonly Entry[] _entries;
    private readonly int _shift;

    public BpeMergeTable(int capacityHint)
    {
        int size = 16;
        while (size < capacityHint + capacityHint / 3 + 1) size <<= 1;
        _entries = new Entry[size];
        _entries.AsSpan().Fill(new Entry { Key = -1 });
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)size);
    }

    public int Count { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(long key) => (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15)) >> _shift);

    /// <summary>Sets the merge of <paramref name="a"/> then <paramref name="b"/> (a later call for the same pair wins).</summary>
    public void Set(int a, int b, int rank, int newId)
    {
        if (Count + 1 > _entries.Length * 3 / 4) throw new InvalidOperationException("BpeMergeTable is full: the capacity hint was too small.");
        long key = Key(a, b);
        int mask = _entries.Length - 1;
        for (int i = Slot(key); ; i = (i + 1) & mask)
        {
            ref var e = ref _entries[i];
            if (e.Key == key || e.Key < 0)
            {
                if (e.Key < 0) Count++;
                e.Key = key;
                e.Rank = rank;
                e.NewId = newId;
                return;
            }
        }
    }

    /// <summary>The merge of <paramref name="a"/> then <paramref name="b"/>, if the model has one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(int a, int b, out int rank, out int newId)
    {
        long key = Key(a, b);
        var entries = _entries;
        int mask = entries.Length - 1;
        for (int i = Slot(key); ; i = (i + 1) & mask)
        {
            ref var e = ref entries[i];
            if (e.Key == key)
            {
                rank = e.Rank;
                newId = e.NewId;
                return true;
            }
            if (e.Key < 0)
            {
                rank = newId = 0;
                return false;
            }
        }
    }
}

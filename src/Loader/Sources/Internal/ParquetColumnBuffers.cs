using ParquetSharp;

namespace NanoVlm.Loader.Sources.Internal;

// The reused per-column buffers of ParquetShardReader: one row group's decoded values, kept from one row group to
// the next so that a steady read allocates only what its rows hand on.

/// <summary>Level and value buffers shared by the columns of a reader (one column is read at a time).</summary>
internal sealed class ColumnScratch
{
    private ByteArray[] _byteArrays = [];
    private long[] _longs = [];
    private int[] _ints = [];

    public short[] Definition { get; private set; } = [];

    public short[] Repetition { get; private set; } = [];

    public void GrowLevels(int n)
    {
        if (Definition.Length >= n) return;
        Definition = new short[n];
        Repetition = new short[n];
    }

    public T[] Values<T>(int n) where T : unmanaged
    {
        if (typeof(T) == typeof(ByteArray)) return (T[])(object)Grow(ref _byteArrays, n);
        if (typeof(T) == typeof(long)) return (T[])(object)Grow(ref _longs, n);
        return (T[])(object)Grow(ref _ints, n);
    }

    private static TArray[] Grow<TArray>(ref TArray[] array, int n) =>
        array.Length >= n ? array : array = new TArray[Math.Max(n, 2 * array.Length)];
}

/// <summary>A UTF-8 column decoded to strings; a value equal to the previous one reuses its string (a shard's
/// <c>source</c> is usually one value, dictionary-encoded).</summary>
internal sealed class StringColumn
{
    private byte[] _lastBytes = new byte[64];
    private int _lastLength = -1;
    private string _last = "";

    public LeveledColumn Levels { get; } = new();

    public string?[] Values { get; private set; } = [];

    public string? At(int row, int k) => Levels.ValueAt(row, k) is var v and >= 0 ? Values[v] : null;

    public void Grow(int n)
    {
        if (Values.Length < n) Values = new string?[Math.Max(n, 2 * Values.Length)];
    }

    /// <summary>The bytes of a value, valid while Arrow's page buffer is.</summary>
    public static unsafe ReadOnlySpan<byte> Bytes(ByteArray value) =>
        value.Length == 0 ? default : new ReadOnlySpan<byte>((void*)value.Pointer, value.Length);

    public string Decode(ByteArray value)
    {
        var bytes = Bytes(value);
        if (bytes.Length == _lastLength && bytes.SequenceEqual(_lastBytes.AsSpan(0, _lastLength))) return _last;
        _last = System.Text.Encoding.UTF8.GetString(bytes);
        if (bytes.Length <= 4096)
        {
            if (_lastBytes.Length < bytes.Length) _lastBytes = new byte[Math.Max(bytes.Length, 2 * _lastBytes.Length)];
            bytes.CopyTo(_lastBytes);
            _lastLength = bytes.Length;
        }
        else
        {
            _lastLength = -1;
        }
        return _last;
    }
}

/// <summary>An integer list column widened to int64.</summary>
internal sealed class IntegerColumn
{
    public LeveledColumn Levels { get; } = new();

    public long[] Values { get; private set; } = [];

    public void Grow(int n)
    {
        if (Values.Length < n) Values = new long[Math.Max(n, 2 * Values.Length)];
    }
}

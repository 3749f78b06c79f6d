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

/// <summary>A UTF-8 list column (the turn texts) decoded into one reused char buffer per row group: the rows hand out
/// slices of it, so a steady read makes no string. Invalid UTF-8 becomes U+FFFD, as <see cref="System.Text.Encoding.UTF8"/>'s
/// <c>GetString</c> does.</summary>
internal sealed class TextColumn
{
    private char[] _chars = new char[4096];
    private int _used;
    private int[] _start = [], _length = [];

    public LeveledColumn Levels { get; } = new();

    /// <summary>Element <paramref name="k"/> of row <paramref name="row"/>; empty where it is null.</summary>
    public ReadOnlyMemory<char> At(int row, int k) =>
        Levels.ValueAt(row, k) is var v and >= 0 ? new ReadOnlyMemory<char>(_chars, _start[v], _length[v]) : default;

    /// <summary>Forgets the previous row group's texts; <paramref name="n"/> values follow.</summary>
    public void Begin(int n)
    {
        if (_start.Length < n)
        {
            _start = new int[Math.Max(n, 2 * _start.Length)];
            _length = new int[_start.Length];
        }
        _used = 0;
    }

    /// <summary>Decodes value number <paramref name="at"/> of the row group.</summary>
    /// <exception cref="InvalidDataException">The row group's texts pass 2 GiB characters.</exception>
    public void Decode(int at, ByteArray value)
    {
        var bytes = StringColumn.Bytes(value);
        // UTF-8 never decodes to more UTF-16 units than it has bytes (an invalid byte becomes at most one U+FFFD).
        var needed = (long)_used + bytes.Length;
        if (needed > Array.MaxLength)
            throw new InvalidDataException($"more than {Array.MaxLength} characters of text in one row group");
        if (needed > _chars.Length)
        {
            var grown = new char[Math.Min(Array.MaxLength, Math.Max(needed, 2L * _chars.Length))];
            _chars.AsSpan(0, _used).CopyTo(grown);
            _chars = grown;
        }
        var n = System.Text.Encoding.UTF8.GetChars(bytes, _chars.AsSpan(_used));
        _start[at] = _used;
        _length[at] = n;
        _used += n;
    }
}

/// <summary>A UTF-8 column decoded to strings (the <c>source</c>): a value equal to one of the last few distinct values
/// reuses its string (a shard's <c>source</c> is one value or a handful, dictionary-encoded), so a steady read makes
/// none.</summary>
internal sealed class StringColumn
{
    // Recently decoded values (bytes and string), replaced round-robin; values over MaxCachedBytes are not cached.
    private const int CacheSize = 16, MaxCachedBytes = 1024;
    private readonly byte[][] _keys = new byte[CacheSize][];
    private readonly int[] _keyLengths = new int[CacheSize];
    private readonly string[] _strings = new string[CacheSize];
    private int _cached, _next;

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
        for (var i = 0; i < _cached; i++)
            if (_keyLengths[i] == bytes.Length && bytes.SequenceEqual(_keys[i].AsSpan(0, bytes.Length))) return _strings[i];
        var decoded = System.Text.Encoding.UTF8.GetString(bytes);
        if (bytes.Length <= MaxCachedBytes)
        {
            var slot = _next;
            _next = (_next + 1) % CacheSize;
            _cached = Math.Max(_cached, slot + 1);
            if (_keys[slot] is not { } key || key.Length < bytes.Length) _keys[slot] = key = new byte[Math.Max(64, bytes.Length)];
            bytes.CopyTo(key);
            _keyLengths[slot] = bytes.Length;
            _strings[slot] = decoded;
        }
        return decoded;
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

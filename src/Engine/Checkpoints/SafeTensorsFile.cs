using System.IO.MemoryMappedFiles;
using System.Text.Json;
using NanoVlm.Engine.Internal;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Checkpoints;

/// <summary>
/// A safetensors file opened for reading, memory-mapped: the header is parsed and checked up front (every entry's
/// dtype, shape and byte range, the ranges inside the file and not overlapping), and <see cref="View"/> gives a
/// libtorch tensor over the mapped bytes, so loading copies each tensor once, from the page cache into its parameter,
/// with no managed copy of the weights.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    // A header larger than this is not a safetensors header (the Rust reader's own limit is 100 MB).
    private const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly unsafe byte* _base;
    private readonly long _dataStart;
    private readonly Dictionary<string, Entry> _entries;

    /// <summary>One tensor's header entry.</summary>
    /// <param name="DType">safetensors dtype name (F32, BF16, …).</param>
    /// <param name="Shape">Shape.</param>
    /// <param name="Begin">Start of its bytes, relative to the data section.</param>
    /// <param name="End">End of its bytes (exclusive).</param>
    public sealed record Entry(string DType, long[] Shape, long Begin, long End);

    private unsafe SafeTensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, long dataStart,
        Dictionary<string, Entry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _dataStart = dataStart;
        _entries = entries;
        Metadata = metadata;
        if (view is not null)
        {
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _base = p + view.PointerOffset;
        }
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> (empty if none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names and entries.</summary>
    public IReadOnlyDictionary<string, Entry> Tensors => _entries;

    /// <summary>Opens and checks <paramref name="path"/>.</summary>
    /// <param name="path">A .safetensors file.</param>
    /// <returns>The open file (dispose it after the last <see cref="View"/> is disposed).</returns>
    /// <exception cref="InvalidDataException">The file is truncated or its header is corrupt; the message names the
    /// file, the byte offset and the tensor.</exception>
    public static SafeTensorsFile Open(string path)
    {
        long length;
        byte[] header;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            length = fs.Length;
            if (length < 8)
                throw new InvalidDataException($"{path}: truncated safetensors file ({length} bytes; the 8-byte header length is missing).");
            Span<byte> prefix = stackalloc byte[8];
            fs.ReadExactly(prefix);
            long n = BitConverter.ToInt64(prefix);
            if (n <= 1 || n > MaxHeaderBytes)
                throw new InvalidDataException($"{path}: not a safetensors file (header length {n} at offset 0).");
            if (8 + n > length)
                throw new InvalidDataException($"{path}: truncated safetensors file: the header needs bytes 8..{8 + n} but the file has {length}.");
            header = new byte[n];
            fs.ReadExactly(header);
        }
        long dataStart = 8 + header.Length;
        var (entries, metadata) = ParseHeader(path, header, dataStart, length - dataStart);
        if (length == dataStart || entries.Count == 0)
            return new SafeTensorsFile(path, null, null, dataStart, entries, metadata);
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        return new SafeTensorsFile(path, map, view, dataStart, entries, metadata);
    }

    /// <summary>A CPU tensor over the mapped bytes of <paramref name="name"/> (no copy; read-only memory — copy it
    /// into a parameter, do not write to it). Valid until this file is disposed.</summary>
    /// <param name="name">Tensor name.</param>
    /// <returns>The view.</returns>
    public unsafe Tensor View(string name)
    {
        var e = _entries[name];
        if (!SafeTensorsDType.TryGet(e.DType, out var type, out _))
            throw new InvalidDataException($"{Path}: tensor '{name}' has dtype {e.DType}, which this reader cannot turn into a tensor.");
        if (e.End == e.Begin)
            return zeros(e.Shape, type);
        return NativeTensor.FromBlob((IntPtr)(_base + _dataStart + e.Begin), type, e.Shape);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }

    private static (Dictionary<string, Entry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataStart, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header.AsMemory().TrimEnd((byte)' ')); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: corrupt safetensors header (bytes 8..{8 + header.Length}): {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: corrupt safetensors header: expected a JSON object.");
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object)
                        throw new InvalidDataException($"{path}: corrupt safetensors header: __metadata__ is not an object.");
                    foreach (var m in p.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                entries[p.Name] = ParseEntry(path, p.Name, p.Value, dataStart, dataLength);
            }
            // Ranges must not overlap (the format has them contiguous; overlapping ranges mean a corrupt header).
            var sorted = entries.OrderBy(kv => kv.Value.Begin).ThenBy(kv => kv.Value.End).ToList();
            for (int i = 1; i < sorted.Count; i++)
                if (sorted[i].Value.Begin < sorted[i - 1].Value.End)
                    throw new InvalidDataException(
                        $"{path}: corrupt safetensors header: tensors '{sorted[i - 1].Key}' and '{sorted[i].Key}' overlap at data offset {sorted[i].Value.Begin}.");
            return (entries, metadata);
        }
    }

    private static Entry ParseEntry(string path, string name, JsonElement v, long dataStart, long dataLength)
    {
        try
        {
            string dtype = v.GetProperty("dtype").GetString() ?? throw new InvalidDataException("dtype is null");
            long[] shape = [.. v.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];
            var offsets = v.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offsets.Length != 2) throw new InvalidDataException("data_offsets must have two entries");
            if (shape.Any(d => d < 0)) throw new InvalidDataException($"negative dimension in shape [{string.Join(", ", shape)}]");
            long begin = offsets[0], end = offsets[1];
            if (begin < 0 || end < begin) throw new InvalidDataException($"bad data_offsets [{begin}, {end}]");
            if (SafeTensorsDType.TryGet(dtype, out _, out int size))
            {
                long numel = 1;
                foreach (long d in shape) numel = checked(numel * d);
                if (checked(numel * size) != end - begin)
                    throw new InvalidDataException($"shape [{string.Join(", ", shape)}] of {dtype} needs {numel * size} bytes but data_offsets give {end - begin}");
            }
            if (end > dataLength)
                throw new InvalidDataException(
                    $"the file is truncated: the tensor's bytes end at file offset {dataStart + end} but the file has {dataStart + dataLength} bytes");
            return new Entry(dtype, shape, begin, end);
        }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or OverflowException or InvalidDataException)
        {
            throw new InvalidDataException($"{path}: tensor '{name}': {e.Message}", e);
        }
    }
}

using System.Text;

namespace NanoVlm.SampleData;

/// <summary>
/// Writes samples as a WebDataset tar shard (POSIX ustar): per sample <c>KEY.json</c> (texts, ratings, source) then
/// <c>KEY.jpg</c> for one image or <c>KEY.0.jpg</c>, <c>KEY.1.png</c>, ... for several; the key is the row index.
/// </summary>
internal sealed class WebDatasetShardWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly byte[] _header = new byte[512];

    public WebDatasetShardWriter(string path) => _file = File.Create(path);

    public void Write(SyntheticSample sample)
    {
        var key = $"{sample.Index:D7}";
        Member($"{key}.json", SampleRecordJson.ToUtf8(sample, imagePaths: null));
        for (var i = 0; i < sample.Images.Count; i++)
        {
            var image = sample.Images[i];
            Member(sample.Images.Count == 1 ? $"{key}.{image.Extension}" : $"{key}.{i}.{image.Extension}", image.Encoded);
        }
    }

    private void Member(string name, byte[] data)
    {
        var h = _header;
        Array.Clear(h);
        Encoding.ASCII.GetBytes(name, h.AsSpan(0, 100));
        Octal(h.AsSpan(100, 8), 0x1A4);      // mode 0644
        Octal(h.AsSpan(108, 8), 0);          // uid
        Octal(h.AsSpan(116, 8), 0);          // gid
        Octal(h.AsSpan(124, 12), data.Length);
        Octal(h.AsSpan(136, 12), 0);         // mtime 0: deterministic files
        h[156] = (byte)'0';
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        h.AsSpan(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in h) sum += b;
        Octal(h.AsSpan(148, 7), sum);
        h[155] = (byte)' ';
        _file.Write(h);
        _file.Write(data);
        var pad = (512 - data.Length % 512) % 512;
        if (pad > 0) _file.Write(new byte[pad]);
    }

    // NUL-terminated, zero-padded octal in a field of the given width.
    private static void Octal(Span<byte> field, long value)
    {
        var digits = Convert.ToString(value, 8).PadLeft(field.Length - 1, '0');
        Encoding.ASCII.GetBytes(digits, field);
        field[^1] = 0;
    }

    public void Dispose()
    {
        // End of archive: two zero blocks.
        _file.Write(new byte[1024]);
        _file.Dispose();
    }
}

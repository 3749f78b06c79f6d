using System.Text;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>One parsed 512-byte tar header (POSIX ustar / GNU / v7).</summary>
/// <param name="Name">Member path (ustar prefix joined with the name).</param>
/// <param name="Size">Data size in bytes.</param>
/// <param name="Type">Type flag ('0' or NUL regular file, '5' directory, 'L' GNU long name, 'x' pax header, ...).</param>
internal readonly record struct TarHeader(string Name, long Size, byte Type)
{
    /// <summary>Block size of the tar format.</summary>
    public const int Block = 512;

    /// <summary>True for a regular file member.</summary>
    public bool IsFile => Type is (byte)'0' or 0 or (byte)'7';

    /// <summary>Data size rounded up to whole blocks.</summary>
    public long PaddedSize => (Size + Block - 1) / Block * Block;

    /// <summary>True when the block is all zeros (end-of-archive marker).</summary>
    public static bool IsZeroBlock(ReadOnlySpan<byte> block) => !block.ContainsAnyExcept((byte)0);

    /// <summary>Parses a header block, or returns null with <paramref name="error"/> when it is not a valid header.</summary>
    public static TarHeader? Parse(ReadOnlySpan<byte> h, out string? error)
    {
        error = null;
        // The checksum is the sum of all header bytes with the checksum field counted as spaces.
        long sum = 0;
        for (var i = 0; i < Block; i++) sum += i is >= 148 and < 156 ? (byte)' ' : h[i];
        if (!TryOctal(h.Slice(148, 8), out var stored) || stored != sum)
        {
            error = "bad header checksum (not a tar file, or damaged)";
            return null;
        }
        if (!TrySize(h.Slice(124, 12), out var size) || size < 0)
        {
            error = "bad size field";
            return null;
        }
        var name = CString(h[..100]);
        if (h.Slice(257, 5).SequenceEqual("ustar"u8))
        {
            var prefix = CString(h.Slice(345, 155));
            if (prefix.Length > 0) name = prefix + "/" + name;
        }
        return new TarHeader(name, size, h[156]);
    }

    /// <summary>The path a pax extended header sets (<c>path=...</c>), if any.</summary>
    public static string? PaxPath(ReadOnlySpan<byte> data)
    {
        // Records are "LEN key=value\n" where LEN counts the whole record in decimal.
        string? path = null;
        while (data.Length > 0)
        {
            var space = data.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(Encoding.ASCII.GetString(data[..space]), out var len) || len <= space || len > data.Length)
                break;
            var record = data[(space + 1)..len];
            var eq = record.IndexOf((byte)'=');
            if (eq > 0 && record[..eq].SequenceEqual("path"u8))
                path = Encoding.UTF8.GetString(record[(eq + 1)..].TrimEnd((byte)'\n'));
            data = data[len..];
        }
        return path;
    }

    /// <summary>A NUL-terminated name field (e.g. the data of a GNU long-name member).</summary>
    public static string CString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static bool TrySize(ReadOnlySpan<byte> field, out long value)
    {
        // GNU base-256 for sizes of 8 GiB and more: high bit of the first byte set, big-endian binary after it.
        if ((field[0] & 0x80) != 0)
        {
            value = field[0] & 0x7F;
            for (var i = 1; i < field.Length; i++)
            {
                if (value > (long.MaxValue >> 8)) return false;
                value = (value << 8) | field[i];
            }
            return true;
        }
        return TryOctal(field, out value);
    }

    private static bool TryOctal(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        var i = 0;
        while (i < field.Length && field[i] == ' ') i++;
        var digits = 0;
        for (; i < field.Length && field[i] is >= (byte)'0' and <= (byte)'7'; i++, digits++)
        {
            if (value > (long.MaxValue >> 3)) return false;
            value = value * 8 + (field[i] - '0');
        }
        // Only NUL or space may follow the digits.
        for (; i < field.Length; i++)
            if (field[i] is not (0 or (byte)' ')) return false;
        return digits > 0;
    }
}

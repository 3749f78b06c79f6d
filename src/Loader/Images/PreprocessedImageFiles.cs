using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using NanoVlm.Kernels;
using SkiaSharp;

namespace NanoVlm.Loader.Images;

/// <summary>
/// The on-disk result of nanoVLM's image path for one image, as <c>nanovlm preprocess</c> writes it and scripts read it:
/// <c>&lt;stem&gt;.resized.png</c> (the DynamicResize output, lossless), <c>&lt;stem&gt;.tiles.npy</c> (float32
/// [N, 3, S, S], global tile first, the numbers nanoVLM's processor gives) and <c>&lt;stem&gt;.json</c> (source and
/// resized sizes, grid, tile and image-token counts). The names and formats are a contract.
/// </summary>
public static class PreprocessedImageFiles
{
    /// <summary>Writes the three files of one image. Each goes through a temporary file renamed at the end, so a failed
    /// write never leaves a partial output under its final name.</summary>
    /// <param name="directory">Output directory (must exist).</param>
    /// <param name="stem">File stem, usually the input's file name without extension.</param>
    /// <param name="geometry">The image's plan.</param>
    /// <param name="tiles">The tiles, <see cref="ImageGeometry.OutputFloatCount"/> floats.</param>
    /// <param name="resized">The resized RGB8 pixels, <see cref="ImageGeometry.ResizedByteCount"/> bytes.</param>
    /// <exception cref="IOException">A file cannot be written.</exception>
    /// <exception cref="ArgumentException"><paramref name="geometry"/> is <c>default</c> (not a plan).</exception>
    public static void Write(string directory, string stem, ImageGeometry geometry, ReadOnlySpan<float> tiles, ReadOnlySpan<byte> resized)
    {
        if (geometry.SplitSize <= 0) throw new ArgumentException("The geometry is default(ImageGeometry), not a plan", nameof(geometry));
        byte[] rgba = [];
        Write(directory, stem, geometry, tiles, resized, ref rgba);
    }

    /// <summary><see cref="Write(string, string, ImageGeometry, ReadOnlySpan{float}, ReadOnlySpan{byte})"/> with a
    /// caller-kept RGBA scratch buffer for the PNG encoder (grown on demand).</summary>
    internal static void Write(string directory, string stem, ImageGeometry g, ReadOnlySpan<float> tiles, ReadOnlySpan<byte> resized, ref byte[] rgba)
    {
        string png = Path.Combine(directory, stem + ".resized.png"), npy = Path.Combine(directory, stem + ".tiles.npy");
        string json = Path.Combine(directory, stem + ".json");
        var temps = new List<string>(3);
        try
        {
            WriteTemp(png, EncodePng(resized, g.TargetWidth, g.TargetHeight, ref rgba), temps);
            using (var s = CreateTemp(npy, temps))
            {
                s.Write(NpyHeader([g.Grid.OutputTileCount, 3, g.SplitSize, g.SplitSize]));
                WriteFloatsLittleEndian(s, tiles[..checked((int)g.OutputFloatCount)]);
            }
            WriteTemp(json, JsonFor(g), temps);
            foreach (var tmp in temps) File.Move(tmp, tmp[..^4], overwrite: true);
            temps.Clear();
        }
        finally
        {
            foreach (var tmp in temps)
            {
                try { File.Delete(tmp); }
                catch (IOException) { } // best effort; the final names were never written
            }
        }
    }

    private static FileStream CreateTemp(string final, List<string> temps)
    {
        string tmp = final + ".tmp";
        temps.Add(tmp);
        return new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
    }

    private static void WriteTemp(string final, ReadOnlySpan<byte> bytes, List<string> temps)
    {
        using var s = CreateTemp(final, temps);
        s.Write(bytes);
    }

    private static void WriteFloatsLittleEndian(Stream s, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            s.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> b = stackalloc byte[4];
        foreach (float v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            s.Write(b);
        }
    }

    /// <summary>A .npy format 1.0 header for a C-order little-endian float32 array: magic, version 1.0, header length
    /// (uint16 LE), then the dict padded with spaces and ending in a newline so the data starts at a multiple of 64.</summary>
    internal static byte[] NpyHeader(ReadOnlySpan<int> shape)
    {
        var dims = new StringBuilder();
        foreach (int d in shape) dims.Append(CultureInfo.InvariantCulture, $"{d}, ");
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({dims.ToString(0, dims.Length - 2)})";
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}";
        int total = 10 + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string header = dict + new string(' ', padded - total) + "\n";
        var bytes = new byte[10 + header.Length];
        bytes[0] = 0x93;
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), checked((ushort)header.Length));
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        return bytes;
    }

    private static byte[] JsonFor(ImageGeometry g)
    {
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("source");
            json.WriteNumberValue(g.SourceWidth);
            json.WriteNumberValue(g.SourceHeight);
            json.WriteEndArray();
            json.WriteStartArray("resized");
            json.WriteNumberValue(g.TargetWidth);
            json.WriteNumberValue(g.TargetHeight);
            json.WriteEndArray();
            json.WriteStartArray("grid");
            json.WriteNumberValue(g.Grid.Rows);
            json.WriteNumberValue(g.Grid.Cols);
            json.WriteEndArray();
            json.WriteNumber("tiles", g.Grid.OutputTileCount);
            json.WriteNumber("image_tokens", g.TokenCount);
            json.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>Lossless PNG of RGB8 pixels with SkiaSharp (expanded to opaque RGBA8888, which Skia stores as PNG RGB).</summary>
    internal static unsafe byte[] EncodePng(ReadOnlySpan<byte> rgb, int width, int height, ref byte[] rgba)
    {
        int pixels = width * height;
        if (rgba.Length < 4 * pixels) rgba = GC.AllocateUninitializedArray<byte>(4 * pixels);
        for (int p = 0, q = 0; p < pixels; p++, q += 4)
        {
            rgba[q] = rgb[3 * p];
            rgba[q + 1] = rgb[3 * p + 1];
            rgba[q + 2] = rgb[3 * p + 2];
            rgba[q + 3] = 255;
        }
        fixed (byte* ptr = rgba)
        {
            var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
            using var pixmap = new SKPixmap(info, (IntPtr)ptr, 4 * width);
            using SKData? data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 6))
                ?? throw new IOException("SkiaSharp could not encode the resized image as PNG");
            return data.ToArray();
        }
    }
}

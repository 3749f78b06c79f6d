using System.Security.Cryptography;
using System.Text.Json;

namespace NanoVlm.Kernels.Tests;

/// <summary>Mirror of tools/make_image_fixtures.py `pattern()` (integer formulas, identical bytes).</summary>
internal static class TestImages
{
    private static uint Mix(uint v)
    {
        v ^= v >> 15; v *= 0x2C1B3C6D; v ^= v >> 12; v *= 0x297A2D39; v ^= v >> 15;
        return v;
    }

    private static int Noise(int x, int y, int c, int seed)
        => (int)(Mix((uint)x * 0x9E3779B1u + (uint)y * 0x85EBCA77u + (uint)c * 0xC2B2AE3Du + (uint)seed * 0x27D4EB2Fu) >> 24);

    public static byte[] Generate(string kind, int w, int h, int seed)
    {
        var img = new byte[3 * w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    long v = kind switch
                    {
                        "noise" => Noise(x, y, c, seed),
                        "gradient" => c == 0 ? (long)x * 255 / Math.Max(w - 1, 1) : c == 1 ? (long)y * 255 / Math.Max(h - 1, 1) : (long)(x + y) * 255 / Math.Max(w + h - 2, 1),
                        "edges" => ((x / 3 + (y / 5) * 7) % 11 == 0) || ((x % 17 < 2) && ((y / 9) % 3 != 0)) || (y % 13 == 0) ? 20 * c + seed % 7 : 255 - seed % 5,
                        "photo" => Math.Clamp(((long)x * 191 / Math.Max(w - 1, 1) + (long)y * 64 / Math.Max(h - 1, 1) + c * 40) % 256 + (Noise(x, y, c, seed) >> 3) - 16, 0, 255),
                        _ => throw new ArgumentException(kind),
                    };
                    img[(y * w + x) * 3 + c] = (byte)v;
                }
        return img;
    }

    public static string Sha(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(SHA256.HashData(b));

    public static string Sha(ReadOnlySpan<float> f) => Sha(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f));

    public static string Dir => NanoVlm.Testing.Fixtures.Path("images");

    private static readonly Lazy<JsonDocument> ManifestDoc = new(() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, "manifest.json"))));

    public static JsonElement Manifest => ManifestDoc.Value.RootElement;

    public static float[] ReadF32(string name)
    {
        var b = File.ReadAllBytes(Path.Combine(Dir, name));
        var f = new float[b.Length / 4];
        Buffer.BlockCopy(b, 0, f, 0, b.Length);
        return f;
    }

    public static IEnumerable<object[]> Cases(Func<JsonElement, bool> filter)
        => Manifest.GetProperty("cases").EnumerateArray().Where(filter).Select(c => new object[] { c.GetProperty("name").GetString()! });

    public static JsonElement Case(string name)
        => Manifest.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    public static ImagePipelineOptions Options(JsonElement c) => new()
    {
        SplitSize = c.GetProperty("split").GetInt32(),
        MaxSideLength = c.GetProperty("max_side").GetInt32(),
        ResizeToMaxSide = c.GetProperty("resize_to_max_side").GetBoolean(),
    };

    public static byte[] Source(JsonElement c) => Generate(c.GetProperty("pattern").GetString()!, c.GetProperty("width").GetInt32(),
        c.GetProperty("height").GetInt32(), c.GetProperty("seed").GetInt32());
}

using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NanoVlm.Kernels;
using NanoVlm.Kernels.Tests;
using NanoVlm.Loader.Images;
using NanoVlm.Testing;
using SkiaSharp;

using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm preprocess</c> end to end, in-process: outputs vs the library and vs the Pillow/torchvision fixtures.</summary>
public sealed class PreprocessCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-preprocess-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string sub) => Path.Combine(_dir, sub);

    private static string Decode(string file) => Fixtures.Path("decode", file);

    /// <summary>Parses a .npy v1.0 file: checks magic, version, dtype and order, returns the shape and the float payload.</summary>
    private static (int[] Shape, float[] Data) ReadNpy(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        Assert.Equal(0x93, b[0]);
        Assert.Equal("NUMPY", Encoding.ASCII.GetString(b, 1, 5));
        Assert.Equal(1, b[6]);
        Assert.Equal(0, b[7]);
        int headerLen = b[8] | (b[9] << 8);
        Assert.Equal(0, (10 + headerLen) % 64);
        string header = Encoding.ASCII.GetString(b, 10, headerLen);
        Assert.EndsWith("\n", header, StringComparison.Ordinal);
        Assert.Contains("'descr': '<f4'", header, StringComparison.Ordinal);
        Assert.Contains("'fortran_order': False", header, StringComparison.Ordinal);
        int open = header.IndexOf("'shape': (", StringComparison.Ordinal) + 10;
        string dims = header[open..header.IndexOf(')', open)];
        int[] shape = dims.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        var data = MemoryMarshal.Cast<byte, float>(b.AsSpan(10 + headerLen)).ToArray();
        Assert.Equal(shape.Aggregate(1L, (a, d) => a * d), data.Length);
        return (shape, data);
    }

    private static byte[] ReadPng(string path)
    {
        byte[] png = File.ReadAllBytes(path);
        Assert.Equal(ImageFormat.Png, ImageProbe.DetectFormat(png));
        using DecodedImage d = ImageDecoder.Default.DecodeRgb8(png, path);
        return d.Pixels.ToArray();
    }

    private static JsonElement ReadJson(string path) => JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone();

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static void AssertJson(string path, ImageGeometry g)
    {
        var j = ReadJson(path);
        Assert.Equal([g.SourceWidth, g.SourceHeight], Ints(j.GetProperty("source")));
        Assert.Equal([g.TargetWidth, g.TargetHeight], Ints(j.GetProperty("resized")));
        Assert.Equal([g.Grid.Rows, g.Grid.Cols], Ints(j.GetProperty("grid")));
        Assert.Equal(g.Grid.OutputTileCount, j.GetProperty("tiles").GetInt32());
        Assert.Equal(g.TokenCount, j.GetProperty("image_tokens").GetInt32());
    }

    /// <summary>The tiles (after the global tile, if any) are exactly resized/255f in CHW tile-major order.</summary>
    private static void AssertTilesAreResizedOver255(float[] data, byte[] resized, ImageGeometry g)
    {
        int s = g.SplitSize, first = g.Grid.HasGlobalTile ? 1 : 0;
        for (int ty = 0; ty < g.Grid.Rows; ty++)
            for (int tx = 0; tx < g.Grid.Cols; tx++)
            {
                long tile = (first + ty * g.Grid.Cols + tx) * g.TileFloatCount;
                for (int c = 0; c < 3; c++)
                    for (int y = 0; y < s; y++)
                        for (int x = 0; x < s; x++)
                        {
                            byte v = resized[(((ty * s + y) * g.TargetWidth) + tx * s + x) * 3 + c];
                            Assert.Equal(v / 255f, data[tile + ((c * s) + y) * s + x]);
                        }
            }
    }

    public static TheoryData<string> SmallFixtures => new()
    {
        "png_rgb_37x23.png", "png_rgba_37x23.png", "png_l_33x17.png", "gif_p_31x19.gif", "bmp_rgb_37x23.bmp", "jpeg_444_37x23.jpg",
        "jpeg_420_513x7.jpg",
    };

    [Theory]
    [MemberData(nameof(SmallFixtures))]
    public void Outputs_equal_the_library_and_pillows_decode(string file)
    {
        var (code, stdout, stderr) = Invoke("preprocess", Decode(file), "--out", _dir, "--split-size", "16", "--max-img-size", "48");
        Assert.True(code == 0, stderr);
        Assert.Contains("1 images written", stdout, StringComparison.Ordinal);
        string stem = Path.Combine(_dir, Path.GetFileNameWithoutExtension(file));

        var options = new ImagePipelineOptions { SplitSize = 16, MaxSideLength = 48 };
        byte[] encoded = File.ReadAllBytes(Decode(file));
        var p = new ImagePreprocessor(options);
        var g = p.Plan(encoded, file);
        var tiles = new float[g.OutputFloatCount];
        var resized = new byte[g.ResizedByteCount];
        p.Process(encoded, file, tiles, resized);

        var (shape, data) = ReadNpy(stem + ".tiles.npy");
        Assert.Equal([g.Grid.OutputTileCount, 3, 16, 16], shape);
        Assert.Equal(tiles, data);
        byte[] png = ReadPng(stem + ".resized.png");
        Assert.Equal(resized, png);
        AssertTilesAreResizedOver255(data, png, g);
        AssertJson(stem + ".json", g);

        // Where Pillow's decode is committed (.rgb) and equals ours, the resized bytes are Pillow's resize of it.
        string pillowRgb = Fixtures.Path("decode", Path.ChangeExtension(file, ".rgb"));
        if (File.Exists(pillowRgb) && !file.EndsWith(".jpg", StringComparison.Ordinal))
        {
            var pillow = new byte[g.ResizedByteCount];
            ImageTiler.Process(File.ReadAllBytes(pillowRgb), g.SourceWidth, g.SourceHeight,
                new float[g.OutputFloatCount], pillow, options);
            Assert.Equal(pillow, png);
        }
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    /// <summary>Cases of tests/fixtures/images with full expected outputs (Pillow resize, torchvision global tile).</summary>
    public static TheoryData<string> PillowCases => new()
    {
        "s16m48t_37x23_photo", "s16m48t_7x200_noise", "s32m64t_129x65_gradient", "s16m64f_100x30_edges", "s32m64t_1x1_noise",
        "s16m64f_64x48_noise",
    };

    private string WriteSourcePng(JsonElement c)
    {
        int w = c.GetProperty("width").GetInt32(), h = c.GetProperty("height").GetInt32();
        byte[] src = TestImages.Source(c);
        string path = Path.Combine(_dir, c.GetProperty("name").GetString() + ".png");
        File.WriteAllBytes(path, EncodePng(src, w, h));
        return path;
    }

    /// <summary>A lossless PNG of RGB8 pixels (SkiaSharp stores opaque RGBA8888 as PNG RGB).</summary>
    private static byte[] EncodePng(byte[] rgb, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = 3 * (y * width + x);
                bitmap.SetPixel(x, y, new SKColor(rgb[p], rgb[p + 1], rgb[p + 2]));
            }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static string[] OptionArgs(JsonElement c) =>
    [
        "--split-size", c.GetProperty("split").GetInt32().ToString(CultureInfo.InvariantCulture),
        "--max-img-size", c.GetProperty("max_side").GetInt32().ToString(CultureInfo.InvariantCulture),
        "--resize-to-max-side", c.GetProperty("resize_to_max_side").GetBoolean() ? "true" : "false",
    ];

    [Theory]
    [MemberData(nameof(PillowCases))]
    public void Outputs_equal_pillow_and_torchvision_fixtures(string name)
    {
        var c = TestImages.Case(name);
        string src = WriteSourcePng(c);
        string outDir = Out("out");
        var (code, _, stderr) = Invoke(["preprocess", src, "--out", outDir, "--threads", "1", .. OptionArgs(c)]);
        Assert.True(code == 0, stderr);
        string stem = Path.Combine(outDir, name);
        Assert.Equal(File.ReadAllBytes(Path.Combine(TestImages.Dir, name + ".resized.rgb")), ReadPng(stem + ".resized.png"));
        var (shape, data) = ReadNpy(stem + ".tiles.npy");
        int[] grid = Ints(c.GetProperty("grid"));
        int tiles = grid[0] * grid[1] == 1 ? 1 : 1 + grid[0] * grid[1], s = c.GetProperty("split").GetInt32();
        Assert.Equal([tiles, 3, s, s], shape);
        Assert.Equal(TestImages.ReadF32(name + ".tiles.f32"), data); // exact: tiles = resized/255f, global = torchvision's floats
        var j = ReadJson(stem + ".json");
        Assert.Equal(grid, Ints(j.GetProperty("grid")));
        Assert.Equal(c.GetProperty("tokens").GetInt32(), j.GetProperty("image_tokens").GetInt32());
        Assert.Equal([c.GetProperty("target_width").GetInt32(), c.GetProperty("target_height").GetInt32()], Ints(j.GetProperty("resized")));
    }

    [Theory]
    [InlineData("d_37x23_gradient")]
    [InlineData("d_600x800_edges")]
    [InlineData("dn_700x300_photo")]
    public void Default_options_match_the_reference_digests(string name)
    {
        var c = TestImages.Case(name);
        string src = WriteSourcePng(c);
        string outDir = Out("out");
        var (code, _, stderr) = Invoke(["preprocess", src, "--out", outDir, .. OptionArgs(c)]);
        Assert.True(code == 0, stderr);
        string stem = Path.Combine(outDir, name);
        Assert.Equal(c.GetProperty("resized_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(ReadPng(stem + ".resized.png"))));
        var (_, data) = ReadNpy(stem + ".tiles.npy");
        Assert.Equal(c.GetProperty("tiles_sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(data.AsSpan()))));
        Assert.Equal(c.GetProperty("tokens").GetInt32(), ReadJson(stem + ".json").GetProperty("image_tokens").GetInt32());
    }

    [Fact]
    public void A_bad_file_among_good_ones_fails_alone_with_exit_code_1()
    {
        string inputs = Out("in");
        Directory.CreateDirectory(inputs);
        byte[] good = File.ReadAllBytes(Decode("png_rgb_37x23.png"));
        File.WriteAllBytes(Path.Combine(inputs, "a.png"), good);
        File.WriteAllBytes(Path.Combine(inputs, "b_truncated.png"), good[..(good.Length / 2)]);
        File.WriteAllBytes(Path.Combine(inputs, "c_empty.jpg"), []);
        File.WriteAllText(Path.Combine(inputs, "d_text.png"), "not an image");
        File.Copy(Decode("jpeg_444_37x23.jpg"), Path.Combine(inputs, "e.jpg"));
        string[] files = ["a.png", "b_truncated.png", "c_empty.jpg", "d_text.png", "missing.png", "e.jpg"];
        string outDir = Out("out");
        var (code, stdout, stderr) = Invoke(["preprocess", .. files.Select(f => Path.Combine(inputs, f)), "--out", outDir,
            "--split-size", "16", "--max-img-size", "48", "--threads", "2"]);
        Assert.Equal(1, code);
        Assert.Contains("2 images written", stdout, StringComparison.Ordinal);
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith(Path.Combine(inputs, "b_truncated.png") + ": Truncated", lines[0], StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(inputs, "c_empty.jpg") + ": Empty", lines[1], StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(inputs, "d_text.png") + ": UnknownFormat", lines[2], StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(inputs, "missing.png") + ": ", lines[3], StringComparison.Ordinal);
        string[] written = Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        Assert.Equal(["a.json", "a.resized.png", "a.tiles.npy", "e.json", "e.resized.png", "e.tiles.npy"], written);
    }

    [Fact]
    public void Bench_prints_the_json_line_last_and_writes_nothing()
    {
        string[] files = [Decode("png_rgb_37x23.png"), Decode("jpeg_420_q90_640x480.jpg"), Decode("gif_p_31x19.gif")];
        var (code, stdout, stderr) = Invoke(["preprocess", .. files, "--bench", "--threads", "2", "--out", Out("never")]);
        Assert.True(code == 0, stderr);
        string last = stdout.TrimEnd('\n').Split('\n')[^1];
        Assert.StartsWith("{\"images\": 3, \"seconds\": ", last, StringComparison.Ordinal);
        var j = JsonDocument.Parse(last).RootElement;
        Assert.Equal(["images", "seconds", "images_per_s"], j.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(3, j.GetProperty("images").GetInt32());
        double seconds = j.GetProperty("seconds").GetDouble();
        Assert.True(seconds > 0);
        Assert.Equal(3 / seconds, j.GetProperty("images_per_s").GetDouble(), 6);
        Assert.False(Directory.Exists(Out("never")));

        // A failing input in bench mode: reported, the rest counted, exit 1, JSON still last.
        (code, stdout, stderr) = Invoke(["preprocess", .. files, Decode("manifest.tsv"), "--bench"]);
        Assert.Equal(1, code);
        Assert.Contains("manifest.tsv: UnknownFormat", stderr, StringComparison.Ordinal);
        Assert.StartsWith("{\"images\": 3,", stdout.TrimEnd('\n').Split('\n')[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Ilgpu_backend_writes_the_same_files_as_simd()
    {
        string[] files = [Decode("png_rgb_37x23.png"), Decode("jpeg_420_513x7.jpg")];
        string[] common = ["--split-size", "16", "--max-img-size", "48"];
        var (code, _, stderr) = Invoke(["preprocess", .. files, "--out", Out("simd"), "--backend", "simd", .. common]);
        Assert.True(code == 0, stderr);
        (code, var stdout, stderr) = Invoke(["preprocess", .. files, "--out", Out("ilgpu"), "--backend", "ilgpu", "--threads", "2", .. common]);
        Assert.True(code == 0, stderr);
        Assert.Contains("backend ilgpu", stdout, StringComparison.Ordinal);
        var names = Directory.GetFiles(Out("simd")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(6, names.Length);
        Assert.Equal(names, Directory.GetFiles(Out("ilgpu")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        foreach (string n in names!)
            Assert.Equal(File.ReadAllBytes(Path.Combine(Out("simd"), n!)), File.ReadAllBytes(Path.Combine(Out("ilgpu"), n!)));
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        string png = Decode("png_rgb_37x23.png");
        Assert.Equal(2, Invoke("preprocess", png).Code); // no --out, no --bench
        Assert.Equal(2, Invoke("preprocess", png, "--out", _dir, "--threads", "0").Code);
        Assert.Equal(2, Invoke("preprocess", png, "--out", _dir, "--split-size", "0").Code);
        Assert.NotEqual(0, Invoke("preprocess", png, "--out", _dir, "--backend", "cuda").Code);
        Assert.NotEqual(0, Invoke("preprocess", "--out", _dir).Code); // no image
    }

    [Fact]
    public void Duplicate_stems_do_not_overwrite_each_other()
    {
        string a = Out("a"), b = Out("b");
        Directory.CreateDirectory(a);
        Directory.CreateDirectory(b);
        File.Copy(Decode("png_rgb_37x23.png"), Path.Combine(a, "x.png"));
        File.Copy(Decode("jpeg_444_37x23.jpg"), Path.Combine(b, "x.jpg"));
        var (code, _, stderr) = Invoke("preprocess", Path.Combine(a, "x.png"), Path.Combine(b, "x.jpg"), "--out", Out("out"),
            "--split-size", "16", "--max-img-size", "48");
        Assert.Equal(1, code);
        Assert.Contains("x.jpg: output stem 'x'", stderr, StringComparison.Ordinal);
        Assert.Equal(3, Directory.GetFiles(Out("out")).Length);
    }
}

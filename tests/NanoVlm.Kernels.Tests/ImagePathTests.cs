using System.Text.Json;

namespace NanoVlm.Kernels.Tests;

public class ImagePathTests
{
    public static IEnumerable<object[]> AllCases => TestImages.Cases(_ => true);
    public static IEnumerable<object[]> SmallCases => TestImages.Cases(c => c.TryGetProperty("files", out var f) && f[0].GetString()!.EndsWith(".resized.rgb"));
    public static IEnumerable<object[]> GlobalSampleCases => TestImages.Cases(c => c.TryGetProperty("files", out var f) && f[0].GetString()!.EndsWith(".global16.f32"));
    public static IEnumerable<object[]> SweepIndices => Enumerable.Range(0, TestImages.Manifest.GetProperty("sweep").GetArrayLength()).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Geometry_matches_nanovlm(string name)
    {
        var c = TestImages.Case(name);
        var g = DynamicResize.Compute(c.GetProperty("width").GetInt32(), c.GetProperty("height").GetInt32(), TestImages.Options(c));
        Assert.Equal(c.GetProperty("target_width").GetInt32(), g.TargetWidth);
        Assert.Equal(c.GetProperty("target_height").GetInt32(), g.TargetHeight);
        Assert.Equal(c.GetProperty("grid")[0].GetInt32(), g.Grid.Rows);
        Assert.Equal(c.GetProperty("grid")[1].GetInt32(), g.Grid.Cols);
        Assert.Equal(c.GetProperty("tokens").GetInt32(), g.TokenCount);
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Source_generator_matches_python(string name)
    {
        var c = TestImages.Case(name);
        Assert.Equal(c.GetProperty("source_sha256").GetString(), TestImages.Sha(TestImages.Source(c)));
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Resize_is_byte_identical_to_pillow(string name)
    {
        var c = TestImages.Case(name);
        var src = TestImages.Source(c);
        int w = c.GetProperty("width").GetInt32(), h = c.GetProperty("height").GetInt32();
        int tw = c.GetProperty("target_width").GetInt32(), th = c.GetProperty("target_height").GetInt32();
        var simd = new byte[3 * tw * th];
        BicubicResizer.Resize(src, w, h, simd, tw, th);
        Assert.Equal(c.GetProperty("resized_sha256").GetString(), TestImages.Sha(simd));
        var scalar = new byte[3 * tw * th];
        BicubicResizer.Resize(src, w, h, scalar, tw, th, simd: false);
        Assert.Equal(simd, scalar);
    }

    [Theory]
    [MemberData(nameof(SweepIndices))]
    public void Resize_sweep_is_byte_identical_to_pillow(int index)
    {
        var s = TestImages.Manifest.GetProperty("sweep")[index];
        int w = s.GetProperty("width").GetInt32(), h = s.GetProperty("height").GetInt32();
        int tw = s.GetProperty("target_width").GetInt32(), th = s.GetProperty("target_height").GetInt32();
        var src = TestImages.Generate(s.GetProperty("pattern").GetString()!, w, h, s.GetProperty("seed").GetInt32());
        var dst = new byte[3 * tw * th];
        BicubicResizer.Resize(src, w, h, dst, tw, th);
        Assert.Equal(s.GetProperty("sha256").GetString(), TestImages.Sha(dst));
        var scalar = new byte[3 * tw * th];
        BicubicResizer.Resize(src, w, h, scalar, tw, th, simd: false);
        Assert.Equal(dst, scalar);
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Full_path_output(string name)
    {
        var c = TestImages.Case(name);
        var opt = TestImages.Options(c);
        int w = c.GetProperty("width").GetInt32(), h = c.GetProperty("height").GetInt32();
        var g = ImageTiler.Plan(w, h, opt);
        var outp = new float[g.OutputFloatCount];
        var resized = new byte[g.ResizedByteCount];
        ImageTiler.Process(TestImages.Source(c), w, h, outp, resized, opt);
        Assert.Equal(c.GetProperty("resized_sha256").GetString(), TestImages.Sha(resized));
        int tile = (int)g.TileFloatCount;
        int first = g.Grid.HasGlobalTile ? tile : 0;
        // tiles must be exactly resized/255f in [n, 3, S, S] order (checked element-wise here, and against torch below)
        int S = g.SplitSize, nw = g.Grid.Cols;
        for (int t = 0; t < g.Grid.TileCount; t++)
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < S; y += Math.Max(1, S / 37))
                    for (int x = 0; x < S; x++)
                    {
                        int r = t / nw, cc = t % nw;
                        byte b = resized[((r * S + y) * g.TargetWidth + cc * S + x) * 3 + ch];
                        Assert.Equal(b / 255f, outp[first + ((t * 3 + ch) * S + y) * S + x]);
                    }
        string tilesSha = c.GetProperty("tiles_sha256").GetString()!;
        if (c.TryGetProperty("files", out var files) && files[0].GetString()!.EndsWith(".resized.rgb"))
        {
            var expected = TestImages.ReadF32(files[1].GetString()!);
            Assert.Equal(expected.Length, outp.Length);
            double maxDiff = 0;
            for (int i = 0; i < expected.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - outp[i]));
            Assert.True(maxDiff == 0, $"max abs diff {maxDiff}");
        }
        // default accumulation: global and tiles bit-identical to torch
        Assert.Equal(tilesSha, TestImages.Sha(outp));
    }

    /// <summary>A fixture case, its plan, and its source resized by <see cref="BicubicResizer"/>.</summary>
    private static (System.Text.Json.JsonElement Case, ImageGeometry Plan, byte[] Resized) Resized(string name)
    {
        var c = TestImages.Case(name);
        int w = c.GetProperty("width").GetInt32(), h = c.GetProperty("height").GetInt32();
        var g = ImageTiler.Plan(w, h, TestImages.Options(c));
        var resized = new byte[g.ResizedByteCount];
        BicubicResizer.Resize(TestImages.Source(c), w, h, resized, g.TargetWidth, g.TargetHeight);
        return (c, g, resized);
    }

    [Theory]
    [MemberData(nameof(GlobalSampleCases))]
    public void Global_tile_matches_torchvision(string name)
    {
        var (c, g, resized) = Resized(name);
        var glob = new float[g.TileFloatCount];
        GlobalTileResizer.Resize(resized, g.TargetWidth, g.TargetHeight, g.SplitSize, glob);
        Assert.Equal(c.GetProperty("global_sha256").GetString(), TestImages.Sha(glob));
        var scalar = new float[g.TileFloatCount];
        GlobalTileResizer.Resize(resized, g.TargetWidth, g.TargetHeight, g.SplitSize, scalar, GlobalTileAccumulation.TorchAvx2, simd: false);
        Assert.Equal(glob, scalar);
    }

    [Theory]
    [MemberData(nameof(GlobalSampleCases))]
    public void Sequential_global_tile_is_within_1e6_of_torchvision(string name)
    {
        var (c, g, resized) = Resized(name);
        int S = g.SplitSize;
        var glob = new float[3 * S * S];
        GlobalTileResizer.Resize(resized, g.TargetWidth, g.TargetHeight, S, glob, GlobalTileAccumulation.Sequential);
        var expected = TestImages.ReadF32(c.GetProperty("files")[0].GetString()!);
        double maxDiff = 0;
        int i = 0;
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < S; y += 16)
                for (int x = 0; x < S; x++, i++)
                    maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - glob[(ch * S + y) * S + x]));
        Assert.True(maxDiff <= 1e-6, $"{name}: max abs diff {maxDiff}");
        File.AppendAllText(Path.Combine(Path.GetTempPath(), "nanovlm_global_maxdiff.txt"), $"{name} {maxDiff:E3}\n");
        var scalar = new float[3 * S * S];
        GlobalTileResizer.Resize(resized, g.TargetWidth, g.TargetHeight, S, scalar, GlobalTileAccumulation.Sequential, simd: false);
        Assert.Equal(glob, scalar);
    }

    [Fact]
    public void ToFloat_and_bf16_match_torch()
    {
        var f = TestImages.ReadF32("tofloat.f32");
        var bf = File.ReadAllBytes(Path.Combine(TestImages.Dir, "tobf16.u16"));
        for (int i = 0; i < 256; i++)
        {
            Assert.Equal(BitConverter.SingleToUInt32Bits(f[i]), BitConverter.SingleToUInt32Bits(TileWriter.ToFloat((byte)i)));
            Assert.Equal(BitConverter.ToUInt16(bf, 2 * i), TileWriter.ToBFloat16(f[i]));
        }
        var probe = TestImages.ReadF32("bf16_probe.f32");
        var pb = File.ReadAllBytes(Path.Combine(TestImages.Dir, "bf16_probe.u16"));
        for (int i = 0; i < probe.Length; i++)
            Assert.Equal(BitConverter.ToUInt16(pb, 2 * i), TileWriter.ToBFloat16(probe[i]));
    }

    [Fact]
    public void Bf16_path_equals_rounded_float_path()
    {
        var opt = new ImagePipelineOptions { SplitSize = 32, MaxSideLength = 64 };
        var src = TestImages.Generate("photo", 50, 21, 3);
        var g = ImageTiler.Plan(50, 21, opt);
        var f = new float[g.OutputFloatCount];
        var b = new ushort[g.OutputFloatCount];
        ImageTiler.Process(src, 50, 21, f, opt);
        ImageTiler.ProcessBFloat16(src, 50, 21, b, opt);
        for (int i = 0; i < f.Length; i++) Assert.Equal(TileWriter.ToBFloat16(f[i]), b[i]);
    }

    [Theory]
    [InlineData(50, 21)]
    [InlineData(20, 30)]
    [InlineData(64, 64)]
    [InlineData(16, 16)]
    public void UInt8_path_divided_by_255_equals_the_float_path(int w, int h)
    {
        var opt = new ImagePipelineOptions { SplitSize = 32, MaxSideLength = 64 };
        var src = TestImages.Generate("photo", w, h, 7);
        var g = ImageTiler.Plan(w, h, opt);
        var f = new float[g.OutputFloatCount];
        ImageTiler.Process(src, w, h, f, opt);
        int tile = (int)g.TileFloatCount;
        var global = new float[tile];
        var bytes = new byte[g.ResizedByteCount];
        ImageTiler.ProcessUInt8(src, w, h, global, bytes, opt);
        int offset = g.Grid.HasGlobalTile ? tile : 0;
        if (g.Grid.HasGlobalTile) Assert.Equal(f[..tile], global);
        Assert.Equal(f.Length - offset, bytes.Length);
        for (int i = 0; i < bytes.Length; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(f[offset + i]), BitConverter.SingleToUInt32Bits(TileWriter.ToFloat(bytes[i])));
    }

    [Fact]
    public void UInt8_path_rejects_short_spans()
    {
        var opt = new ImagePipelineOptions { SplitSize = 32, MaxSideLength = 64 };
        var src = TestImages.Generate("photo", 50, 21, 7);
        var e = Assert.Throws<ArgumentException>(() => ImageTiler.ProcessUInt8(src, 50, 21, new float[10], new byte[3 * 64 * 32], opt));
        Assert.Equal("globalTile", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => ImageTiler.ProcessUInt8(src, 50, 21, new float[3 * 32 * 32], new byte[100], opt));
        Assert.Equal("tiles", e.ParamName);
    }

    [Theory]
    [InlineData(100, 70, 21, GlobalTileAccumulation.TorchAvx2)]
    [InlineData(100, 70, 21, GlobalTileAccumulation.Sequential)]
    [InlineData(333, 41, 19, GlobalTileAccumulation.TorchAvx2)]
    [InlineData(45, 300, 8, GlobalTileAccumulation.TorchAvx2)]
    [InlineData(19, 19, 19, GlobalTileAccumulation.TorchAvx2)]
    [InlineData(64, 19, 19, GlobalTileAccumulation.TorchAvx2)]
    [InlineData(19, 64, 19, GlobalTileAccumulation.Sequential)]
    public void Scalar_and_simd_global_agree_on_odd_sizes(int w, int h, int size, GlobalTileAccumulation mode)
    {
        var src = TestImages.Generate("noise", w, h, 5);
        var a = new float[3 * size * size];
        var b = new float[3 * size * size];
        GlobalTileResizer.Resize(src, w, h, size, a, mode, simd: true);
        GlobalTileResizer.Resize(src, w, h, size, b, mode, simd: false);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Scalar_and_simd_tiles_agree()
    {
        var src = TestImages.Generate("noise", 96, 64, 9);
        var a = new float[3 * 96 * 64];
        var b = new float[3 * 96 * 64];
        TileWriter.WriteTiles(src, 96, 64, 32, a);
        TileWriter.WriteTiles(src, 96, 64, 32, b, simd: false);
        Assert.Equal(a, b);
    }

    [Theory]
    [InlineData(0, 10, ImageSizeError.NonPositive)]
    [InlineData(10, 0, ImageSizeError.NonPositive)]
    [InlineData(-5, 10, ImageSizeError.NonPositive)]
    [InlineData(100_000, 100_000, ImageSizeError.TooManyPixels)]
    [InlineData(int.MaxValue, int.MaxValue, ImageSizeError.TooManyPixels)]
    public void Bad_sizes_are_rejected_with_reason(int w, int h, ImageSizeError reason)
    {
        var ex = Assert.Throws<ImageSizeException>(() => DynamicResize.Compute(w, h));
        Assert.Equal(reason, ex.Reason);
        var dst = new float[16];
        dst.AsSpan().Fill(-1);
        Assert.Throws<ImageSizeException>(() => ImageTiler.Process(new byte[3], w, h, dst));
        Assert.All(dst, v => Assert.Equal(-1f, v));
    }

    [Fact]
    public void Pixel_limit_is_configurable_and_short_buffers_write_nothing()
    {
        var opt = new ImagePipelineOptions { SplitSize = 16, MaxSideLength = 32, MaxPixels = 100 };
        Assert.Equal(ImageSizeError.TooManyPixels, Assert.Throws<ImageSizeException>(() => DynamicResize.Compute(11, 10, opt)).Reason);
        DynamicResize.Compute(10, 10, opt);
        var dst = new float[10];
        dst.AsSpan().Fill(-1);
        Assert.Throws<ArgumentException>(() => ImageTiler.Process(new byte[300], 10, 10, dst, opt));
        Assert.All(dst, v => Assert.Equal(-1f, v));
        Assert.Throws<ArgumentException>(() => ImageTiler.Process(new byte[299], 10, 10, new float[1 << 16], opt));
        Assert.Throws<ArgumentOutOfRangeException>(() => DynamicResize.Compute(10, 10, new ImagePipelineOptions { SplitSize = 0 }));
        Assert.Throws<ImageSizeException>(() => BicubicResizer.Resize(new byte[3], 1, 1, new byte[3], 0, 1));
    }
}

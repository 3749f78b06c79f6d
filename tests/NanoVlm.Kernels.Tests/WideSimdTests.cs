using NanoVlm.Kernels.Internal;

namespace NanoVlm.Kernels.Tests;

/// <summary>
/// The 512-bit kernels against the paths they replace, on the same inputs: the AVX-512 path (taken on this thread
/// when the CPU has it), the 256-bit/SSE fallback (the 512-bit kernels switched off on this thread) and the scalar
/// code must give the same bytes. Pillow parity of the default path is proven by <see cref="ImagePathTests"/>; these
/// tests pin the fallback to it, so that a machine without AVX-512 gets the same output.
/// </summary>
public class WideSimdTests
{
    // (source, target) sizes: upscales, mild and ~2× downscales (the 128-byte window), stronger downscales (per-pixel
    // blocks), widths that are not a multiple of 16 (tail pixels) and tiny images.
    public static IEnumerable<object[]> Sizes =>
    [
        [1920, 1080, 2048, 1536], [640, 480, 2048, 1536], [4032, 3024, 2048, 1536], [3024, 4032, 1536, 2048],
        [2049, 511, 2048, 512], [1000, 700, 512, 512], [4100, 300, 1024, 512], [5000, 64, 1000, 48],
        [333, 97, 517, 203], [37, 23, 48, 32], [17, 5, 16, 9], [3, 3, 1, 1], [700, 300, 1024, 512], [96, 40, 31, 80],
    ];

    [SkippableTheory]
    [MemberData(nameof(Sizes))]
    public void Resize_512_bit_equals_fallback_and_scalar(int w, int h, int tw, int th)
    {
        Skip.IfNot(WideSimd.IsSupported, "the CPU has no AVX-512 BW/VBMI: only the fallback runs here");
        foreach (var pattern in new[] { "photo", "noise", "edges" })
        {
            var src = TestImages.Generate(pattern, w, h, 11);
            var wide = new byte[3 * tw * th];
            var narrow = new byte[3 * tw * th];
            var scalar = new byte[3 * tw * th];
            BicubicResizer.Resize(src, w, h, wide, tw, th);
            WideSimd.WithoutWide(() => BicubicResizer.Resize(src, w, h, narrow, tw, th));
            BicubicResizer.Resize(src, w, h, scalar, tw, th, simd: false);
            Assert.Equal(scalar, narrow);
            Assert.Equal(scalar, wide);
        }
    }

    [SkippableFact]
    public void Switch_is_per_thread_and_restored()
    {
        Skip.IfNot(WideSimd.IsSupported, "the CPU has no AVX-512 BW/VBMI");
        bool inside = true;
        WideSimd.WithoutWide(() => inside = WideSimd.Enabled);
        Assert.False(inside);
        Assert.True(WideSimd.Enabled);
        bool other = false;
        WideSimd.WithoutWide(() =>
        {
            var t = new Thread(() => other = WideSimd.Enabled);
            t.Start();
            t.Join();
        });
        Assert.True(other);
    }

    [Theory]
    [InlineData(2048, 1536, 512)]
    [InlineData(1024, 512, 512)]
    [InlineData(48, 32, 16)]
    [InlineData(40, 20, 20)]
    public void UInt8_tiles_simd_equals_scalar(int w, int h, int split)
    {
        var resized = TestImages.Generate("noise", w, h, 5);
        var simd = new byte[3 * w * h];
        var scalar = new byte[3 * w * h];
        TileWriter.WriteTilesUInt8(resized, w, h, split, simd);
        TileWriter.WriteTilesUInt8(resized, w, h, split, scalar, simd: false);
        Assert.Equal(scalar, simd);
        // and the layout: tile (r, c), channel ch, row y, column x holds resized[(r·S + y)·W + c·S + x][ch]
        int nw = w / split, r = h / split - 1, cc = nw - 1, y = split - 1, x = split / 2, ch = 2;
        Assert.Equal(resized[3 * ((r * split + y) * w + cc * split + x) + ch],
            simd[(r * nw + cc) * 3 * split * split + ch * split * split + y * split + x]);
    }

    // (resized width, height, tile side): ratios 2, 3 and 4 (the phase path), 1 and 5+ (other paths), odd heights.
    public static IEnumerable<object[]> GlobalSizes =>
    [
        [2048, 1536, 512], [1536, 2048, 512], [1024, 512, 512], [2048, 512, 512], [512, 2048, 512],
        [64, 48, 16], [48, 32, 16], [96, 64, 32], [160, 32, 32], [2560, 512, 512], [1536, 1536, 512],
    ];

    [SkippableTheory]
    [MemberData(nameof(GlobalSizes))]
    public void Global_tile_512_bit_equals_fallback_and_scalar(int w, int h, int size)
    {
        Skip.IfNot(WideSimd.IsSupported, "the CPU has no AVX-512 BW/VBMI: only the fallback runs here");
        foreach (var acc in new[] { GlobalTileAccumulation.TorchAvx2, GlobalTileAccumulation.Sequential })
            foreach (var pattern in new[] { "photo", "noise" })
            {
                var src = TestImages.Generate(pattern, w, h, 3);
                var wide = new float[3 * size * size];
                var narrow = new float[3 * size * size];
                var scalar = new float[3 * size * size];
                GlobalTileResizer.Resize(src, w, h, size, wide, acc);
                WideSimd.WithoutWide(() => GlobalTileResizer.Resize(src, w, h, size, narrow, acc));
                GlobalTileResizer.Resize(src, w, h, size, scalar, acc, simd: false);
                Assert.Equal(TestImages.Sha(scalar), TestImages.Sha(narrow));
                Assert.Equal(TestImages.Sha(scalar), TestImages.Sha(wide));
            }
    }

    // Source sizes for the whole path at the given options: grids with and without a global tile, up- and downscales,
    // an unchanged side (no fused run: the stages one after another), and split 16 / max side 48.
    public static IEnumerable<object[]> PathSizes =>
    [
        [1920, 1080, 512, 2048], [4032, 3024, 512, 2048], [3024, 4032, 512, 2048], [640, 480, 512, 2048], [300, 200, 512, 512],
        [1000, 3000, 512, 2048], [2048, 1000, 512, 2048], [37, 23, 16, 48], [100, 30, 16, 64], [7, 200, 16, 64],
    ];

    [SkippableTheory]
    [MemberData(nameof(PathSizes))]
    public void Fused_path_equals_separate_stages(int w, int h, int split, int maxSide)
    {
        Skip.IfNot(WideSimd.IsSupported, "the CPU has no AVX-512 BW/VBMI: only the separate stages run here");
        var opt = new ImagePipelineOptions { SplitSize = split, MaxSideLength = maxSide };
        var src = TestImages.Generate("photo", w, h, 9);
        var g = ImageTiler.Plan(w, h, opt);
        int tile = (int)g.TileFloatCount, gridBytes = (int)g.ResizedByteCount;

        float[] fused = new float[g.OutputFloatCount], separate = new float[g.OutputFloatCount];
        byte[] fusedResized = new byte[gridBytes], separateResized = new byte[gridBytes];
        ImageTiler.Process(src, w, h, fused, fusedResized, opt);
        WideSimd.WithoutWide(() => ImageTiler.Process(src, w, h, separate, separateResized, opt));
        Assert.Equal(separateResized, fusedResized);
        Assert.Equal(TestImages.Sha(separate), TestImages.Sha(fused));
        ImageTiler.Process(src, w, h, fused, opt);                 // without the resized copy
        Assert.Equal(TestImages.Sha(separate), TestImages.Sha(fused));

        float[] fusedGlobal = new float[tile], separateGlobal = new float[tile];
        byte[] fusedTiles = new byte[gridBytes], separateTiles = new byte[gridBytes];
        ImageTiler.ProcessUInt8(src, w, h, fusedGlobal, fusedTiles, opt);
        WideSimd.WithoutWide(() => ImageTiler.ProcessUInt8(src, w, h, separateGlobal, separateTiles, opt));
        Assert.Equal(separateTiles, fusedTiles);
        Assert.Equal(TestImages.Sha(separateGlobal), TestImages.Sha(fusedGlobal));

        ushort[] fusedBf = new ushort[g.OutputFloatCount], separateBf = new ushort[g.OutputFloatCount];
        ImageTiler.ProcessBFloat16(src, w, h, fusedBf, opt);
        WideSimd.WithoutWide(() => ImageTiler.ProcessBFloat16(src, w, h, separateBf, opt));
        Assert.Equal(separateBf, fusedBf);
    }

    [SkippableFact]
    public unsafe void Fused_path_runs_for_nanovlm_sizes_and_not_for_an_unchanged_side()
    {
        Skip.IfNot(WideSimd.IsSupported, "the CPU has no AVX-512 BW/VBMI");
        var src = TestImages.Generate("photo", 1920, 1080, 9);
        var g = ImageTiler.Plan(1920, 1080);
        var outp = new float[g.OutputFloatCount];
        fixed (float* p = outp)
        {
            Assert.True(FusedTiler.TryProcess(src, 1920, 1080, g, GlobalTileAccumulation.TorchAvx2, p, p + g.TileFloatCount, FusedTileFormat.Float32, null));
            var same = ImageTiler.Plan(2048, 1536);
            var big = new byte[3 * 2048 * 1536];
            Assert.False(FusedTiler.TryProcess(big, 2048, 1536, same, GlobalTileAccumulation.TorchAvx2, p, p + g.TileFloatCount, FusedTileFormat.Float32, null));
        }
    }
}

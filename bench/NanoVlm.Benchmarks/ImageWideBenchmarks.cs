using BenchmarkDotNet.Attributes;
using NanoVlm.Kernels;
using NanoVlm.Kernels.Internal;

namespace NanoVlm.Benchmarks;

/// <summary>
/// Before/after of the 512-bit image kernels in one run: each stage with the AVX-512 path and with the 256-bit/SSE
/// fallback it replaced (the same code the process runs on a CPU without AVX-512, switched per thread), on the
/// "photo" pattern. Run:
/// <c>dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter '*ImageWideBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser, ShortRunJob]
public class ImageWideBenchmarks
{
    private byte[] _hd = [], _phone = [], _resized = [], _dst = [], _tilesU8 = [];
    private float[] _global = [], _out = [];

    /// <summary>Source images and reused outputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _hd = ImageBenchData.Photo(1920, 1080);
        _phone = ImageBenchData.Photo(4032, 3024);
        _resized = ImageBenchData.Photo(2048, 1536);
        _dst = new byte[3 * 2048 * 1536];
        _tilesU8 = new byte[3 * 2048 * 1536];
        _global = new float[3 * 512 * 512];
        _out = new float[ImageTiler.Plan(4032, 3024).OutputFloatCount];
    }

    private static T Fallback<T>(Func<T> f)
    {
        WideSimd.DisabledOnThisThread = true;
        try { return f(); }
        finally { WideSimd.DisabledOnThisThread = false; }
    }

    /// <summary>Bicubic 1920×1080 → 2048×1536, AVX-512.</summary>
    [Benchmark] public void Resize_1920x1080_Avx512() => BicubicResizer.Resize(_hd, 1920, 1080, _dst, 2048, 1536);

    /// <summary>The same, 256-bit fallback.</summary>
    [Benchmark] public int Resize_1920x1080_Fallback() => Fallback(() => { BicubicResizer.Resize(_hd, 1920, 1080, _dst, 2048, 1536); return 0; });

    /// <summary>Bicubic 4032×3024 → 2048×1536, AVX-512.</summary>
    [Benchmark] public void Resize_4032x3024_Avx512() => BicubicResizer.Resize(_phone, 4032, 3024, _dst, 2048, 1536);

    /// <summary>The same, 256-bit fallback.</summary>
    [Benchmark] public int Resize_4032x3024_Fallback() => Fallback(() => { BicubicResizer.Resize(_phone, 4032, 3024, _dst, 2048, 1536); return 0; });

    /// <summary>Global tile 2048×1536 → 512×512, AVX-512 (phase rows).</summary>
    [Benchmark] public void Global_Avx512() => GlobalTileResizer.Resize(_resized, 2048, 1536, 512, _global);

    /// <summary>The same, AVX2 gather fallback.</summary>
    [Benchmark] public int Global_Fallback() => Fallback(() => { GlobalTileResizer.Resize(_resized, 2048, 1536, 512, _global); return 0; });

    /// <summary>uint8 tile split of 2048×1536, SIMD.</summary>
    [Benchmark] public void TilesUInt8_Simd() => TileWriter.WriteTilesUInt8(_resized, 2048, 1536, 512, _tilesU8);

    /// <summary>The same, the table-mapped scalar split it replaced.</summary>
    [Benchmark] public void TilesUInt8_Scalar() => TileWriter.WriteTilesUInt8(_resized, 2048, 1536, 512, _tilesU8, simd: false);

    /// <summary>Whole float32 path from RGB8, 4032×3024 → [13, 3, 512, 512], AVX-512.</summary>
    [Benchmark] public ImageGeometry Path_4032x3024_Avx512() => ImageTiler.Process(_phone, 4032, 3024, _out);

    /// <summary>The same, fallback.</summary>
    [Benchmark] public ImageGeometry Path_4032x3024_Fallback() => Fallback(() => ImageTiler.Process(_phone, 4032, 3024, _out));

    /// <summary>Whole uint8 path (the loader's training format) from RGB8, 1920×1080, AVX-512.</summary>
    [Benchmark] public ImageGeometry PathUInt8_1920x1080_Avx512() => ImageTiler.ProcessUInt8(_hd, 1920, 1080, _global, _tilesU8);

    /// <summary>The same, fallback.</summary>
    [Benchmark] public ImageGeometry PathUInt8_1920x1080_Fallback() => Fallback(() => ImageTiler.ProcessUInt8(_hd, 1920, 1080, _global, _tilesU8));
}

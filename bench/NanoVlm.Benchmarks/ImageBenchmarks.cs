using BenchmarkDotNet.Attributes;
using NanoVlm.Kernels;

namespace NanoVlm.Benchmarks;

/// <summary>Synthetic photo-like RGB8 images (same formula as tools/make_image_fixtures.py "photo").</summary>
internal static class ImageBenchData
{
    public static byte[] Photo(int w, int h, int seed = 7)
    {
        var img = new byte[3 * w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    uint v = (uint)x * 0x9E3779B1u + (uint)y * 0x85EBCA77u + (uint)c * 0xC2B2AE3Du + (uint)seed * 0x27D4EB2Fu;
                    v ^= v >> 15; v *= 0x2C1B3C6D; v ^= v >> 12; v *= 0x297A2D39; v ^= v >> 15;
                    long b = ((long)x * 191 / (w - 1) + (long)y * 64 / (h - 1) + c * 40) % 256 + (v >> 27) - 16;
                    img[(y * w + x) * 3 + c] = (byte)Math.Clamp(b, 0, 255);
                }
        return img;
    }
}

/// <summary>Stage 1: Pillow-exact bicubic DynamicResize, 1920×1080 → 2048×1536 (upscale) and 4032×3024 → 2048×1536 (downscale).</summary>
[MemoryDiagnoser, ShortRunJob]
public class ImageResizeBenchmarks
{
    private byte[] _hd = [], _phone = [], _dst = [];

    [GlobalSetup]
    public void Setup()
    {
        _hd = ImageBenchData.Photo(1920, 1080);
        _phone = ImageBenchData.Photo(4032, 3024);
        _dst = new byte[3 * 2048 * 1536];
    }

    [Benchmark(Baseline = true)]
    public void Resize_1920x1080_Simd() => BicubicResizer.Resize(_hd, 1920, 1080, _dst, 2048, 1536);

    [Benchmark]
    public void Resize_1920x1080_Scalar() => BicubicResizer.Resize(_hd, 1920, 1080, _dst, 2048, 1536, simd: false);

    [Benchmark]
    public void Resize_4032x3024_Simd() => BicubicResizer.Resize(_phone, 4032, 3024, _dst, 2048, 1536);
}

/// <summary>Stage 2: ToTensor + split of a 2048×1536 resized image into 12 tiles [12, 3, 512, 512].</summary>
[MemoryDiagnoser, ShortRunJob]
public class ImageTileBenchmarks
{
    private byte[] _resized = [];
    private float[] _tiles = [];
    private ushort[] _bf16 = [];

    [GlobalSetup]
    public void Setup()
    {
        _resized = ImageBenchData.Photo(2048, 1536);
        _tiles = new float[3 * 2048 * 1536];
        _bf16 = new ushort[3 * 2048 * 1536];
    }

    [Benchmark(Baseline = true)]
    public void Tiles_Float32_Simd() => TileWriter.WriteTiles(_resized, 2048, 1536, 512, _tiles);

    [Benchmark]
    public void Tiles_Float32_Scalar() => TileWriter.WriteTiles(_resized, 2048, 1536, 512, _tiles, simd: false);

    [Benchmark]
    public void Tiles_BFloat16() => TileWriter.WriteTilesBFloat16(_resized, 2048, 1536, 512, _bf16);
}

/// <summary>Stage 3: global tile, 2048×1536 → 512×512 bilinear antialias (torch-exact and sequential variants).</summary>
[MemoryDiagnoser, ShortRunJob]
public class ImageGlobalBenchmarks
{
    private byte[] _resized = [];
    private float[] _global = [];

    [GlobalSetup]
    public void Setup()
    {
        _resized = ImageBenchData.Photo(2048, 1536);
        _global = new float[3 * 512 * 512];
    }

    [Benchmark(Baseline = true)]
    public void Global_TorchAvx2() => GlobalTileResizer.Resize(_resized, 2048, 1536, 512, _global);

    [Benchmark]
    public void Global_Sequential() => GlobalTileResizer.Resize(_resized, 2048, 1536, 512, _global, GlobalTileAccumulation.Sequential);
}

/// <summary>Whole per-image path (resize + global + tiles) for one 1920×1080 image: [13, 3, 512, 512].</summary>
[MemoryDiagnoser, ShortRunJob]
public class ImagePathBenchmarks
{
    private byte[] _hd = [];
    private float[] _out = [];

    [GlobalSetup]
    public void Setup()
    {
        _hd = ImageBenchData.Photo(1920, 1080);
        _out = new float[ImageTiler.Plan(1920, 1080).OutputFloatCount];
    }

    [Benchmark]
    public ImageGeometry FullPath_1920x1080() => ImageTiler.Process(_hd, 1920, 1080, _out);
}

/// <summary>
/// The whole per-image path through <see cref="NanoVlm.Loader.Images.ImagePreprocessor"/> from encoded JPEG bytes
/// (quality 90, encoded in setup with SkiaSharp from the "photo" pattern): decode + DynamicResize + global + tiles,
/// as the loader and <c>nanovlm preprocess</c> run it. Allocated bytes per operation = allocations per image.
/// </summary>
[MemoryDiagnoser, ShortRunJob]
public class ImagePreprocessorBenchmarks
{
    private readonly NanoVlm.Loader.Images.ImagePreprocessor _pre = new();
    private byte[] _hdJpeg = [], _phoneJpeg = [], _rgb = [];
    private float[] _out = [];

    [GlobalSetup]
    public void Setup()
    {
        _hdJpeg = Jpeg(ImageBenchData.Photo(1920, 1080), 1920, 1080);
        _phoneJpeg = Jpeg(ImageBenchData.Photo(4032, 3024), 4032, 3024);
        _out = new float[ImageTiler.Plan(4032, 3024).OutputFloatCount];
        _rgb = new byte[3 * 4032 * 3024];
    }

    private static byte[] Jpeg(byte[] rgb, int w, int h)
    {
        var info = new SkiaSharp.SKImageInfo(w, h, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Opaque);
        using var bmp = new SkiaSharp.SKBitmap(info);
        Span<byte> px = bmp.GetPixelSpan();
        for (int i = 0; i < w * h; i++)
        {
            px[4 * i] = rgb[3 * i];
            px[4 * i + 1] = rgb[3 * i + 1];
            px[4 * i + 2] = rgb[3 * i + 2];
            px[4 * i + 3] = 255;
        }
        using var img = SkiaSharp.SKImage.FromBitmap(bmp);
        return img.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90).ToArray();
    }

    [Benchmark]
    public int Decode_Jpeg_1920x1080() => NanoVlm.Loader.Images.ImageDecoder.Default.DecodeRgb8(_hdJpeg, _rgb, "hd.jpg").Width;

    [Benchmark]
    public int Decode_Jpeg_4032x3024() => NanoVlm.Loader.Images.ImageDecoder.Default.DecodeRgb8(_phoneJpeg, _rgb, "phone.jpg").Width;

    [Benchmark]
    public ImageGeometry Plan_Jpeg_4032x3024() => _pre.Plan(_phoneJpeg, "phone.jpg");

    [Benchmark(Baseline = true)]
    public ImageGeometry Full_Jpeg_1920x1080() => _pre.Process(_hdJpeg, "hd.jpg", _out);

    [Benchmark]
    public ImageGeometry Full_Jpeg_4032x3024() => _pre.Process(_phoneJpeg, "phone.jpg", _out);
}

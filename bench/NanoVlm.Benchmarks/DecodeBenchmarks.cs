using BenchmarkDotNet.Attributes;
using NanoVlm.Loader.Images;
using SkiaSharp;

namespace NanoVlm.Benchmarks;

/// <summary>
/// Header probe and RGB8 decode of a 1920x1080 photo-like image (gradients + noise), encoded in setup with SkiaSharp
/// as JPEG (quality 90, 4:2:0) and PNG. Run: <c>dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter *DecodeBenchmarks*</c>.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class DecodeBenchmarks
{
    private byte[] _jpeg = [];
    private byte[] _png = [];
    private byte[] _dst = [];
    private readonly ImageDecoder _decoder = ImageDecoder.Default;

    /// <summary>Encodes the two test images and allocates the destination once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        const int w = 1920, h = 1080;
        using SKBitmap bmp = GradientNoise(w, h);
        using SKImage img = SKImage.FromBitmap(bmp);
        _jpeg = img.Encode(SKEncodedImageFormat.Jpeg, 90).ToArray();
        _png = img.Encode(SKEncodedImageFormat.Png, 100).ToArray();
        _dst = new byte[w * h * 3];
    }

    /// <summary>JPEG SOF probe.</summary>
    [Benchmark]
    public int ProbeJpeg() => ImageProbe.Probe(_jpeg, "bench.jpg").Width;

    /// <summary>PNG IHDR probe.</summary>
    [Benchmark]
    public int ProbePng() => ImageProbe.Probe(_png, "bench.png").Width;

    /// <summary>JPEG decode into a caller buffer (the pack-slab path).</summary>
    [Benchmark]
    public int DecodeJpegIntoSpan() => _decoder.DecodeRgb8(_jpeg, _dst, "bench.jpg").Width;

    /// <summary>JPEG decode into a pooled buffer.</summary>
    [Benchmark]
    public int DecodeJpegPooled()
    {
        using DecodedImage d = _decoder.DecodeRgb8(_jpeg, "bench.jpg");
        return d.Width;
    }

    /// <summary>PNG decode into a caller buffer.</summary>
    [Benchmark]
    public int DecodePngIntoSpan() => _decoder.DecodeRgb8(_png, _dst, "bench.png").Width;

    /// <summary>PNG decode into a pooled buffer.</summary>
    [Benchmark]
    public int DecodePngPooled()
    {
        using DecodedImage d = _decoder.DecodeRgb8(_png, "bench.png");
        return d.Width;
    }

    /// <summary>A <paramref name="w"/>×<paramref name="h"/> RGBA image of colour gradients, a sine band and ±12 noise (seed 42).</summary>
    internal static SKBitmap GradientNoise(int w, int h)
    {
        var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rng = new Random(42);
        Span<byte> px = bmp.GetPixelSpan();
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int i = (y * w + x) * 4, n = rng.Next(-12, 13);
                px[i] = (byte)Math.Clamp(x * 255 / w + n, 0, 255);
                px[i + 1] = (byte)Math.Clamp(y * 255 / h + n, 0, 255);
                px[i + 2] = (byte)Math.Clamp(128 + (int)(100 * Math.Sin((x + 2 * y) / 40.0)) + n, 0, 255);
                px[i + 3] = 255;
            }
        }
        return bmp;
    }
}

/// <summary>
/// The two JPEG decoders on the same bytes: SkiaSharp's built-in libjpeg-turbo (no SIMD in the linux-x64 build) against
/// the system TurboJPEG (<c>libturbojpeg.so.0</c>, SIMD). Images: the 1920×1080 gradient + noise of
/// <see cref="DecodeBenchmarks"/> and the "photo" pattern of the image-path suites at 1920×1080 and 4032×3024, all
/// encoded with SkiaSharp at quality 90 (4:2:0). Run:
/// <c>dotnet run -c Release --project bench/NanoVlm.Benchmarks -- --filter '*JpegDecoderBenchmarks*' --job short --memory</c>.
/// </summary>
public class JpegDecoderBenchmarks
{
    private byte[] _jpeg = [];
    private byte[] _dst = [];
    private ImageDecoder _decoder = ImageDecoder.Default;

    /// <summary>The JPEG decoder.</summary>
    [ParamsSource(nameof(Backends))]
    public JpegBackend Backend { get; set; }

    /// <summary>
    /// SkiaSharp, and TurboJPEG when <c>libturbojpeg.so.0</c> is installed (it is optional): without it the TurboJPEG
    /// cases are left out with a note on the console instead of failing in their setup.
    /// </summary>
    public static IEnumerable<JpegBackend> Backends()
    {
        yield return JpegBackend.Skia;
        if (ImageDecoder.IsTurboJpegAvailable) yield return JpegBackend.TurboJpeg;
        else Console.WriteLine("JpegDecoderBenchmarks: TurboJPEG cases skipped: libturbojpeg.so.0 is not installed (Debian/Ubuntu: apt-get install libturbojpeg0).");
    }

    /// <summary>The source image: pattern and size.</summary>
    [Params("noise_1920x1080", "photo_1920x1080", "photo_4032x3024")]
    public string Image { get; set; } = "";

    /// <summary>Encodes the image and creates the decoder for <see cref="Backend"/>.</summary>
    [GlobalSetup]
    public void Setup()
    {
        string[] parts = Image.Split('_', 'x');
        int w = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        int h = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bmp = new SKBitmap(info);
        Span<byte> px = bmp.GetPixelSpan();
        if (parts[0] == "photo")
        {
            byte[] rgb = ImageBenchData.Photo(w, h);
            for (int i = 0; i < w * h; i++)
            {
                px[4 * i] = rgb[3 * i];
                px[4 * i + 1] = rgb[3 * i + 1];
                px[4 * i + 2] = rgb[3 * i + 2];
                px[4 * i + 3] = 255;
            }
        }
        else
        {
            using SKBitmap noise = DecodeBenchmarks.GradientNoise(w, h);
            noise.GetPixelSpan().CopyTo(px);
        }
        using SKImage img = SKImage.FromBitmap(bmp);
        _jpeg = img.Encode(SKEncodedImageFormat.Jpeg, 90).ToArray();
        _dst = new byte[w * h * 3];
        _decoder = new ImageDecoder(new ImageDecoderOptions { JpegDecoder = Backend });
    }

    /// <summary>Decode into a caller buffer (the pack-slab path), probe and completeness check included.</summary>
    [Benchmark]
    public int Decode() => _decoder.DecodeRgb8(_jpeg, _dst, "bench.jpg").Width;
}

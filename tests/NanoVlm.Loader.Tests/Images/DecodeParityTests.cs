using System.Security.Cryptography;
using NanoVlm.Loader.Images;
using SkiaSharp;

namespace NanoVlm.Loader.Tests.Images;

/// <summary>Decoded bytes against Pillow 9.4's <c>Image.open(f).convert('RGB')</c> (tools/make_decode_fixtures.py).</summary>
public class DecodeParityTests
{
    public static TheoryData<string> RgbFiles => DecodeFixture.Files(f => f.HasRgb);

    public static TheoryData<string> AllFiles => DecodeFixture.Files(_ => true);

    /// <summary>Every fixture; JPEGs once per JPEG decoder.</summary>
    public static TheoryData<string, JpegBackend> AllFilesByBackend => DecodeFixture.FilesByBackend(_ => true);

    [Fact]
    public void Manifest_CoversEveryFormatAndPillowMode()
    {
        var all = DecodeFixture.All;
        Assert.Equal(["BMP", "GIF", "JPEG", "PNG", "WEBP"], all.Select(f => f.Format).Distinct().Order());
        foreach (string mode in new[] { "RGB", "RGBA", "L", "LA", "P", "1", "I", "CMYK" })
            Assert.Contains(all, f => f.PillowMode == mode);
    }

    [Theory]
    [MemberData(nameof(RgbFiles))]
    public void Fixture_RgbFileMatchesManifestHash(string file)
    {
        var f = DecodeFixture.Get(file);
        byte[] rgb = f.PillowRgb();
        Assert.Equal(f.Width * f.Height * 3, rgb.Length);
        Assert.Equal(f.Sha256, Convert.ToHexStringLower(SHA256.HashData(rgb)));
    }

    /// <summary>Every fixture, every format and mode (JPEG included, with both JPEG decoders): byte-identical to Pillow.</summary>
    [SkippableTheory]
    [MemberData(nameof(AllFilesByBackend))]
    public void DecodeRgb8_Pooled_IsByteIdenticalToPillow(string file, JpegBackend backend)
    {
        var f = DecodeFixture.Get(file);
        using DecodedImage img = DecodeFixture.Decoder(backend).DecodeRgb8(f.Encoded(), file);
        Assert.Equal((f.Width, f.Height), (img.Width, img.Height));
        Assert.Equal(f.Width * f.Height * 3, img.Length);
        if (f.HasRgb)
        {
            Residual r = Residual.Of(img.Pixels, f.PillowRgb());
            Assert.True(r.MaxAbsDiff == 0, $"{file}: {r}");
        }
        Assert.Equal(f.Sha256, Convert.ToHexStringLower(SHA256.HashData(img.Pixels)));
    }

    [SkippableTheory]
    [MemberData(nameof(AllFilesByBackend))]
    public void DecodeRgb8_IntoCallerSpan_IsByteIdenticalToPillowAndLeavesTheTailAlone(string file, JpegBackend backend)
    {
        var f = DecodeFixture.Get(file);
        byte[] encoded = f.Encoded();
        ImageDecoder decoder = DecodeFixture.Decoder(backend);
        ImageHeader h = decoder.ProbeChecked(encoded, file);
        var dst = new byte[h.Rgb8ByteCount + 7];
        dst.AsSpan().Fill(0xA5);
        ImageHeader got = decoder.DecodeRgb8(encoded, dst, file);
        Assert.Equal(h, got);
        Assert.Equal(f.Sha256, Convert.ToHexStringLower(SHA256.HashData(dst.AsSpan(0, (int)h.Rgb8ByteCount))));
        Assert.All(dst[(int)h.Rgb8ByteCount..], b => Assert.Equal(0xA5, b));
    }

    /// <summary>
    /// Pillow 9.4 opens a 16-bit gray PNG as mode "I" and convert('RGB') clips v to 0..255 (it does not scale); the
    /// fixtures hold values below 256 in row 0, so the output is neither all-255 nor the high byte.
    /// </summary>
    [Theory]
    [InlineData("png_l16_11x9.png")]
    [InlineData("png_l16_interlaced_11x9.png")]
    public void Gray16Png_IsClippedNotScaled_LikePillowModeI(string file)
    {
        var f = DecodeFixture.Get(file);
        Assert.Equal("I", f.PillowMode);
        byte[] pillow = f.PillowRgb();
        Assert.Contains(pillow, b => b is > 0 and < 255);
        using DecodedImage img = ImageDecoder.Default.DecodeRgb8(f.Encoded(), file);
        Assert.True(img.Pixels.SequenceEqual(pillow));
    }

    [SkippableTheory]
    [InlineData("png_gama_chrm_37x23.png", "png_rgb_37x23.png", JpegBackend.Auto)]
    [InlineData("jpeg_icc_linear_37x23.jpg", "jpeg_exif_rotated_37x23.jpg", JpegBackend.Skia)]
    [InlineData("jpeg_icc_linear_37x23.jpg", "jpeg_exif_rotated_37x23.jpg", JpegBackend.TurboJpeg)]
    public void ColourProfiles_AreIgnored_LikePillowConvert(string withProfile, string samePixelsWithout, JpegBackend backend)
    {
        // The profiled file has the same stored pixels as its twin; a colour-managed decode would change them.
        var f = DecodeFixture.Get(withProfile);
        Assert.Equal(DecodeFixture.Get(samePixelsWithout).Sha256, f.Sha256);
        using (var codec = SKCodec.Create(new SKMemoryStream(f.Encoded())))
        {
            Assert.False(codec.Info.ColorSpace is null || codec.Info.ColorSpace.IsSrgb, "the profile is not seen as non-sRGB");
        }
        using DecodedImage img = DecodeFixture.Decoder(backend).DecodeRgb8(f.Encoded(), withProfile);
        Assert.True(img.Pixels.SequenceEqual(f.PillowRgb()));
    }

    [Theory]
    [InlineData("png_rgba_37x23.png")]
    [InlineData("png_la_33x17.png")]
    [InlineData("png_pa_31x19.png")]
    [InlineData("webp_lossless_rgba_37x23.webp")]
    public void AlphaImages_HaveTransparentAndSemiTransparentPixelsWithColour(string file)
    {
        // Guards the fixtures: if they lost their alpha variety, the exact-match test above would no longer prove that
        // decoding is unpremultiplied and alpha is dropped (not composited).
        var f = DecodeFixture.Get(file);
        using var codec = SKCodec.Create(new SKMemoryStream(f.Encoded()));
        using var bmp = new SKBitmap(new SKImageInfo(f.Width, f.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Assert.Equal(SKCodecResult.Success, codec.GetPixels(bmp.Info, bmp.GetPixels()));
        ReadOnlySpan<byte> px = bmp.GetPixelSpan();
        bool zeroAlphaWithColour = false, semi = false;
        for (int i = 0; i < px.Length; i += 4)
        {
            if (px[i + 3] == 0 && (px[i] | px[i + 1] | px[i + 2]) != 0) zeroAlphaWithColour = true;
            if (px[i + 3] is > 0 and < 128 && (px[i] | px[i + 1] | px[i + 2]) > px[i + 3]) semi = true;
        }
        Assert.True(zeroAlphaWithColour, "no transparent pixel keeps a colour");
        Assert.True(semi, "no semi-transparent pixel with colour above its alpha");
    }

    [SkippableTheory]
    [InlineData(JpegBackend.Skia)]
    [InlineData(JpegBackend.TurboJpeg)]
    public void ExifOrientation_IsNotApplied(JpegBackend backend)
    {
        var f = DecodeFixture.Get("jpeg_exif_rotated_37x23.jpg");
        byte[] encoded = f.Encoded();
        using (var codec = SKCodec.Create(new SKMemoryStream(encoded)))
        {
            Assert.Equal(SKEncodedOrigin.RightTop, codec.EncodedOrigin); // orientation 6 is really in the file
        }
        using DecodedImage img = DecodeFixture.Decoder(backend).DecodeRgb8(encoded, f.File);
        Assert.Equal((37, 23), (img.Width, img.Height));
        Assert.True(img.Pixels.SequenceEqual(f.PillowRgb()));
    }

    /// <summary>
    /// Steady state of the caller-span path: the only managed allocations are SkiaSharp's wrapper objects (SKData,
    /// SKMemoryStream, SKCodec and their dispose bookkeeping, about 1.4 KB); nothing proportional to the image. The
    /// TurboJPEG path allocates nothing at all, which also proves the JPEG really went through TurboJPEG.
    /// </summary>
    [SkippableTheory]
    [InlineData("jpeg_420_q90_640x480.jpg", JpegBackend.Skia, 2560)]
    [InlineData("jpeg_420_q90_640x480.jpg", JpegBackend.TurboJpeg, 0)]
    [InlineData("jpeg_420_q30_progressive_641x479.jpg", JpegBackend.TurboJpeg, 0)]
    [InlineData("jpeg_gray_37x23.jpg", JpegBackend.TurboJpeg, 0)]
    [InlineData("png_rgb_513x7.png", JpegBackend.Auto, 2560)]
    [InlineData("gif_trns_31x19.gif", JpegBackend.Auto, 2560)]
    [InlineData("png_l16_11x9.png", JpegBackend.Auto, 2560)]
    public void DecodeIntoSpan_SteadyStateAllocations_AreSmallAndSizeIndependent(string file, JpegBackend backend, int limit)
    {
        byte[] enc = DecodeFixture.Get(file).Encoded();
        ImageDecoder decoder = DecodeFixture.Decoder(backend);
        var dst = new byte[ImageProbe.Probe(enc, file).Rgb8ByteCount];
        long perImage = DecodeFixture.SteadyAllocationPerCall(() => decoder.DecodeRgb8(enc, dst, file));
        // 16-bit gray PNG uses ZLibStream (about 0.5 KB more); everything else is SkiaSharp's wrappers.
        Assert.True(perImage <= limit, $"{file}: {perImage} B per decode");
    }

    /// <summary>The default decoder uses TurboJPEG exactly when the library loads (and no environment override is set).</summary>
    [Fact]
    public void DefaultDecoder_UsesTurboJpeg_WhenTheLibraryIsInstalled()
    {
        if (Environment.GetEnvironmentVariable("NANOVLM_JPEG_DECODER") is { Length: > 0 }) return;
        Assert.Equal(ImageDecoder.IsTurboJpegAvailable ? JpegBackend.TurboJpeg : JpegBackend.Skia, ImageDecoder.Default.JpegBackend);
        Assert.Equal(JpegBackend.Skia, new ImageDecoder(new ImageDecoderOptions { JpegDecoder = JpegBackend.Skia }).JpegBackend);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDecoder(new ImageDecoderOptions { JpegDecoder = (JpegBackend)7 }));
    }

    /// <summary>
    /// Both JPEG decoders give the same bytes on every intact fixture (CMYK included), and the TurboJPEG decoder is
    /// thread-safe (a decompressor per image).
    /// </summary>
    [SkippableFact]
    public void TurboJpeg_IsThreadSafe_AndMatchesSkiaOnEveryJpegFixture()
    {
        var jpegs = DecodeFixture.All.Where(f => f.Format == "JPEG").Select(f => (f.File, f.Encoded())).ToArray();
        ImageDecoder turbo = DecodeFixture.Decoder(JpegBackend.TurboJpeg), skia = DecodeFixture.Decoder(JpegBackend.Skia);
        var expected = jpegs.Select(j =>
        {
            using DecodedImage d = skia.DecodeRgb8(j.Item2, j.File);
            return d.Pixels.ToArray();
        }).ToArray();
        int failures = 0;
        Parallel.For(0, jpegs.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var (file, enc) = jpegs[i % jpegs.Length];
            using DecodedImage img = turbo.DecodeRgb8(enc, file);
            if (!img.Pixels.SequenceEqual(expected[i % jpegs.Length])) Interlocked.Increment(ref failures);
        });
        Assert.Equal(0, failures);
    }

    [Fact]
    public void Decoder_IsThreadSafe()
    {
        var fixtures = DecodeFixture.All.Where(f => f.HasRgb).Select(f => (f.File, f.Encoded(), f.PillowRgb())).ToArray();
        var decoder = new ImageDecoder();
        int failures = 0;
        Parallel.For(0, fixtures.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var (file, enc, expected) = fixtures[i % fixtures.Length];
            using DecodedImage img = decoder.DecodeRgb8(enc, file);
            if (!img.Pixels.SequenceEqual(expected)) Interlocked.Increment(ref failures);
        });
        Assert.Equal(0, failures);
    }

    [Fact]
    public void DecodedImage_DisposeReturnsBufferOnceAndBlocksAccess()
    {
        var f = DecodeFixture.Get("png_rgb_37x23.png");
        DecodedImage img = ImageDecoder.Default.DecodeRgb8(f.Encoded(), f.File);
        img.Dispose();
        img.Dispose();
        Assert.Throws<ObjectDisposedException>(() => img.Pixels.Length);
    }
}

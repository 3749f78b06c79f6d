using System.Buffers.Binary;
using NanoVlm.Loader.Images;
using SkiaSharp;

namespace NanoVlm.Loader.Tests.Images;

public class ImageProbeTests
{
    public static TheoryData<string> AllFiles => DecodeFixture.Files(_ => true);

    private static ImageFormat FromPillow(string format) => format switch
    {
        "JPEG" => ImageFormat.Jpeg,
        "PNG" => ImageFormat.Png,
        "WEBP" => ImageFormat.WebP,
        "BMP" => ImageFormat.Bmp,
        "GIF" => ImageFormat.Gif,
        _ => throw new ArgumentException(format),
    };

    private static SKEncodedImageFormat ToSkia(ImageFormat f) => f switch
    {
        ImageFormat.Jpeg => SKEncodedImageFormat.Jpeg,
        ImageFormat.Png => SKEncodedImageFormat.Png,
        ImageFormat.WebP => SKEncodedImageFormat.Webp,
        ImageFormat.Bmp => SKEncodedImageFormat.Bmp,
        _ => SKEncodedImageFormat.Gif,
    };

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Probe_AgreesWithPillowAndSkia(string file)
    {
        var f = DecodeFixture.Get(file);
        byte[] enc = f.Encoded();
        ImageHeader h = ImageProbe.Probe(enc, file);
        Assert.Equal(FromPillow(f.Format), h.Format);
        Assert.Equal((f.Width, f.Height), (h.Width, h.Height));
        Assert.Equal(h.Format, ImageProbe.DetectFormat(enc));
        using var codec = SKCodec.Create(new SKMemoryStream(enc));
        Assert.Equal((codec.Info.Width, codec.Info.Height), (h.Width, h.Height));
        Assert.Equal(ToSkia(h.Format), codec.EncodedFormat);
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Probe_EveryPrefix_IsTruncatedOrTheFullHeader(string file)
    {
        byte[] enc = DecodeFixture.Get(file).Encoded();
        ImageHeader full = ImageProbe.Probe(enc, file);
        bool seenOk = false;
        for (int n = 0; n <= Math.Min(enc.Length, 700); n++)
        {
            if (ImageProbe.TryProbe(enc.AsSpan(0, n), out ImageHeader h))
            {
                Assert.Equal(full, h);
                seenOk = true;
            }
            else
            {
                Assert.False(seenOk, $"prefix {n} failed after a shorter one succeeded");
                var e = Assert.Throws<ImageDecodeException>(() => ImageProbe.Probe(enc.AsSpan(0, n), "p"));
                Assert.Equal(n == 0 ? ImageDecodeFailure.Empty : ImageDecodeFailure.Truncated, e.Reason);
            }
        }
        Assert.True(seenOk);
    }

    [Theory]
    [InlineData("png_rgb_37x23.png", 3, 8, false, false, false)]
    [InlineData("png_rgba_37x23.png", 4, 8, false, true, false)]
    [InlineData("png_la_33x17.png", 2, 8, false, true, false)]
    [InlineData("png_p4bit_13x9.png", 1, 4, true, false, false)]
    [InlineData("png_1bit_21x5.png", 1, 1, false, false, false)]
    [InlineData("png_l16_11x9.png", 1, 16, false, false, false)]
    [InlineData("png_rgb_interlaced_37x23.png", 3, 8, false, false, true)]
    [InlineData("jpeg_420_37x23.jpg", 3, 8, false, false, false)]
    [InlineData("jpeg_progressive_37x23.jpg", 3, 8, false, false, true)]
    [InlineData("jpeg_gray_37x23.jpg", 1, 8, false, false, false)]
    [InlineData("jpeg_cmyk_37x23.jpg", 4, 8, false, false, false)]
    [InlineData("webp_lossless_rgba_37x23.webp", 4, 8, false, true, false)]
    [InlineData("bmp_rgb_37x23.bmp", 3, 24, false, false, false)]
    [InlineData("bmp_p_31x19.bmp", 1, 8, true, false, false)]
    [InlineData("gif_p_31x19.gif", 1, 8, true, false, false)]
    public void Probe_ReportsChannelLayout(string file, int comps, int bits, bool palette, bool alpha, bool progressive)
    {
        ImageHeader h = ImageProbe.Probe(DecodeFixture.Get(file).Encoded(), file);
        Assert.Equal((comps, bits, palette, alpha, progressive), (h.Components, h.BitsPerSample, h.IsPalette, h.HasAlpha, h.IsProgressive));
        Assert.Equal((long)h.Width * h.Height * 3, h.Rgb8ByteCount);
    }

    [Fact]
    public void Probe_Jpeg_SkipsLargeAppSegmentsAndFillBytes()
    {
        byte[] jpeg = DecodeFixture.Get("jpeg_420_37x23.jpg").Encoded();
        // Insert an APP2 segment of 60000 bytes and two fill bytes right after SOI.
        var app = new byte[4 + 60000];
        app[0] = 0xFF; app[1] = 0xE2;
        BinaryPrimitives.WriteUInt16BigEndian(app.AsSpan(2), 60002);
        byte[] patched = [.. jpeg[..2], 0xFF, 0xFF, .. app, .. jpeg[2..]];
        ImageHeader h = ImageProbe.Probe(patched, "app2");
        Assert.Equal((37, 23), (h.Width, h.Height));
        using DecodedImage img = ImageDecoder.Default.DecodeRgb8(patched, "app2");
        Assert.True(img.Pixels.SequenceEqual(DecodeFixture.Get("jpeg_420_37x23.jpg").PillowRgb()));
    }

    [Fact]
    public void Probe_HandBuiltHeaders()
    {
        // BMP with BITMAPCOREHEADER (OS/2, 16-bit sizes).
        byte[] core = new byte[26];
        "BM"u8.CopyTo(core);
        BinaryPrimitives.WriteUInt32LittleEndian(core.AsSpan(14), 12);
        BinaryPrimitives.WriteUInt16LittleEndian(core.AsSpan(18), 513);
        BinaryPrimitives.WriteUInt16LittleEndian(core.AsSpan(20), 7);
        BinaryPrimitives.WriteUInt16LittleEndian(core.AsSpan(24), 24);
        Assert.Equal((ImageFormat.Bmp, 513, 7), Wh(ImageProbe.Probe(core, "core")));

        // Top-down BMP (negative height).
        byte[] bmp = DecodeFixture.Get("bmp_rgb_37x23.bmp").Encoded();
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), -23);
        Assert.Equal((ImageFormat.Bmp, 37, 23), Wh(ImageProbe.Probe(bmp, "topdown")));

        // WebP VP8X with a 24-bit canvas size.
        byte[] vp8x = new byte[30];
        "RIFF"u8.CopyTo(vp8x);
        "WEBPVP8X"u8.CopyTo(vp8x.AsSpan(8));
        vp8x[20] = 0x10; // alpha
        vp8x[24] = 0xFF; vp8x[25] = 0xFF; vp8x[26] = 0x01; // width-1 = 0x01FFFF
        vp8x[27] = 0x00; vp8x[28] = 0x10; // height-1 = 0x1000
        ImageHeader x = ImageProbe.Probe(vp8x, "vp8x");
        Assert.Equal((ImageFormat.WebP, 0x20000, 0x1001), Wh(x));
        Assert.True(x.HasAlpha);

        static (ImageFormat, int, int) Wh(ImageHeader h) => (h.Format, h.Width, h.Height);
    }

    [Fact]
    public void Probe_Failures_HaveReasonsAndNameTheInput()
    {
        Assert.Equal(ImageDecodeFailure.Empty, Fail([]));
        Assert.Equal(ImageDecodeFailure.UnknownFormat, Fail("hello world, not an image"u8.ToArray()));
        Assert.Equal(ImageDecodeFailure.UnknownFormat, Fail([0x00, 0x00, 0x01, 0x00])); // ICO is not supported
        Assert.Equal(ImageDecodeFailure.Truncated, Fail([0x89, 0x50, 0x4E]));

        byte[] png = DecodeFixture.Get("png_rgb_37x23.png").Encoded();
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), 0);
        Assert.Equal(ImageDecodeFailure.Corrupt, Fail(png));

        byte[] jpeg = DecodeFixture.Get("jpeg_444_37x23.jpg").Encoded();
        int sof = jpeg.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 0); // height 0: defined later by DNL
        Assert.Equal(ImageDecodeFailure.Unsupported, Fail(jpeg));
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 23);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 0); // width 0
        Assert.Equal(ImageDecodeFailure.Corrupt, Fail(jpeg));

        static ImageDecodeFailure Fail(byte[] data)
        {
            Assert.False(ImageProbe.TryProbe(data, out ImageHeader h));
            Assert.Equal(default, h);
            var e = Assert.Throws<ImageDecodeException>(() => ImageProbe.Probe(data, "shard-00001.parquet row 17 image 0"));
            Assert.Contains("shard-00001.parquet row 17 image 0", e.Message);
            Assert.Contains(e.Reason.ToString(), e.Message);
            Assert.Equal("shard-00001.parquet row 17 image 0", e.InputName);
            return e.Reason;
        }
    }
}

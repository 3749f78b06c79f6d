using System.Buffers.Binary;
using NanoVlm.Kernels;
using NanoVlm.Loader.Images;

namespace NanoVlm.Loader.Tests.Images;

public class ImagePreprocessorTests
{
    private const string Name = "shard-00001.parquet row 17 image 0";

    private static readonly ImagePipelineOptions Small = new() { SplitSize = 16, MaxSideLength = 48 };

    public static TheoryData<string> RgbFixtures => DecodeFixture.Files(f => f.HasRgb);

    /// <summary>Reference composition: Pillow's decoded pixels (committed .rgb) through the kernel path.</summary>
    private static (ImageGeometry G, float[] Tiles, byte[] Resized) Reference(DecodeFixture f, ImagePipelineOptions o)
    {
        var g = ImageTiler.Plan(f.Width, f.Height, o);
        var tiles = new float[g.OutputFloatCount];
        var resized = new byte[g.ResizedByteCount];
        ImageTiler.Process(f.PillowRgb(), f.Width, f.Height, tiles, resized, o);
        return (g, tiles, resized);
    }

    [Theory]
    [MemberData(nameof(RgbFixtures))]
    public void Process_equals_pillow_decode_through_the_kernels(string file)
    {
        var f = DecodeFixture.Get(file);
        if (f.Format == "JPEG") return; // JPEG decode parity is covered (with its documented residual) by DecodeParityTests
        var (g, tiles, resized) = Reference(f, Small);
        var p = new ImagePreprocessor(Small);
        Assert.Equal(g, p.Plan(f.Encoded(), file));
        var dst = new float[g.OutputFloatCount];
        var rs = new byte[g.ResizedByteCount];
        Assert.Equal(g, p.Process(f.Encoded(), file, dst, rs));
        Assert.Equal(resized, rs);
        Assert.Equal(tiles, dst);
        // Without a resized output, and again on the same instance (scratch reuse) — same floats.
        Array.Clear(dst);
        p.Process(f.Encoded(), file, dst);
        Assert.Equal(tiles, dst);
    }

    [Fact]
    public void Process_equals_decode_then_tiler_for_jpeg_and_default_options()
    {
        byte[] jpg = DecodeFixture.Get("jpeg_420_q90_640x480.jpg").Encoded();
        var p = new ImagePreprocessor();
        var g = p.Plan(jpg, Name);
        Assert.Equal((640, 480, 2048, 1536), (g.SourceWidth, g.SourceHeight, g.TargetWidth, g.TargetHeight));
        Assert.Equal(new TileGrid(3, 4), g.Grid);
        Assert.Equal(13 * 3 * 512 * 512, g.OutputFloatCount);
        Assert.Equal(65 * 13, g.TokenCount);
        using DecodedImage d = ImageDecoder.Default.DecodeRgb8(jpg, Name);
        var expected = new float[g.OutputFloatCount];
        ImageTiler.Process(d.Pixels, d.Width, d.Height, expected);
        var actual = new float[g.OutputFloatCount + 7];
        p.Process(jpg, Name, actual);
        Assert.True(expected.AsSpan().SequenceEqual(actual.AsSpan(0, expected.Length)));
        Assert.All(actual[^7..], v => Assert.Equal(0f, v)); // nothing written past the output
    }

    [Fact]
    public void Plan_reads_the_header_only()
    {
        byte[] png = DecodeFixture.Get("png_rgb_37x23.png").Encoded();
        var p = new ImagePreprocessor(Small);
        var g = p.Plan(png.AsSpan(0, 40), Name); // header only, pixel data cut off
        Assert.Equal(ImageTiler.Plan(37, 23, Small), g);
        Assert.Equal(g, p.Plan(37, 23, Name));
        Assert.Equal(ImageDecodeFailure.Truncated, Assert.Throws<ImageDecodeException>(() => p.Process(png.AsSpan(0, 40), Name, new float[g.OutputFloatCount])).Reason);
    }

    [Fact]
    public void Pixel_limit_is_one_value_and_defaults_to_where_pillow_raises()
    {
        Assert.Equal(2 * 89_478_485L, ImagePipelineOptions.Default.MaxPixels);
        Assert.Equal(ImagePipelineOptions.Default.MaxPixels, ImageDecoderOptions.Default.MaxPixels);
        Assert.Equal(ImagePipelineOptions.DefaultMaxPixels, ImageDecoderOptions.DefaultMaxPixels);
        var o = new ImagePipelineOptions { MaxPixels = 1234 };
        Assert.Equal(1234, new ImagePreprocessor(o).Decoder.Options.MaxPixels);

        byte[] png = DecodeFixture.Get("png_rgb_37x23.png").Encoded();
        var strict = new ImagePreprocessor(Small with { MaxPixels = 37 * 23 - 1 });
        Assert.Equal(ImageDecodeFailure.TooLarge, Assert.Throws<ImageDecodeException>(() => strict.Plan(png, Name)).Reason);
        var e = Assert.Throws<ImageDecodeException>(() => strict.Process(png, Name, new float[1 << 16]));
        Assert.Equal(ImageDecodeFailure.TooLarge, e.Reason);
        Assert.Contains(Name, e.Message);
        Assert.Equal(ImageDecodeFailure.TooLarge, Assert.Throws<ImageDecodeException>(() => strict.Plan(37, 23, Name)).Reason);
        new ImagePreprocessor(Small with { MaxPixels = 37 * 23 }).Process(png, Name, new float[1 << 16]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImagePreprocessor(new ImagePipelineOptions { MaxPixels = 0 }));
    }

    [Fact]
    public void Decompression_bomb_headers_at_the_pillow_boundary()
    {
        byte[] png = DecodeFixture.Get("png_rgb_37x23.png").Encoded();
        var p = new ImagePreprocessor();
        // Exactly 2 × MAX_IMAGE_PIXELS: Pillow only warns, so the plan succeeds (from the header alone).
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), 17_895_697);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), 10);
        Assert.Equal(178_956_970L, 17_895_697L * 10);
        var g = p.Plan(png, Name);
        Assert.Equal(2048, g.TargetWidth);
        // One pixel more: Pillow raises DecompressionBombError; we refuse from the header, nothing decoded.
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), 178_956_971);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), 1);
        Assert.Equal(ImageDecodeFailure.TooLarge, Assert.Throws<ImageDecodeException>(() => p.Plan(png, Name)).Reason);
        Assert.Equal(ImageDecodeFailure.TooLarge, Assert.Throws<ImageDecodeException>(() => p.Process(png, Name, new float[16])).Reason);
    }

    [Fact]
    public void Small_destination_is_rejected_before_decoding_and_nothing_is_written()
    {
        byte[] png = DecodeFixture.Get("png_rgb_37x23.png").Encoded();
        var p = new ImagePreprocessor(Small);
        var g = p.Plan(png, Name);
        var dst = new float[g.OutputFloatCount - 1];
        Array.Fill(dst, -1f);
        Assert.Throws<ArgumentException>(() => p.Process(png, Name, dst));
        Assert.All(dst, v => Assert.Equal(-1f, v));
        var rs = new byte[g.ResizedByteCount - 1];
        Assert.Throws<ArgumentException>(() => p.Process(png, Name, new float[g.OutputFloatCount], rs));
        Assert.All(rs, v => Assert.Equal(0, v));
    }

    [Fact]
    public void Bad_inputs_name_the_input_and_the_reason()
    {
        var p = new ImagePreprocessor(Small);
        var dst = new float[1 << 16];
        Assert.Equal(ImageDecodeFailure.Empty, Assert.Throws<ImageDecodeException>(() => p.Process([], Name, dst)).Reason);
        var e = Assert.Throws<ImageDecodeException>(() => p.Process("<html>"u8.ToArray(), Name, dst));
        Assert.Equal(ImageDecodeFailure.UnknownFormat, e.Reason);
        Assert.Contains(Name, e.Message);
        Assert.Equal(ImageDecodeFailure.Corrupt, Assert.Throws<ImageDecodeException>(() => p.Plan(0, 5, Name)).Reason);
        // The instance stays usable after a failure.
        byte[] png = DecodeFixture.Get("png_rgb_37x23.png").Encoded();
        p.Process(png, Name, dst);
    }

    [Fact]
    public void ProcessRgb8_equals_the_tiler()
    {
        var f = DecodeFixture.Get("png_rgb_37x23.png");
        var (g, tiles, resized) = Reference(f, Small);
        var p = new ImagePreprocessor(Small);
        var dst = new float[g.OutputFloatCount];
        var rs = new byte[g.ResizedByteCount];
        Assert.Equal(g, p.ProcessRgb8(f.PillowRgb(), 37, 23, Name, dst, rs));
        Assert.Equal(tiles, dst);
        Assert.Equal(resized, rs);
        Assert.Throws<ArgumentException>(() => p.ProcessRgb8(new byte[10], 37, 23, Name, dst));
    }

    [Fact]
    public void BFloat16_output_is_the_float_output_rounded()
    {
        var f = DecodeFixture.Get("png_rgb_37x23.png");
        var (g, tiles, _) = Reference(f, Small);
        var bf = new ushort[g.OutputFloatCount];
        Assert.Equal(g, new ImagePreprocessor(Small).ProcessBFloat16(f.Encoded(), f.File, bf));
        Assert.Equal(tiles.Select(TileWriter.ToBFloat16).ToArray(), bf);
        Assert.Throws<ArgumentException>(() => new ImagePreprocessor(Small).ProcessBFloat16(f.Encoded(), f.File, new ushort[g.OutputFloatCount - 1]));
    }

    [Fact]
    public void Steady_state_allocates_no_pixel_buffers()
    {
        byte[] jpg = DecodeFixture.Get("jpeg_420_q90_640x480.jpg").Encoded();
        var p = new ImagePreprocessor();
        var dst = new float[p.Plan(jpg, Name).OutputFloatCount];
        // The least over 8 calls: ArrayPool.Shared drops its cached buffers after a gen-2 GC (other tests cause them),
        // and the next call then rents a fresh 9.4 MB buffer once.
        long perImage = DecodeFixture.SteadyAllocationPerCall(() => p.Process(jpg, Name, dst));
        // The decode is 921,600 bytes and the resize 9.4 MB; only small objects (codec wrappers, the geometry) remain.
        Assert.True(perImage < 16 * 1024, $"{perImage} bytes allocated per image");
    }

    [Fact]
    public void Ilgpu_cpu_backend_equals_simd()
    {
        var f = DecodeFixture.Get("png_rgb_37x23.png");
        var (g, tiles, resized) = Reference(f, Small);
        using var backend = IlgpuImageBackend.CreateCpu();
        var p = new ImagePreprocessor(Small, backend);
        Assert.Same(backend, p.IlgpuBackend);
        var dst = new float[g.OutputFloatCount];
        var rs = new byte[g.ResizedByteCount];
        p.Process(f.Encoded(), f.File, dst, rs);
        Assert.Equal(resized, rs);
        Assert.Equal(tiles, dst);
    }
}

using System.Buffers.Binary;
using System.Reflection;
using System.Runtime.InteropServices;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Images.Internal;
using SkiaSharp;

namespace NanoVlm.Loader.Tests.Images;

/// <summary>
/// The direct libSkiaSharp binding (<see cref="SkiaNative"/>): its layouts and values against SkiaSharp's own generated
/// interop of the pinned version, a decode that allocates nothing managed, and the error verdicts and messages of
/// damaged PNGs (the same as through SkiaSharp's managed SKCodec: checked on 18,800 mutated fixtures when the binding
/// replaced it).
/// </summary>
public class SkiaNativeTests
{
    private const string Name = "shard-00001.parquet row 17 image 0";

    private static readonly Assembly Skia = typeof(SKCodec).Assembly;

    /// <summary>Every fixture that goes through the SkiaSharp codec (JPEGs with the Skia backend; 16-bit gray PNG has
    /// its own decoder).</summary>
    public static TheoryData<string> SkiaDecodedFiles =>
        DecodeFixture.Files(f => !f.File.StartsWith("png_l16", StringComparison.Ordinal));

    [Theory]
    [InlineData("SKImageInfoNative", typeof(SkiaNative.ImageInfo),
        "colorspace,ColorSpace width,Width height,Height colorType,ColorType alphaType,AlphaType")]
    [InlineData("SKCodecOptionsInternal", typeof(SkiaNative.CodecOptions),
        "fZeroInitialized,ZeroInitialized fSubset,Subset fFrameIndex,FrameIndex fPriorFrame,PriorFrame fMaxDecodeMemory,MaxDecodeMemory")]
    public void StructLayouts_AreSkiaSharpsInterop(string skiaType, Type ours, string fieldPairs)
    {
        Type theirs = Skia.GetType("SkiaSharp." + skiaType, throwOnError: true)!;
        Assert.Equal(Marshal.SizeOf(theirs), Marshal.SizeOf(ours));
        string[] pairs = fieldPairs.Split(' ');
        Assert.Equal(theirs.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Length, pairs.Length);
        foreach (string pair in pairs)
        {
            string[] names = pair.Split(',');
            Assert.Equal(Marshal.OffsetOf(theirs, names[0]), Marshal.OffsetOf(ours, names[1]));
            Assert.Equal(Marshal.SizeOf(FieldType(theirs, names[0])), Marshal.SizeOf(FieldType(ours, names[1])));
        }
    }

    [Fact]
    public void EnumValues_AreSkiaSharpsInterop()
    {
        Type colorType = Skia.GetType("SkiaSharp.SKColorTypeNative", throwOnError: true)!;
        Assert.Equal((int)SkiaNative.ColorType.Rgba8888, Convert.ToInt32(Enum.Parse(colorType, "Rgba8888")));
        Assert.Equal((int)SkiaNative.ColorType.Gray8, Convert.ToInt32(Enum.Parse(colorType, "Gray8")));
        AssertSameMembers<SKCodecResult, SkiaNative.CodecResult>();
        AssertSameMembers<SKAlphaType, SkiaNative.AlphaType>();
        AssertSameMembers<SKCodecScanlineOrder, SkiaNative.ScanlineOrder>();
        Assert.Equal((int)SKZeroInitialized.No, SkiaNative.CodecOptions.Default.ZeroInitialized);
        Assert.Equal(SKCodecOptions.Default.FrameIndex, SkiaNative.CodecOptions.Default.FrameIndex);
        Assert.Equal(SKCodecOptions.Default.PriorFrame, SkiaNative.CodecOptions.Default.PriorFrame);
        Assert.False(SKCodecOptions.Default.HasSubset);
    }

    /// <summary>Each bound function exists in SkiaSharp's interop with as many parameters (a changed C signature
    /// changes the generated binding too).</summary>
    [Fact]
    public void BoundFunctions_AreInSkiaSharpsInterop()
    {
        Type api = Skia.GetType("SkiaSharp.SkiaApi", throwOnError: true)!;
        var ours = typeof(SkiaNative).GetMethods(BindingFlags.Static | BindingFlags.Public)
            .Where(m => m.Name.StartsWith("sk_", StringComparison.Ordinal)).ToList();
        Assert.True(ours.Count >= 8, $"{ours.Count} bound functions");
        foreach (MethodInfo m in ours)
        {
            MethodInfo? theirs = api.GetMethod(m.Name, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
            Assert.True(theirs is not null, $"{m.Name} is not in SkiaSharp's interop");
            Assert.Equal(theirs.GetParameters().Length, m.GetParameters().Length);
            Assert.Equal(Marshal.SizeOf(Blittable(theirs.ReturnType)), Marshal.SizeOf(Blittable(m.ReturnType)));
        }
    }

    [Theory]
    [MemberData(nameof(SkiaDecodedFiles))]
    public void SkiaDecode_AllocatesNothing(string file)
    {
        byte[] enc = DecodeFixture.Get(file).Encoded();
        ImageDecoder decoder = DecodeFixture.Decoder(JpegBackend.Skia);
        var dst = new byte[ImageProbe.Probe(enc, file).Rgb8ByteCount];
        Assert.Equal(0, DecodeFixture.SteadyAllocationPerCall(() => decoder.DecodeRgb8(enc, dst, file)));
    }

    /// <summary>The same PNG 200 times after warm-up: the thread's allocated bytes do not move (the per-call minimum
    /// above could hide an allocation made only every few calls).</summary>
    [Fact]
    public void RepeatedPngDecodes_KeepTheThreadsAllocationFlat()
    {
        var f = DecodeFixture.Get("png_rgba_37x23.png");
        byte[] enc = f.Encoded();
        var dst = new byte[37 * 23 * 3];
        for (int i = 0; i < 5; i++) ImageDecoder.Default.DecodeRgb8(enc, dst, f.File);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) ImageDecoder.Default.DecodeRgb8(enc, dst, f.File);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(dst.AsSpan().SequenceEqual(f.PillowRgb()));
    }

    /// <summary>The loader's per-image work in an image worker: probe, plan, decode, resize and tile, in both slab
    /// formats (float tiles, and the uint8 tiles with a float global tile).</summary>
    [Fact]
    public void PreprocessorPerImagePath_AllocatesNothing()
    {
        byte[] png = DecodeFixture.Get("png_rgb_513x7.png").Encoded();
        var pre = new ImagePreprocessor();
        var g = pre.Plan(png, Name);
        Assert.True(g.Grid.HasGlobalTile, "the image must exercise the global tile");
        var tiles = new float[g.OutputFloatCount];
        var global = new float[g.TileFloatCount];
        var bytes = new byte[g.ResizedByteCount];
        Assert.Equal(0, DecodeFixture.SteadyAllocationPerCall(() => pre.Process(png, Name, tiles)));
        Assert.Equal(0, DecodeFixture.SteadyAllocationPerCall(() => pre.ProcessUInt8(png, Name, global, bytes)));
        Assert.Equal(0, DecodeFixture.SteadyAllocationPerCall(() => pre.Plan(png, Name)));
    }

    [Fact]
    public void DamagedPngs_GiveTheSameKindsAndMessages()
    {
        byte[] png = DecodeFixture.Get("png_rgb_513x7.png").Encoded();
        int idat = png.AsSpan().IndexOf("IDAT"u8) - 4; // chunk start: length, type, data, CRC
        int idatLength = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(idat));

        // Cut inside the pixel data: rows are missing.
        AssertFails(png[..(idat + 8 + idatLength / 2)], ImageDecodeFailure.Truncated, "Png pixel data: the input ends early");

        // Cut before IDAT: the probe has its header, the codec finds no image data.
        AssertFails(png[..idat], ImageDecodeFailure.Truncated, "Png the codec could not read the header: the input ends early");

        // Garbage in the zlib stream.
        byte[] garbage = (byte[])png.Clone();
        garbage.AsSpan(idat + 8 + 6, 64).Fill(0xFF);
        AssertFails(garbage, ImageDecodeFailure.Corrupt, "Png pixel data: ErrorInInput");

        // IHDR changed under its CRC: the probe reads the new width, libpng rejects the chunk while the codec reads
        // the header (Skia reports that as incomplete input).
        byte[] wider = (byte[])png.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(wider.AsSpan(16), 514);
        AssertFails(wider, ImageDecodeFailure.Truncated, "Png the codec could not read the header: the input ends early");

        // A failure leaves nothing behind: the next clean decode is still right and allocation-free.
        var dst = new byte[513 * 7 * 3];
        Assert.Equal(0, DecodeFixture.SteadyAllocationPerCall(() => ImageDecoder.Default.DecodeRgb8(png, dst, Name)));
        Assert.True(dst.AsSpan().SequenceEqual(DecodeFixture.Get("png_rgb_513x7.png").PillowRgb()));
    }

    private static void AssertFails(byte[] data, ImageDecodeFailure reason, string message)
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Default.DecodeRgb8(data, new byte[1 << 16], Name));
        Assert.Equal(reason, e.Reason);
        Assert.Equal($"Cannot decode image '{Name}': {reason}: {message}", e.Message);
    }

    private static void AssertSameMembers<TTheirs, TOurs>()
        where TTheirs : struct, Enum
        where TOurs : struct, Enum
    {
        Assert.Equal(Enum.GetNames<TTheirs>(), Enum.GetNames<TOurs>());
        Assert.Equal(Enum.GetValues<TTheirs>().Select(v => Convert.ToInt64(v)), Enum.GetValues<TOurs>().Select(v => Convert.ToInt64(v)));
    }

    private static Type FieldType(Type t, string field) =>
        Blittable(t.GetField(field, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!.FieldType);

    private static Type Blittable(Type t) => t.IsPointer ? typeof(nint) : t.IsEnum ? Enum.GetUnderlyingType(t) : t == typeof(void) ? typeof(byte) : t;
}

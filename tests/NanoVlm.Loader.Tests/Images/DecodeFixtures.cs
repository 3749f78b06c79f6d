using System.Globalization;
using NanoVlm.Loader.Images;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests.Images;

/// <summary>One row of tests/fixtures/decode/manifest.tsv (written by tools/make_decode_fixtures.py with Pillow 9.4).</summary>
public sealed record DecodeFixture(string File, string Format, int Width, int Height, string PillowMode, string Sha256, bool HasRgb)
{
    public static IReadOnlyList<DecodeFixture> All { get; } = Load();

    public byte[] Encoded() => System.IO.File.ReadAllBytes(Fixtures.Path("decode", File));

    /// <summary>Pillow's <c>Image.open(f).convert('RGB').tobytes()</c> (only when <see cref="HasRgb"/>; larger
    /// fixtures are checked by <see cref="Sha256"/> only).</summary>
    public byte[] PillowRgb() => System.IO.File.ReadAllBytes(Fixtures.Path("decode", Path.ChangeExtension(File, ".rgb")));

    public static DecodeFixture Get(string file) => All.Single(f => f.File == file);

    /// <summary>
    /// (file, backend): every JPEG once per JPEG decoder (<see cref="JpegBackend.Skia"/> and
    /// <see cref="JpegBackend.TurboJpeg"/>), every other file once with <see cref="JpegBackend.Auto"/>.
    /// </summary>
    public static TheoryData<string, JpegBackend> FilesByBackend(Func<DecodeFixture, bool> where)
    {
        var data = new TheoryData<string, JpegBackend>();
        foreach (DecodeFixture f in All.Where(where))
        {
            if (f.Format == "JPEG")
            {
                data.Add(f.File, JpegBackend.Skia);
                data.Add(f.File, JpegBackend.TurboJpeg);
            }
            else
            {
                data.Add(f.File, JpegBackend.Auto);
            }
        }
        return data;
    }

    /// <summary>Why a TurboJPEG test is skipped: the library is optional (JPEGs then go through SkiaSharp).</summary>
    public const string TurboJpegAbsent =
        "libturbojpeg.so.0 is not installed (optional; Debian/Ubuntu: apt-get install libturbojpeg0): TurboJPEG decoder not tested";

    /// <summary>
    /// A decoder using <paramref name="backend"/>. For <see cref="JpegBackend.TurboJpeg"/> without libturbojpeg.so.0
    /// the calling test is skipped (<see cref="Skip.If"/>, so it must be a [SkippableFact] / [SkippableTheory]); CI
    /// installs libturbojpeg0 (.ci/run), so there they run.
    /// </summary>
    public static ImageDecoder Decoder(JpegBackend backend)
    {
        Skip.If(backend == JpegBackend.TurboJpeg && !ImageDecoder.IsTurboJpegAvailable, TurboJpegAbsent);
        var d = new ImageDecoder(new ImageDecoderOptions { JpegDecoder = backend });
        if (backend != JpegBackend.Auto) Assert.Equal(backend, d.JpegBackend);
        return d;
    }

    /// <summary>
    /// Bytes <paramref name="call"/> allocates on this thread in steady state: the least over 8 calls after 3 warm-up
    /// calls. Now and then a call allocates once for reasons outside the code under test (a few KB on the calling
    /// thread in calls that allocate nothing otherwise, seen in about one test run in three; ArrayPool.Shared refilling
    /// after a gen-2 GC trimmed it); code that really allocates does so on every call.
    /// </summary>
    public static long SteadyAllocationPerCall(Action call)
    {
        for (int i = 0; i < 3; i++) call();
        long least = long.MaxValue;
        for (int i = 0; i < 8; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            call();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }

    /// <summary>A seed derived from <paramref name="file"/> that is the same in every process (FNV-1a; string.GetHashCode
    /// is randomized per process, which made fuzz runs differ between machines).</summary>
    public static int StableSeed(string file, int salt)
    {
        uint h = 2166136261;
        foreach (char c in file) h = (h ^ c) * 16777619;
        return (int)(h ^ (uint)salt);
    }

    public static TheoryData<string> Files(Func<DecodeFixture, bool> where)
    {
        var data = new TheoryData<string>();
        foreach (DecodeFixture f in All.Where(where)) data.Add(f.File);
        return data;
    }

    private static List<DecodeFixture> Load() =>
        System.IO.File.ReadAllLines(Fixtures.Path("decode", "manifest.tsv"))
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split('\t'))
            .Select(c => new DecodeFixture(c[0], c[1], int.Parse(c[2], CultureInfo.InvariantCulture),
                int.Parse(c[3], CultureInfo.InvariantCulture), c[4], c[5], c[6] == "rgb"))
            .ToList();
}

/// <summary>Per-byte comparison of two RGB8 buffers.</summary>
public readonly record struct Residual(int MaxAbsDiff, double FractionOfBytesDiffering, double FractionOfPixelsDiffering)
{
    public static Residual Of(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        int max = 0, bytes = 0, pixels = 0;
        for (int i = 0; i < expected.Length; i += 3)
        {
            bool px = false;
            for (int c = 0; c < 3; c++)
            {
                int d = Math.Abs(actual[i + c] - expected[i + c]);
                if (d == 0) continue;
                max = Math.Max(max, d);
                bytes++;
                px = true;
            }
            if (px) pixels++;
        }
        return new Residual(max, (double)bytes / expected.Length, pixels / (expected.Length / 3.0));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"max |diff| {MaxAbsDiff}, {FractionOfBytesDiffering:P2} of bytes, {FractionOfPixelsDiffering:P2} of pixels differ");
}

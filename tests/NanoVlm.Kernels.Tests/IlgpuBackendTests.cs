namespace NanoVlm.Kernels.Tests;

public sealed class IlgpuCpuFixture : IDisposable
{
    public IlgpuImageBackend Backend { get; } = IlgpuImageBackend.CreateCpu();

    public void Dispose() => Backend.Dispose();
}

/// <summary>Every ILGPU kernel on ILGPU's CPU accelerator must produce the SIMD path's exact bytes and floats.</summary>
public class IlgpuBackendTests(IlgpuCpuFixture fixture) : IClassFixture<IlgpuCpuFixture>
{
    public static IEnumerable<object[]> SmallCases => ImagePathTests.SmallCases;

    public static IEnumerable<object[]> SmallSweep => Enumerable.Range(0, TestImages.Manifest.GetProperty("sweep").GetArrayLength())
        .Where(i =>
        {
            var s = TestImages.Manifest.GetProperty("sweep")[i];
            return i % 4 == 0 && s.GetProperty("target_width").GetInt32() * s.GetProperty("target_height").GetInt32() <= 64 * 64
                && s.GetProperty("width").GetInt32() * s.GetProperty("height").GetInt32() <= 64 * 64;
        })
        .Select(i => new object[] { i });

    public static IEnumerable<object[]> SmallCasesBothModes => SmallCases.SelectMany(o => new[]
    {
        new object[] { o[0], GlobalTileAccumulation.TorchAvx2 }, new object[] { o[0], GlobalTileAccumulation.Sequential },
    });

    [Theory]
    [MemberData(nameof(SmallCasesBothModes))]
    public void Full_path_is_identical_to_simd(string name, GlobalTileAccumulation mode)
    {
        var c = TestImages.Case(name);
        var opt = TestImages.Options(c) with { GlobalAccumulation = mode };
        int w = c.GetProperty("width").GetInt32(), h = c.GetProperty("height").GetInt32();
        var src = TestImages.Source(c);
        var g = ImageTiler.Plan(w, h, opt);
        var simd = new float[g.OutputFloatCount];
        var simdBytes = new byte[g.ResizedByteCount];
        ImageTiler.Process(src, w, h, simd, simdBytes, opt);
        var gpu = new float[g.OutputFloatCount];
        var gpuBytes = new byte[g.ResizedByteCount];
        var g2 = fixture.Backend.Process(src, w, h, gpu, gpuBytes, opt);
        Assert.Equal(g, g2);
        Assert.Equal(c.GetProperty("resized_sha256").GetString(), TestImages.Sha(gpuBytes));
        Assert.Equal(simdBytes, gpuBytes);
        for (int i = 0; i < simd.Length; i++)
            Assert.True(BitConverter.SingleToUInt32Bits(simd[i]) == BitConverter.SingleToUInt32Bits(gpu[i]), $"float {i}: simd {simd[i]} ilgpu {gpu[i]}");
    }

    [Theory]
    [MemberData(nameof(SmallSweep))]
    public void Resize_sweep_is_identical_to_pillow(int index)
    {
        var s = TestImages.Manifest.GetProperty("sweep")[index];
        int w = s.GetProperty("width").GetInt32(), h = s.GetProperty("height").GetInt32();
        int tw = s.GetProperty("target_width").GetInt32(), th = s.GetProperty("target_height").GetInt32();
        var src = TestImages.Generate(s.GetProperty("pattern").GetString()!, w, h, s.GetProperty("seed").GetInt32());
        var dst = new byte[3 * tw * th];
        fixture.Backend.Resize(src, w, h, dst, tw, th);
        Assert.Equal(s.GetProperty("sha256").GetString(), TestImages.Sha(dst));
    }

    [Fact]
    public void Bad_input_writes_nothing()
    {
        var dst = new float[8];
        dst.AsSpan().Fill(-1);
        Assert.Throws<ImageSizeException>(() => fixture.Backend.Process(new byte[3], 0, 1, dst));
        Assert.Throws<ArgumentException>(() => fixture.Backend.Process(new byte[300], 10, 10, dst, default, new ImagePipelineOptions { SplitSize = 16, MaxSideLength = 32 }));
        Assert.All(dst, v => Assert.Equal(-1f, v));
    }
}

using System.Text;
using System.Text.Json;
using NanoVlm.Kernels;
using NanoVlm.Loader.Images;

namespace NanoVlm.Loader.Tests.Images;

public sealed class PreprocessedImageFilesTests : IDisposable
{
    private static readonly ImagePipelineOptions Small = new() { SplitSize = 16, MaxSideLength = 48 };
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-preprocessed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(new[] { 13, 3, 512, 512 }, "(13, 3, 512, 512)")]
    [InlineData(new[] { 7 }, "(7,)")]
    public void Npy_header_is_version_1_and_64_byte_aligned(int[] shape, string text)
    {
        byte[] h = PreprocessedImageFiles.NpyHeader(shape);
        Assert.Equal(0, h.Length % 64);
        Assert.Equal(h.Length - 10, h[8] | (h[9] << 8));
        Assert.Equal($"{{'descr': '<f4', 'fortran_order': False, 'shape': {text}, }}", Encoding.ASCII.GetString(h, 10, h.Length - 10).TrimEnd());
    }

    [Fact]
    public void WriteAll_writes_each_good_image_and_reports_each_bad_one_in_input_order()
    {
        string good = Path.Combine(_dir, "good.png"), bad = Path.Combine(_dir, "bad.png"), twin = Path.Combine(_dir, "sub", "good.jpg");
        byte[] png = DecodeFixture.Get("png_rgb_37x23.png").Encoded();
        File.WriteAllBytes(good, png);
        File.WriteAllBytes(bad, png.AsSpan(0, 40).ToArray());
        Directory.CreateDirectory(Path.GetDirectoryName(twin)!);
        File.WriteAllBytes(twin, DecodeFixture.Get("jpeg_444_37x23.jpg").Encoded());
        string outDir = Path.Combine(_dir, "out");

        var run = new ImageFilePreprocessor(Small, threads: 2).WriteAll([bad, good, twin], outDir);

        Assert.Equal([bad, good, twin], run.Results.Select(r => r.Path));
        Assert.NotNull(run.Results[0].Error);
        Assert.Null(run.Results[1].Error);
        Assert.Contains("output stem 'good'", run.Results[2].Error, StringComparison.Ordinal);
        Assert.Equal((1, 2), (run.Succeeded, run.Failed));
        var g = run.Results[1].Geometry!.Value;
        var tiles = new float[g.OutputFloatCount];
        new ImagePreprocessor(Small).Process(png, good, tiles);
        byte[] npy = File.ReadAllBytes(Path.Combine(outDir, "good.tiles.npy"));
        int header = PreprocessedImageFiles.NpyHeader([g.Grid.OutputTileCount, 3, 16, 16]).Length;
        Assert.Equal(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tiles.AsSpan()).ToArray(), npy[header..]);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "good.json")));
        Assert.Equal(g.TokenCount, json.RootElement.GetProperty("image_tokens").GetInt32());
        Assert.Equal(["good.json", "good.resized.png", "good.tiles.npy"], Directory.GetFiles(outDir).Select(Path.GetFileName).Order());
    }
}

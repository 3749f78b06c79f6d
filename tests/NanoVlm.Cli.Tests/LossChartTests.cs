using System.Buffers.Binary;
using System.Text.Json;
using NanoVlm.SampleData;
using SkiaSharp;
using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary>The loss-curve PNG of <c>nanovlm train</c>: the series read from metrics.jsonl, the PNG drawn from them
/// (size, colours, where the curve lies), bad log lines named, and the file a real run leaves in its folder.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class LossChartTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-loss-chart-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Metrics(params string[] lines)
    {
        string path = Path.Combine(_dir, $"metrics-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Read_takes_batch_and_val_losses_by_step()
    {
        var curves = LossCurves.Read(Metrics(
            """{"step":2,"loss":5.5,"batch_loss":5.0,"grad_norm":1}""",
            """{"step":1,"loss":6.5,"batch_loss":6.0}""",
            """{"step":2,"val_loss":5.25,"val_batches":3}""",
            "",
            """{"step":2,"lmms_eval/mmstar_accuracy":0.5}""",
            """{"step":3,"batch_loss":"NaN"}""",
            """{"step":2,"batch_loss":4.75}"""));
        Assert.Equal([1.0, 2.0], curves.BatchSteps);
        Assert.Equal([6.0, 4.75], curves.BatchLoss); // step 2 logged twice (a resume): the last value
        Assert.Equal([2.0], curves.ValSteps);
        Assert.Equal([5.25], curves.ValLoss);
    }

    [Fact]
    public void A_bad_line_is_named_with_file_and_line()
    {
        string path = Metrics("""{"step":1,"batch_loss":6.0}""", """{"step":2,"batch_loss":""", """{"step":3,"batch_loss":5.0}""");
        var e = Assert.Throws<InvalidDataException>(() => LossCurves.Read(path));
        Assert.Contains($"{path}, line 2", e.Message);
        string noStep = Metrics("""{"batch_loss":6.0}""");
        Assert.Contains("line 1: no numeric \"step\"", Assert.Throws<InvalidDataException>(() => LossCurves.Read(noStep)).Message);
        string badValue = Metrics("""{"step":1,"val_loss":[1]}""");
        Assert.Contains("\"val_loss\" is not a number", Assert.Throws<InvalidDataException>(() => LossCurves.Read(badValue)).Message);
    }

    [Fact]
    public void The_png_has_the_asked_size_and_draws_the_values_it_was_given()
    {
        // A falling batch loss with validation points, and a rising one without: the curve's pixels must move with the values.
        var steps = Enumerable.Range(1, 50).Select(i => (double)i).ToArray();
        var falling = new LossCurves(steps, steps.Select(s => 8 - s / 10).ToArray(), [25, 50], [5.5, 3.2]);
        var rising = new LossCurves(steps, steps.Select(s => 3 + s / 10).ToArray(), [], []);
        string a = Path.Combine(_dir, "falling.png"), b = Path.Combine(_dir, "rising.png");
        LossChart.Write(falling, a, 640, 360);
        LossChart.Write(rising, b, 640, 360);

        foreach (var png in new[] { a, b })
        {
            var bytes = File.ReadAllBytes(png);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], bytes[..8]);
            Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
            Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
            Assert.Equal(360, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        }
        using var fa = SKBitmap.Decode(a);
        using var fb = SKBitmap.Decode(b);
        Assert.Equal((640, 360), (fa.Width, fa.Height));
        Assert.True(Count(fa, LossChart.ValColor) > 20, "val_loss markers drawn");
        Assert.Equal(0, Count(fb, LossChart.ValColor));
        // Mean row of the batch-loss pixels in the left and right quarters: falling = high on the left (smaller y).
        var (fLeft, fRight) = LeftRightMeanRow(fa, LossChart.BatchColor);
        var (rLeft, rRight) = LeftRightMeanRow(fb, LossChart.BatchColor);
        Assert.True(fLeft < fRight - 50, $"falling: left {fLeft:F0}, right {fRight:F0}");
        Assert.True(rLeft > rRight + 50, $"rising: left {rLeft:F0}, right {rRight:F0}");
    }

    [Fact]
    public void Train_writes_loss_png_from_its_metrics()
    {
        SampleDataWriter.Write(Path.Combine(_dir, "data"), new SampleDataOptions { Rows = 24 });
        SampleDataWriter.Write(Path.Combine(_dir, "val"), new SampleDataOptions { Rows = 12, Seed = 1 });
        string run = Path.Combine(_dir, "run"), config = Path.Combine(_dir, "small.json");
        File.WriteAllText(config, """{"lm_max_length": 512, "vit_img_size": 32, "max_img_size": 64, "vit_patch_size": 8, "mp_image_token_length": 4, "lm_n_blocks": 1, "vit_n_blocks": 1}""");
        var (code, stdout, stderr) = Invoke(["train", "--data", Path.Combine(_dir, "data"), "--val-data", Path.Combine(_dir, "val"),
            "--config", config, "--out", run, "--max-steps", "3", "--eval-interval", "1", "--batch-size", "1", "--workers", "1",
            "--device", "cpu", "--json"]);
        Assert.True(code == 0, stderr);
        string png = Path.Combine(run, LossChart.FileName);
        Assert.Equal(png, JsonDocument.Parse(stdout).RootElement.GetProperty("loss_chart").GetString());
        var curves = LossCurves.Read(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal([1.0, 2.0, 3.0], curves.BatchSteps);
        Assert.Equal([1.0, 2.0, 3.0], curves.ValSteps);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((900, 500), (bitmap.Width, bitmap.Height));
        Assert.True(Count(bitmap, LossChart.BatchColor) > 20);
        Assert.True(Count(bitmap, LossChart.ValColor) > 20);
    }

    private static bool Near(SKColor c, ScottPlot.Color want) =>
        Math.Abs(c.Red - want.R) < 40 && Math.Abs(c.Green - want.G) < 40 && Math.Abs(c.Blue - want.B) < 40;

    private static int Count(SKBitmap bitmap, ScottPlot.Color color)
    {
        int n = 0;
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++)
                if (Near(bitmap.GetPixel(x, y), color)) n++;
        return n;
    }

    private static (double Left, double Right) LeftRightMeanRow(SKBitmap bitmap, ScottPlot.Color color)
    {
        double Mean(int x0, int x1)
        {
            double sum = 0;
            int n = 0;
            for (int y = 0; y < bitmap.Height; y++)
                for (int x = x0; x < x1; x++)
                    if (Near(bitmap.GetPixel(x, y), color)) { sum += y; n++; }
            Assert.True(n > 0, $"no curve pixels in columns {x0}..{x1}");
            return sum / n;
        }
        return (Mean(0, bitmap.Width / 4), Mean(3 * bitmap.Width / 4, bitmap.Width));
    }
}

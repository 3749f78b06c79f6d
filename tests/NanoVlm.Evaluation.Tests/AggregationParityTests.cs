using System.Text.Json;
using static NanoVlm.Evaluation.Tests.FixtureRows;

namespace NanoVlm.Evaluation.Tests;

/// <summary>Task-level numbers equal lmms-eval's aggregation functions on the same per-sample records.</summary>
public class AggregationParityTests
{
    private static string? CompareMetrics(IReadOnlyDictionary<string, double> got, JsonElement expected)
    {
        var want = expected.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        if (got.Keys.Order().SequenceEqual(want.Keys.Order()) && want.All(kv => got[kv.Key] == kv.Value)) return null;
        return $"{string.Join(", ", got.Select(kv => $"{kv.Key}={kv.Value:R}"))} vs {string.Join(", ", want.Select(kv => $"{kv.Key}={kv.Value:R}"))}";
    }

    [Fact]
    public void MmstarAveragesPerL2Category() => AssertAll(Read("mmstar_aggregate"), r =>
    {
        var samples = r.GetProperty("samples").EnumerateArray()
            .Select(s => new MmstarSample(s.Str("category"), s.Str("l2_category"), s.Num("score")));
        return CompareMetrics(MmstarMetric.Aggregate(samples), r.GetProperty("result"));
    }, 40);

    [Fact]
    public void MmmuInstanceWeightedAccuracy() => AssertAll(Read("mmmu_aggregate"), r =>
    {
        var samples = r.GetProperty("samples").EnumerateArray().Select(s => new MmmuSample(s.Str("subject"), s.GetProperty("correct").GetBoolean()));
        double got = MmmuMetric.Aggregate(samples);
        return got == r.Num("result") ? null : $"{got:R} vs {r.Num("result"):R}";
    }, 30);

    [Fact]
    public void OcrBenchCountsOverThousand() => AssertAll(Read("ocrbench_aggregate"), r =>
    {
        var samples = r.GetProperty("samples").EnumerateArray().Select(s => new OcrBenchSample(s.Str("question_type"), (int)s.Num("score")));
        double got = OcrBenchMetric.Aggregate(samples);
        return got == r.Num("result") ? null : $"{got:R} vs {r.Num("result"):R}";
    }, 20);

    [Fact]
    public void MeanAndStderr() => AssertAll(Read("mean_aggregate"), r =>
    {
        var scores = r.GetProperty("scores").EnumerateArray().Select(s => s.GetDouble()).ToList();
        double mean = LmmsAggregation.Mean(scores);
        double? stderr = LmmsAggregation.MeanStderr(scores);
        var want = r.GetProperty("stderr");
        bool stderrOk = want.ValueKind == JsonValueKind.String ? stderr is null : stderr == want.GetDouble();
        return mean == r.Num("mean") && stderrOk ? null : $"n={scores.Count}: {mean:R}/{stderr:R} vs {r.Num("mean"):R}/{want}";
    }, 20);

    [Fact]
    public void MmePerceptionAndCognitionWithAccPlus() => AssertAll(Read("mme_aggregate"), r =>
    {
        var samples = r.GetProperty("samples").EnumerateArray()
            .Select(s => new MmeSample(s.Str("question_id"), s.Str("category"), MmeMetric.Score(s.Str("pred"), s.Str("answer"))));
        return CompareMetrics(MmeMetric.Aggregate(samples), r.GetProperty("result"));
    }, 30);

    [Fact]
    public void BadAggregationInputIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => MmeMetric.Aggregate([new MmeSample("img1.png", "OCR", 1)]));
        Assert.Contains("img1.png", e.Message);
        var o = Assert.Throws<ArgumentException>(() => OcrBenchMetric.Aggregate([new OcrBenchSample("Poetry", 1)]));
        Assert.Contains("Poetry", o.Message);
        Assert.Throws<ArgumentException>(() => MmeMetric.Score("yes", "maybe"));
        Assert.Throws<FormatException>(() => MmmuMetric.SubjectOf("validation-Art-1"));
        Assert.Equal("Art_Theory", MmmuMetric.SubjectOf("validation_Art_Theory_12"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ScienceQaMetric.Score("A", 4, 4));
        Assert.Throws<ArgumentException>(() => AnlsMetric.Score("x", []));
        Assert.Throws<ArgumentException>(() => LmmsAggregation.Mean([]));
    }
}

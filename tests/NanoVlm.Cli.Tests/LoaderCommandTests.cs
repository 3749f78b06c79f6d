using System.Text.Json;
using NanoVlm.SampleData;

using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm loader</c> and <c>nanovlm profile</c> in-process, on a small generated parquet.</summary>
public sealed class LoaderCommandTests : IDisposable
{
    private const int Rows = 24;

    // Small tiles and a small long side keep the run short; the pipeline is the same as with nanoVLM's 512/2048.
    private static readonly string[] Small = ["--vit-img-size", "32", "--max-img-size", "64", "--lm-max-length", "1024", "--workers", "2"];

    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-loader-cli-").FullName;

    public LoaderCommandTests() => SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = Rows, Shards = 2 });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (int Code, JsonElement Json, string Err) RunJson(string command, params string[] extra)
    {
        var (code, stdout, stderr) = Invoke([command, "--data", _dir, "--json", .. Small, .. extra]);
        Assert.True(code == 0, stderr);
        return (code, JsonDocument.Parse(stdout).RootElement, stderr);
    }

    [Fact]
    public void Loader_Json_AccountsForEveryRowWhenTheDataEnds()
    {
        var (_, json, _) = RunJson("loader");
        Assert.Equal(Rows, json.GetProperty("rows_read").GetInt64());
        var dropped = json.GetProperty("dropped").EnumerateObject().Sum(p => p.Value.GetInt64());
        Assert.Equal(0, json.GetProperty("in_flight").GetInt64());
        Assert.Equal(Rows, json.GetProperty("samples_emitted").GetInt64() + dropped);
        Assert.True(json.GetProperty("batches").GetInt64() > 0);
        var fill = json.GetProperty("fill").GetDouble();
        Assert.InRange(fill, 0.01, 1.0);
        Assert.Equal(1 - json.GetProperty("padding_ratio").GetDouble(), fill, 3);
        Assert.False(json.TryGetProperty("stages", out _)); // the stage table is profile's
    }

    [Fact]
    public void Loader_SaveStateThenResume_ContinuesWithTheRestOfTheRun()
    {
        var state = Path.Combine(_dir, "state.json");
        var (_, full, _) = RunJson("loader", "--batch-size", "1");
        var (_, first, _) = RunJson("loader", "--batch-size", "1", "--batches", "2", "--save-state", state);
        Assert.Equal(2, JsonDocument.Parse(File.ReadAllText(state)).RootElement.GetProperty("BatchesEmitted").GetInt64());
        var (_, rest, _) = RunJson("loader", "--batch-size", "1", "--resume", state, "--save-state", state);
        long Get(JsonElement j, string p) => j.GetProperty(p).GetInt64();
        Assert.Equal(Get(full, "batches"), Get(first, "batches") + Get(rest, "batches"));
        Assert.Equal(Get(full, "samples"), Get(first, "samples") + Get(rest, "samples")); // consumed samples
        Assert.Equal(Get(full, "batches"), JsonDocument.Parse(File.ReadAllText(state)).RootElement.GetProperty("BatchesEmitted").GetInt64());

        var (code, _, stderr) = Invoke(["loader", "--data", _dir, .. Small, "--batch-size", "1", "--seed", "5", "--resume", state]);
        Assert.NotEqual(0, code);
        Assert.Contains("other options", stderr);
        File.WriteAllText(state, "{ not json");
        (code, _, stderr) = Invoke(["loader", "--data", _dir, .. Small, "--resume", state]);
        Assert.NotEqual(0, code);
        Assert.Contains("not a loader state", stderr);
    }

    [Fact]
    public void Loader_Batches_StopsAfterThatMany()
    {
        var (_, json, _) = RunJson("loader", "--batches", "1", "--batch-size", "1");
        Assert.Equal(1, json.GetProperty("batches").GetInt64());
        Assert.True(json.GetProperty("rows_read").GetInt64() <= Rows);
    }

    [Fact]
    public void Loader_ForeverWithSeconds_StopsOnTime_AndPrintsProgressLinesOnStderr()
    {
        // 5 s: the first batch (JIT, tokenizer) can take 2 s when the other test assemblies run alongside.
        var (_, json, stderr) = RunJson("loader", "--epochs", "0", "--seconds", "5", "--progress-every", "0.25");
        Assert.InRange(json.GetProperty("seconds").GetDouble(), 5, 60);
        Assert.True(json.GetProperty("rows_read").GetInt64() > Rows, "an endless run reads the data more than once");
        var lines = stderr.Split('\n').Where(l => l.StartsWith("progress: ", StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length >= 2, stderr);
        foreach (var key in new[] { "t=", "batches=", "samples_per_s=", "fill=", "heap_mb=", "pinned_mb=", "rss_mb=" })
            Assert.All(lines, l => Assert.Contains(key, l));
    }

    [Fact]
    public void Loader_SameSeed_SameReport_AndTheCompatPlannerRuns()
    {
        static string Stable(JsonElement j) =>
            $"{j.GetProperty("batches")}/{j.GetProperty("samples_emitted")}/{j.GetProperty("fill")}/{j.GetProperty("tokens_per_sample")}";
        var a = RunJson("loader", "--seed", "5").Json;
        var b = RunJson("loader", "--seed", "5").Json;
        Assert.Equal(Stable(a), Stable(b));
        var compat = RunJson("loader", "--planner", "nanovlm").Json;
        Assert.Equal(a.GetProperty("samples_emitted").GetInt64(), compat.GetProperty("samples_emitted").GetInt64());
    }

    [Fact]
    public void Loader_Text_PrintsThroughputFillAndAccounting()
    {
        var (code, stdout, stderr) = Invoke(["loader", "--data", _dir, .. Small]);
        Assert.True(code == 0, stderr);
        Assert.Contains("samples/s", stdout);
        Assert.Contains("fill:", stdout);
        Assert.Contains($"rows: {Rows} read", stdout);
        Assert.DoesNotContain("bottleneck", stdout);
    }

    [Fact]
    public void Profile_PrintsEveryStageAndABottleneckThatIsOneOfThem()
    {
        var (_, json, _) = RunJson("profile", "--batches", "2");
        var stages = json.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()!).ToArray();
        Assert.NotEmpty(stages);
        Assert.Contains(json.GetProperty("bottleneck").GetString(), stages);
        Assert.All(json.GetProperty("stages").EnumerateArray(), s => Assert.InRange(s.GetProperty("utilization").GetDouble(), 0, 1.0001));

        var (code, stdout, stderr) = Invoke(["profile", "--data", _dir, "--batches", "2", .. Small]);
        Assert.True(code == 0, stderr);
        Assert.All(stages, s => Assert.Contains(s, stdout));
        Assert.Contains("bottleneck: ", stdout);
    }

    [Fact]
    public void Mix_TwoSourcesWithWeights_ReportsTheirShares()
    {
        var other = Path.Combine(_dir, "other");
        SampleDataWriter.Write(other, new SampleDataOptions { Rows = Rows, Seed = 9 });
        var (code, stdout, stderr) = Invoke(["loader", "--json", "--mix", $"{_dir}:3", "--mix", $"{other}:1:1", .. Small]); // the second in stage 1
        Assert.True(code == 0, stderr);
        var shares = JsonDocument.Parse(stdout).RootElement.GetProperty("mixture_shares").EnumerateArray().Select(s => s.GetDouble()).ToArray();
        Assert.Equal(2, shares.Length);
        Assert.Equal(1.0, shares.Sum(), 3);
    }

    [Theory]
    [InlineData("--data", "/nonexistent/nanovlm-no-such-data", "nanovlm-no-such-data")]
    [InlineData("--mix", "somewhere.parquet", "PATH:WEIGHT")]
    [InlineData("--mix", "somewhere.parquet:1:-2", "PATH:WEIGHT")]
    [InlineData("--mix", "somewhere.parquet:-1", "PATH:WEIGHT")]
    [InlineData("--batch-size", "0", "atch")]
    public void BadArguments_ExitWithAClearError(string option, string value, string expected)
    {
        var (code, stdout, stderr) = Invoke("loader", option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Empty(stdout);
    }

    [Fact]
    public void UnknownPlanner_IsRejectedByTheParser()
    {
        var (code, _, stderr) = Invoke("loader", "--data", _dir, "--planner", "greedy");
        Assert.NotEqual(0, code);
        Assert.Contains("greedy", stderr);
    }
}

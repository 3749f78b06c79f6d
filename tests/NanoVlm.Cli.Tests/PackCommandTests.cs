using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm pack</c> end to end, in-process, against the Python reference's fixtures.</summary>
public sealed class PackCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-pack-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonNode Case(string file, Func<JsonNode, bool> pick) =>
        JsonNode.Parse(File.ReadAllText(NanoVlm.Testing.Fixtures.Path("packing", file)))!["cases"]!.AsArray().First(c => pick(c!))!;

    private string WriteItems(JsonNode c)
    {
        var path = Path.Combine(_dir, "items.json");
        File.WriteAllText(path, new JsonObject { ["lengths"] = c["lengths"]!.DeepClone(), ["images"] = c["images"]!.DeepClone() }.ToJsonString());
        return path;
    }

    private static int[][] Groups(JsonNode result) =>
        result["groups"]!.AsArray().Select(g => g!.AsArray().Select(i => (int)i!).ToArray()).ToArray();

    [Theory]
    [InlineData("finevision-1000-seednone")]
    [InlineData("finevision-1000-seed7")]
    [InlineData("imagecap-800-seed0")]
    public void Nanovlm_WritesPythonsGroups(string name)
    {
        var c = Case("knapsack_parity.json", c => (string)c["name"]! == name);
        var output = Path.Combine(_dir, "groups.json");
        List<string> args = ["pack", "--items", WriteItems(c), "--seq-len", $"{c["seq_len"]}", "--max-images", $"{c["max_images"]}",
            "--planner", "nanovlm", "--delta", $"{c["delta"]}", "--out", output];
        if (c["seed"] is null) args.Add("--no-shuffle");
        else args.AddRange(["--seed", $"{c["seed"]}"]);

        var (code, stdout, _) = Invoke([.. args]);
        Assert.Equal(0, code);
        Assert.Contains("packs", stdout);
        var result = JsonNode.Parse(File.ReadAllText(output))!;
        var expected = c["groups"]!.AsArray().Select(g => g!.AsArray().Select(i => (int)i!).ToArray()).ToArray();
        Assert.Equal(expected, Groups(result));
        var stats = result["stats"]!;
        var lengths = c["lengths"]!.AsArray().Select(l => (long)l!).ToArray();
        var seqLen = (int)c["seq_len"]!;
        Assert.Equal(lengths.Length, (int)stats["items"]!);
        Assert.Equal(expected.Length, (int)stats["packs"]!);
        Assert.Equal((lengths.Sum() + seqLen - 1) / seqLen, (long)stats["lower_bound"]!);
        Assert.Equal(lengths.Sum() / ((double)expected.Length * seqLen), (double)stats["fill"]!, 9);
        Assert.True((double)stats["plan_seconds"]! >= 0);
    }

    [Fact]
    public void NanovlmStreaming_WritesConstantLengthDatasetGroups()
    {
        var c = Case("stream_parity.json", c => c["seed"] is not null);
        var output = Path.Combine(_dir, "groups.json");
        var (code, _, _) = Invoke("pack", "--items", WriteItems(c), "--planner", "nanovlm", "--window-tokens", $"{c["window"]}",
            "--seed", $"{c["seed"]}", "--out", output);
        Assert.Equal(0, code);
        var expected = c["groups"]!.AsArray().Select(g => g!.AsArray().Select(i => (int)i!).ToArray()).ToArray();
        Assert.Equal(expected, Groups(JsonNode.Parse(File.ReadAllText(output))!));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("32768")]
    public void DefaultPlanner_PacksEveryItemOnce_WithinLimits(string? window)
    {
        var c = Case("knapsack_parity.json", c => (string)c["name"]! == "uniform-2000-seed42");
        var output = Path.Combine(_dir, "groups.json");
        List<string> args = ["pack", "--items", WriteItems(c), "--out", output];
        if (window is not null) args.AddRange(["--window-tokens", window]);
        Assert.Equal(0, Invoke([.. args]).Code);
        var groups = Groups(JsonNode.Parse(File.ReadAllText(output))!);
        var lengths = c["lengths"]!.AsArray().Select(l => (int)l!).ToArray();
        var images = c["images"]!.AsArray().Select(l => (int)l!).ToArray();
        Assert.Equal(Enumerable.Range(0, lengths.Length), groups.SelectMany(g => g).Order());
        Assert.All(groups, g => Assert.True(g.Sum(i => lengths[i]) <= 4096 && g.Sum(i => images[i]) <= 18));
        // Offline, best fit never needs more sequences than nanoVLM's rule on the same items.
        if (window is null) Assert.True(groups.Length <= c["groups"]!.AsArray().Count);
    }

    [Fact]
    public void BuiltInShapes_PrintTheSideBySideSummary()
    {
        var itemsOut = Path.Combine(_dir, "builtin.json");
        var (code, stdout, _) = Invoke("pack", "--synthetic-items", "3000", "--write-items", itemsOut);
        Assert.Equal(0, code);
        Assert.Contains("3000 items from built-in FineVision-like shapes", stdout);
        Assert.Contains("Side by side", stdout);
        Assert.Contains("nanovlm, streaming (32768-token window", stdout);
        Assert.Contains("lower bound", stdout);
        using var items = JsonDocument.Parse(File.ReadAllText(itemsOut));
        Assert.Equal(3000, items.RootElement.GetProperty("lengths").GetArrayLength());
    }

    [Fact]
    public void SampleLongerThanTheSequence_IsAnErrorNamingIt()
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, """{"lengths": [100, 5000, 7], "images": [1, 0, 0]}""");
        var (code, _, stderr) = Invoke("pack", "--items", path, "--out", Path.Combine(_dir, "g.json"));
        Assert.Equal(2, code);
        Assert.Contains("Sample 1 (id 1)", stderr);
        Assert.Contains("exceeds the sequence length 4096", stderr);
    }

    [Fact]
    public void Streaming_SkipsAndCountsBadSamples()
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, """{"lengths": [100, 5000, 7, 0], "images": [1, 0, 19, 0]}""");
        var output = Path.Combine(_dir, "g.json");
        var (code, stdout, _) = Invoke("pack", "--items", path, "--window-tokens", "1000", "--out", output);
        Assert.Equal(0, code);
        Assert.Contains("3 items skipped", stdout);
        var result = JsonNode.Parse(File.ReadAllText(output))!;
        Assert.Equal([[0]], Groups(result));
        Assert.Equal(3, (int)result["stats"]!["skipped"]!);
    }
}

using System.CommandLine;
using System.Text.Json;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Packing;
using NanoVlm.SampleData;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>The options shared by <c>nanovlm loader</c> and <c>nanovlm profile</c>, and how they become the loader's options and sources.</summary>
internal sealed class LoaderCliOptions
{
    public Option<string?> Data { get; } = new("--data")
    {
        Description = "A .parquet/.jsonl/.tar file, a folder of them or a glob. Omitted: the built-in sample data (generated once into a cache folder).",
    };
    public Option<string[]> Mix { get; } = DataMixture.CreateOption();
    public Option<int> Batches { get; } = new("--batches") { Description = "Stop after this many batches (0 = until the data ends).", DefaultValueFactory = _ => 0 };
    public Option<bool> Json { get; } = new("--json") { Description = "Print one JSON object instead of text." };
    private static readonly DataLoaderOptions Defaults = new();

    public Option<FileInfo?> Config { get; } = ConfigOption.Create();
    public Option<int> Workers { get; } = new("--workers") { Description = $"Materialize workers (default {Defaults.Workers})." };
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = $"Packed sequences per batch (nanoVLM batch_size, default {Defaults.BatchSize})." };
    public Option<int> SeqLen { get; } = new("--lm-max-length")
    {
        Description = $"Tokens per packed sequence (nanoVLM lm_max_length, default {Defaults.LmMaxLength}); also sets max_sample_length.",
    };
    public Option<int> Window { get; } = new("--window") { Description = "Planner window in tokens (default lm_max_length × 8)." };
    public Option<string> Planner { get; } = new("--planner") { Description = "bfd (best fit, default) or nanovlm (compat knapsack)." };
    public Option<int> Seed { get; } = new("--seed") { Description = $"Seed (default {Defaults.Seed})." };
    public Option<int> Epochs { get; } = new("--epochs") { Description = $"Passes over the data (0 = forever; default {Defaults.Epochs})." };
    public Option<int> Rank { get; } = new("--rank") { Description = "This rank (default 0)." };
    public Option<int> World { get; } = new("--world-size") { Description = "Ranks (default 1)." };
    public Option<bool> Strict { get; } = new("--strict-images") { Description = "Fail on a corrupt image instead of dropping its sample." };
    public Option<int> SplitSize { get; } = new("--vit-img-size") { Description = $"Tile side (nanoVLM vit_img_size, default {Defaults.Images.SplitSize})." };
    public Option<int> MaxSide { get; } = new("--max-img-size") { Description = $"Long side after resize (nanoVLM max_img_size, default {Defaults.Images.MaxSideLength})." };
    public Option<int> SampleRows { get; } = new("--sample-rows") { Description = "Rows of the built-in sample data when --data is omitted.", DefaultValueFactory = _ => 500 };
    public Option<double> Seconds { get; } = new("--seconds") { Description = "Stop after this many seconds (0 = no limit; with --epochs 0, a soak run).", DefaultValueFactory = _ => 0 };
    public Option<double> ProgressEvery { get; } = new("--progress-every")
    {
        Description = "Print a progress line (throughput, fill, managed heap, RSS) on stderr every this many seconds (0 = none; " +
            "an interactive terminal gets a live display instead).",
        DefaultValueFactory = _ => 0,
    };

    public Option<string?> SaveState { get; } = new("--save-state")
    {
        Description = "Write the loader state after the last batch to this file (JSON), to continue later with --resume.",
    };

    public Option<string?> Resume { get; } = new("--resume")
    {
        Description = "Continue from a state written by --save-state (same data and options): the batches that would have followed.",
    };

    public void AddTo(Command c)
    {
        Planner.AcceptOnlyFromAmong("bfd", "nanovlm");
        foreach (var opt in new Option[] { Data, Mix, Config, Batches, Json, Workers, BatchSize, SeqLen, Window, Planner, Seed, Epochs, Rank, World, Strict, SplitSize, MaxSide, SampleRows, Seconds, ProgressEvery, SaveState, Resume })
            c.Options.Add(opt);
    }

    /// <summary>The library's defaults, then the <c>--config</c> file, then the flags given.</summary>
    public DataLoaderOptions Build(ParseResult p)
    {
        var b = ConfigOption.Load(p, Config).ApplyTo(Defaults);
        return b with
        {
            Workers = p.Flag(Workers, b.Workers),
            BatchSize = p.Flag(BatchSize, b.BatchSize),
            LmMaxLength = p.Flag(SeqLen, b.LmMaxLength),
            MaxSampleLength = p.Flag(SeqLen, b.MaxSampleLength),
            WindowTokens = p.Flag(Window, b.WindowTokens),
            Planner = p.Given(Planner) ? (p.GetValue(Planner) == "nanovlm" ? PlannerKind.NanovlmCompat : PlannerKind.BestFit) : b.Planner,
            Seed = p.Flag(Seed, b.Seed),
            Epochs = p.Given(Epochs) ? (p.GetValue(Epochs) is var e and > 0 ? e : null) : b.Epochs,
            Rank = p.Flag(Rank, b.Rank),
            WorldSize = p.Flag(World, b.WorldSize),
            StrictImages = p.Flag(Strict, b.StrictImages),
            Images = b.Images with { SplitSize = p.Flag(SplitSize, b.Images.SplitSize), MaxSideLength = p.Flag(MaxSide, b.Images.MaxSideLength) },
        };
    }

    /// <summary>The built-in sample data, generated once per row count into the temp folder.</summary>
    public static string SampleData(int rows, TextWriter log, int seed = 0)
    {
        var dir = Path.Combine(Path.GetTempPath(), "nanovlm-sample-data", $"rows-{rows}-seed-{seed}");
        if (Directory.Exists(dir) && Directory.EnumerateFiles(dir, "*.parquet").Any()) return dir;
        var tmp = dir + ".tmp-" + Environment.ProcessId;
        var result = SampleDataWriter.Write(tmp, new SampleDataOptions { Rows = rows, Seed = seed });
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.Move(tmp, dir);
        log.WriteLine($"(generated the built-in sample data: {result.Rows} rows, {result.Images} images, in {dir})");
        return dir;
    }

    public static LoaderState ReadState(string path)
    {
        try
        {
            return LoaderState.FromJson(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"--resume {path}: not a loader state written by --save-state ({e.Message})", e);
        }
    }
}

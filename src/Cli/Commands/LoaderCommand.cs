using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Packing;
using NanoVlm.SampleData;
using Spectre.Console;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm loader</c>: streams packed, pinned batches from a data path (or the built-in sample data) and prints
/// throughput (samples/s, tokens/s, images/s, MB/s), fill and the accounting of every row.
/// </summary>
internal static class LoaderCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var o = new LoaderCliOptions();
        var command = new Command("loader", "Stream packed batches from a dataset and report throughput and accounting.");
        o.AddTo(command);
        command.SetAction(parse => LoaderCliOptions.Run(parse, o, profile: false));
        return command;
    }
}

/// <summary>The options shared by <c>nanovlm loader</c> and <c>nanovlm profile</c>, and the run loop.</summary>
internal sealed class LoaderCliOptions
{
    public Option<string?> Data { get; } = new("--data")
    {
        Description = "A .parquet/.jsonl/.tar file, a folder of them or a glob. Omitted: the built-in sample data (generated once into a cache folder).",
    };
    public Option<string[]> Mix { get; } = new("--mix")
    {
        Description = "Add a mixture source PATH:WEIGHT[:STAGE] (repeatable; e.g. --mix business.parquet:10 --mix general.parquet:1). " +
            "Stages run in ascending order (default 0), each until its sources end. With --data, that path joins with weight 1, stage 0.",
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<int> Batches { get; } = new("--batches") { Description = "Stop after this many batches (0 = until the data ends).", DefaultValueFactory = _ => 0 };
    public Option<bool> Json { get; } = new("--json") { Description = "Print one JSON object instead of text." };
    public Option<int> Workers { get; } = new("--workers") { Description = "Materialize workers.", DefaultValueFactory = _ => 2 };
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Packed sequences per batch (nanoVLM batch_size).", DefaultValueFactory = _ => 2 };
    public Option<int> SeqLen { get; } = new("--lm-max-length") { Description = "Tokens per packed sequence (nanoVLM lm_max_length).", DefaultValueFactory = _ => 4096 };
    public Option<int> Window { get; } = new("--window") { Description = "Planner window in tokens (0 = lm_max_length × 8).", DefaultValueFactory = _ => 0 };
    public Option<string> Planner { get; } = new("--planner") { Description = "bfd (best fit, default) or nanovlm (compat knapsack).", DefaultValueFactory = _ => "bfd" };
    public Option<int> Seed { get; } = new("--seed") { Description = "Seed.", DefaultValueFactory = _ => 0 };
    public Option<int> Epochs { get; } = new("--epochs") { Description = "Passes over the data (0 = forever).", DefaultValueFactory = _ => 1 };
    public Option<int> Rank { get; } = new("--rank") { Description = "This rank.", DefaultValueFactory = _ => 0 };
    public Option<int> World { get; } = new("--world-size") { Description = "Ranks.", DefaultValueFactory = _ => 1 };
    public Option<bool> Strict { get; } = new("--strict-images") { Description = "Fail on a corrupt image instead of dropping its sample." };
    public Option<int> SplitSize { get; } = new("--vit-img-size") { Description = "Tile side (nanoVLM vit_img_size).", DefaultValueFactory = _ => 512 };
    public Option<int> MaxSide { get; } = new("--max-img-size") { Description = "Long side after resize (nanoVLM max_img_size).", DefaultValueFactory = _ => 2048 };
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
        foreach (var opt in new Option[] { Data, Mix, Batches, Json, Workers, BatchSize, SeqLen, Window, Planner, Seed, Epochs, Rank, World, Strict, SplitSize, MaxSide, SampleRows, Seconds, ProgressEvery, SaveState, Resume })
            c.Options.Add(opt);
    }

    private DataLoaderOptions Build(ParseResult p) => new()
    {
        Workers = p.GetValue(Workers),
        BatchSize = p.GetValue(BatchSize),
        LmMaxLength = p.GetValue(SeqLen),
        MaxSampleLength = p.GetValue(SeqLen),
        WindowTokens = p.GetValue(Window),
        Planner = p.GetValue(Planner) == "nanovlm" ? PlannerKind.NanovlmCompat : PlannerKind.BestFit,
        Seed = p.GetValue(Seed),
        Epochs = p.GetValue(Epochs) is var e and > 0 ? e : null,
        Rank = p.GetValue(Rank),
        WorldSize = p.GetValue(World),
        StrictImages = p.GetValue(Strict),
        Images = ImagePreprocessorOptions.Default with { SplitSize = p.GetValue(SplitSize), MaxSideLength = p.GetValue(MaxSide) },
        OutputCapacity = 2,
    };

    /// <summary>The built-in sample data, generated once per row count into the temp folder.</summary>
    private static string SampleData(int rows, TextWriter log)
    {
        var dir = Path.Combine(Path.GetTempPath(), "nanovlm-sample-data", $"rows-{rows}-seed-0");
        if (Directory.Exists(dir) && Directory.EnumerateFiles(dir, "*.parquet").Any()) return dir;
        var tmp = dir + ".tmp-" + Environment.ProcessId;
        var result = SampleDataWriter.Write(tmp, new SampleDataOptions { Rows = rows });
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.Move(tmp, dir);
        log.WriteLine($"(generated the built-in sample data: {result.Rows} rows, {result.Images} images, in {dir})");
        return dir;
    }

    private static LoaderState ReadState(string path)
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

    /// <summary>PATH:WEIGHT or PATH:WEIGHT:STAGE (the path may itself contain ':').</summary>
    private static (string Path, double Weight, int Stage) ParseMix(string spec)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var parts = spec.Split(':');
        if (parts.Length >= 3 && int.TryParse(parts[^1], inv, out var stage) && stage >= 0
            && double.TryParse(parts[^2], System.Globalization.NumberStyles.Float, inv, out var w3) && w3 > 0)
            return (string.Join(':', parts[..^2]), w3, stage);
        if (parts.Length >= 2 && double.TryParse(parts[^1], System.Globalization.NumberStyles.Float, inv, out var w) && w > 0)
            return (string.Join(':', parts[..^1]), w, 0);
        throw new ArgumentException($"--mix {spec}: expected PATH:WEIGHT or PATH:WEIGHT:STAGE with a positive weight and a stage ≥ 0.");
    }

    private sealed class CompositeDisposable(List<MixtureSource> sources) : IDisposable
    {
        public void Dispose()
        {
            foreach (var s in sources) s.Source.Dispose();
        }
    }

    public static int Run(ParseResult parse, LoaderCliOptions o, bool profile)
    {
        var stdout = parse.InvocationConfiguration.Output;
        var stderr = parse.InvocationConfiguration.Error;
        var json = parse.GetValue(o.Json);
        try
        {
            var options = o.Build(parse);
            options.Validate();
            var mixes = (parse.GetValue(o.Mix) ?? []).Select(ParseMix).ToList();
            var data = parse.GetValue(o.Data);
            if (data is not null || mixes.Count == 0)
                mixes.Insert(0, (data ?? SampleData(parse.GetValue(o.SampleRows), json ? TextWriter.Null : stdout), 1.0, 0));
            var path = string.Join(" + ", mixes.Select(m => mixes.Count == 1 ? m.Path : m.Stage == 0 ? $"{m.Path} (weight {m.Weight})" : $"{m.Path} (weight {m.Weight}, stage {m.Stage})"));
            var maxBatches = parse.GetValue(o.Batches);
            var sources = new List<MixtureSource>();
            using var owned = new CompositeDisposable(sources);
            foreach (var (p, w, stage) in mixes) sources.Add(new MixtureSource(RowSources.Open(p), w) { Stage = stage });
            var corrupt = 0;
            var resume = parse.GetValue(o.Resume) is { } resumePath ? ReadState(resumePath) : null;
            using var loader = new DataLoader(sources, options, resume) { Log = m => { if (Interlocked.Increment(ref corrupt) <= 5) stderr.WriteLine($"warning: {m}"); } };
            LoaderState? last = null;
            var sw = Stopwatch.StartNew();
            var limit = parse.GetValue(o.Seconds) is var sec and > 0 ? TimeSpan.FromSeconds(sec) : TimeSpan.MaxValue;
            var live = !json && !Console.IsErrorRedirected && stderr == Console.Error && AnsiConsole.Profile.Capabilities.Interactive;
            var consumed = new Consumed();
            long allocStart = 0;
            double minFill = 1;
            using (var progress = LoaderProgress.Start(loader, stderr, parse.GetValue(o.ProgressEvery), live, maxBatches))
            {
                foreach (var batch in loader)
                {
                    using (batch)
                    {
                        last = batch.StateAfter;
                        foreach (var pack in batch.Packs)
                        {
                            minFill = Math.Min(minFill, (double)pack.Tokens / options.LmMaxLength);
                            consumed.Add(pack);
                        }
                    }
                    // Steady state: allocation is counted from the end of the first batch (startup, JIT and tokenizer loading excluded).
                    if (++consumed.Batches == 1) allocStart = GC.GetTotalAllocatedBytes(precise: true);
                    progress?.OnBatch(consumed.Batches);
                    if (consumed.Batches == maxBatches || sw.Elapsed >= limit) break;
                }
            }
            var wall = sw.Elapsed.TotalSeconds;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocStart;
            if (parse.GetValue(o.SaveState) is { } savePath)
            {
                if (last is null) throw new IOException($"--save-state {savePath}: no batch was read, so there is no state to save");
                File.WriteAllText(savePath, last.ToJson());
            }
            var c = loader.Counters;
            var prof = loader.Profile();
            var report = new Report(path, consumed, wall, c, prof, minFill, consumed.Batches < 2 ? 0 : allocated / (consumed.Batches - 1));
            if (json) stdout.WriteLine(JsonSerializer.Serialize(report.ToJson(profile), new JsonSerializerOptions { WriteIndented = true }));
            else report.Print(stdout, profile);
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or DataSourceException or ImageDecodeException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}

/// <summary>What one loader run measured.</summary>
internal sealed record Report(string Data, Consumed Consumed, double Seconds, LoaderCounters Counters, StageProfile Profile, double MinFill,
    long AllocatedBytesPerBatch)
{
    private long Batches => Consumed.Batches;

    private double Per(long v) => Seconds <= 0 ? 0 : v / Seconds;

    /// <summary>Real tokens per sequence slot in the consumed batches.</summary>
    private double Fill => Consumed.Sequences == 0 ? 0 : (double)Consumed.Tokens / (Consumed.Sequences * (long)Counters.SequenceLength);

    public Dictionary<string, object?> ToJson(bool withStages)
    {
        var c = Counters;
        var d = new Dictionary<string, object?>
        {
            ["data"] = Data,
            ["batches"] = Batches,
            ["seconds"] = Math.Round(Seconds, 3),
            ["samples"] = Consumed.Samples,
            ["samples_per_s"] = Math.Round(Per(Consumed.Samples), 1),
            ["tokens_per_s"] = Math.Round(Per(Consumed.Tokens), 1),
            ["images_per_s"] = Math.Round(Per(Consumed.Images), 1),
            ["mb_per_s"] = Math.Round(Per(Consumed.Bytes) / 1e6, 1),
            ["fill"] = Math.Round(Fill, 4),
            ["min_fill"] = Math.Round(MinFill, 4),
            ["rows_read"] = c.RowsRead,
            ["samples_emitted"] = c.SamplesEmitted,
            ["in_flight"] = c.InFlight,
            ["dropped"] = Enum.GetValues<DropReason>().ToDictionary(r => r.ToString(), c.DroppedFor),
            ["images_per_sample"] = Math.Round(c.ImagesPerSample, 3),
            ["tokens_per_sample"] = Math.Round(c.TokensPerSample, 1),
            ["padding_ratio"] = Math.Round(c.PaddingRatio, 4),
            ["filtered_ratio"] = Math.Round(c.FilteredRatio, 4),
            ["warnings"] = c.Warnings,
            ["mixture_shares"] = c.MixtureShares,
            ["managed_bytes_allocated_per_batch"] = AllocatedBytesPerBatch,
        };
        if (withStages)
        {
            d["stages"] = Profile.Stages.Select(s => new Dictionary<string, object>
            {
                ["stage"] = s.Stage, ["threads"] = s.Threads, ["items"] = s.Items, ["bytes"] = s.Bytes,
                ["busy_s"] = Math.Round(s.Busy.TotalSeconds, 3), ["blocked_input_s"] = Math.Round(s.BlockedOnInput.TotalSeconds, 3),
                ["blocked_output_s"] = Math.Round(s.BlockedOnOutput.TotalSeconds, 3),
                ["utilization"] = Math.Round(s.Utilization(Profile.Wall), 3),
            }).ToArray();
            d["bottleneck"] = Profile.Bottleneck;
        }
        return d;
    }

    public void Print(TextWriter w, bool withStages)
    {
        var c = Counters;
        w.WriteLine($"nanovlm loader: {Data}");
        w.WriteLine($"  {Batches} batches, {Consumed.Sequences} sequences of {c.SequenceLength} tokens in {Seconds:F2} s");
        w.WriteLine($"  throughput: {Per(Consumed.Samples):F1} samples/s, {Per(Consumed.Tokens):F0} tokens/s, {Per(Consumed.Images):F1} images/s, {Per(Consumed.Bytes) / 1e6:F1} MB/s");
        w.WriteLine($"  fill: {Fill:P2} (min {MinFill:P2}); images/sample {c.ImagesPerSample:F2}, tokens/sample {c.TokensPerSample:F1}");
        w.WriteLine($"  rows: {c.RowsRead} read = {c.SamplesEmitted} emitted + {c.Dropped} dropped + {c.InFlight} in flight (filtered_ratio {c.FilteredRatio:P2})");
        if (c.EmittedPerSource.Count > 1)
            w.WriteLine($"  mixture (emitted shares): {string.Join(", ", c.MixtureShares.Select(x => x.ToString("P2")))}");
        foreach (var r in Enum.GetValues<DropReason>())
            if (c.DroppedFor(r) > 0) w.WriteLine($"    dropped {r}: {c.DroppedFor(r)}");
        w.WriteLine($"  managed allocation: {AllocatedBytesPerBatch / 1024.0:F1} KiB per batch after the first (whole process, slabs excluded)");
        foreach (var warning in c.Warnings) w.WriteLine($"  warning: {warning}");
        if (withStages) ProfileCommand.PrintTable(w, Profile);
    }
}

/// <summary>What the consumer received: throughput is reported on these, not on batches still queued in the pipeline.</summary>
internal sealed class Consumed
{
    public long Batches;
    public long Sequences;
    public long Samples;
    public long Tokens;
    public long Images;
    public long Bytes;

    public void Add(PackedSequence pack)
    {
        Sequences++;
        Samples += pack.SampleCount;
        Tokens += pack.Tokens;
        Images += pack.ImageGrids.Count;
        Bytes += pack.Bytes;
    }
}

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using NanoVlm.Loader.Configuration;
using NanoVlm.Packing;
using NanoVlm.SampleData;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm pack</c>: plans packs for a list of sample shapes (or built-in FineVision-like ones) with nanoVLM's
/// knapsack or best fit, offline or streaming, and writes the groups and fill statistics.
/// </summary>
internal static class PackCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var items = new Option<FileInfo?>("--items")
        {
            Description = "ITEMS.json {\"lengths\": [...], \"images\": [...]} (lengths include the per-sample pad). " +
                "Omitted: built-in FineVision-like shapes.",
        };
        var defaults = new PackingOptions();
        var config = ConfigOption.Create();
        var seqLen = new Option<int>("--seq-len") { Description = $"Tokens per packed sequence (lm_max_length, default {defaults.SequenceLength})." };
        var maxImages = new Option<int>("--max-images") { Description = $"Images per packed sequence (max_images_per_knapsack, default {defaults.MaxImagesPerPack})." };
        var planner = new Option<string>("--planner")
        {
            Description = "nanovlm (nanoVLM's knapsack, exact) or bfd (best-fit decreasing).", DefaultValueFactory = _ => "bfd",
        };
        planner.AcceptOnlyFromAmong("nanovlm", "bfd");
        var delta = new Option<int>("--delta") { Description = $"Extra bins of nanoVLM's knapsack (default {defaults.Delta})." };
        var window = new Option<int?>("--window-tokens")
        {
            Description = "Stream: plan every time this many tokens are buffered (nanoVLM: 32768). Omitted: one plan over all items.",
        };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "Keep packs in bin creation order." };
        var seed = new Option<int>("--seed") { Description = $"Seed of the pack shuffle (Python random.seed) and of the built-in shapes (default {defaults.Seed})." };
        var output = new Option<FileInfo?>("--out") { Description = "GROUPS.json to write. Omitted: print the summary only." };
        var synthetic = new Option<int>("--synthetic-items")
        {
            Description = "How many built-in shapes to generate when --items is omitted.", DefaultValueFactory = _ => 32768,
        };
        var writeItems = new Option<FileInfo?>("--write-items") { Description = "Also write the items used as ITEMS.json (for side-by-side runs)." };
        var minEmitFill = new Option<double?>("--min-emit-fill")
        {
            Description = "Streaming bfd: carry packs filled below this over to the next window (default 0.99; nanovlm: 0).",
        };
        var maxCarry = new Option<double?>("--max-carry") { Description = "Streaming bfd: the most of a window that may be carried over (default 1.0)." };

        var command = new Command("pack", "Plan sequence packs (nanoVLM knapsack or best fit) and report fill.")
        {
            items, config, seqLen, maxImages, planner, delta, window, noShuffle, seed, output, synthetic, writeItems, minEmitFill, maxCarry,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                // The library's defaults, then the --config file, then the flags given.
                var b = ConfigOption.Load(parse, config).ApplyTo(defaults);
                var options = b with
                {
                    SequenceLength = parse.Flag(seqLen, b.SequenceLength), MaxImagesPerPack = parse.Flag(maxImages, b.MaxImagesPerPack),
                    Delta = parse.Flag(delta, b.Delta), Shuffle = b.Shuffle && !parse.GetValue(noShuffle), Seed = parse.Flag(seed, b.Seed),
                };
                options.Validate();
                var kind = parse.GetValue(planner) == "nanovlm" ? PlannerKind.NanovlmCompat : PlannerKind.BestFit;
                var itemsFile = parse.GetValue(items);
                var shapes = itemsFile is null
                    ? SyntheticShapes.FineVisionLike(parse.GetValue(synthetic), parse.GetValue(seed), options.SequenceLength)
                    : ReadItems(itemsFile.FullName);
                if (parse.GetValue(writeItems) is { } itemsOut) WriteItems(itemsOut.FullName, shapes);

                var source = itemsFile is null
                    ? $"built-in FineVision-like shapes (seed {options.Seed})"
                    : itemsFile.Name;
                stdout.WriteLine($"nanovlm pack: {shapes.Length} items from {source}; L = {options.SequenceLength}, " +
                    $"at most {options.MaxImagesPerPack} images per pack");

                var windowTokens = parse.GetValue(window);
                var streaming = windowTokens is { } w
                    ? Streaming(kind, options, w, parse.GetValue(minEmitFill), parse.GetValue(maxCarry))
                    : null;
                var run = streaming is null ? PlanOffline(kind, options, shapes) : StreamAll(streaming, shapes);
                stdout.WriteLine(Describe(run.Label, run));

                if (parse.GetValue(output) is { } outFile) WriteGroups(outFile.FullName, run);
                else if (itemsFile is null) Compare(stdout, options, shapes, parse.GetValue(minEmitFill), parse.GetValue(maxCarry));
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or JsonException or InvalidDataException or ConfigFileException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>One planning run: groups of item ids in pack order plus its stats.</summary>
    private sealed record Run(string Label, long[][] Groups, PackingStats Stats, double Seconds, long Skipped);

    private static StreamingPackerOptions Streaming(PlannerKind kind, PackingOptions packing, int window,
        double? minEmitFill, double? maxCarry)
    {
        var defaults = kind == PlannerKind.NanovlmCompat ? StreamingPackerOptions.Nanovlm : new StreamingPackerOptions();
        return defaults with
        {
            Packing = packing, WindowTokens = window,
            MinEmitFill = minEmitFill ?? defaults.MinEmitFill, MaxCarryFraction = maxCarry ?? defaults.MaxCarryFraction,
        };
    }

    private static Run PlanOffline(PlannerKind kind, PackingOptions options, SampleShape[] shapes)
    {
        var planner = PackPlanner.Create(kind, options);
        var members = new int[shapes.Length];
        var starts = new int[shapes.Length + 1];
        var clock = Stopwatch.StartNew();
        var packs = planner.Plan(shapes, members, starts);
        var seconds = clock.Elapsed.TotalSeconds;
        var groups = new long[packs][];
        for (var p = 0; p < packs; p++)
            groups[p] = members[starts[p]..starts[p + 1]].Select(i => shapes[i].Id).ToArray();
        var label = $"{Name(kind)}, offline (one plan over all items)";
        return new Run(label, groups, PackingStats.FromPlan(shapes, members, starts, packs, options.SequenceLength), seconds, 0);
    }

    private static Run StreamAll(StreamingPackerOptions options, SampleShape[] shapes)
    {
        var packer = new StreamingPacker(options);
        var groups = new List<long[]>();
        var ids = new List<long>();
        var clock = new Stopwatch();
        void Take()
        {
            while (packer.TryTakePack(out var pack))
            {
                ids.Clear();
                foreach (var s in pack) ids.Add(s.Id);
                groups.Add([.. ids]);
            }
        }
        foreach (var s in shapes)
        {
            clock.Start();
            packer.Add(s);
            clock.Stop();
            Take();
        }
        clock.Start();
        packer.Flush();
        clock.Stop();
        Take();
        var stats = packer.Stats;
        var carry = options.MinEmitFill > 0
            ? $"packs below {options.MinEmitFill:P0} carried over (at most {options.MaxCarryFraction:P0} of a window)"
            : "every pack emitted";
        var label = $"{Name(options.Planner)}, streaming ({options.WindowTokens}-token window, {carry})";
        return new Run(label, [.. groups], stats.Emitted, clock.Elapsed.TotalSeconds, stats.Skipped);
    }

    private static string Name(PlannerKind kind) => kind == PlannerKind.NanovlmCompat ? "nanovlm" : "bfd";

    private static string Describe(string label, Run run)
    {
        var s = run.Stats;
        var skipped = run.Skipped > 0 ? $", {run.Skipped} items skipped" : "";
        return $"  {label}\n" +
            $"    {s.Packs} packs for {s.Items} items{skipped}; lower bound ceil(tokens/L) = {s.LowerBound} (x{s.PacksOverLowerBound:F3})\n" +
            $"    fill {s.Fill:P2}, padding {s.PaddingRatio:P2}, {s.ImagesPerPack:F2} images/pack (max {s.MaxImagesInPack}), " +
            $"emptiest pack {s.MinPackTokens} tokens; planned in {run.Seconds * 1e3:F1} ms";
    }

    // The built-in demo: the same shapes through every mode, nanoVLM's next to ours.
    private static void Compare(TextWriter stdout, PackingOptions options, SampleShape[] shapes, double? minEmitFill, double? maxCarry)
    {
        const int window = 4096 * 8;
        Run[] runs =
        [
            PlanOffline(PlannerKind.NanovlmCompat, options, shapes),
            PlanOffline(PlannerKind.BestFit, options, shapes),
            StreamAll(Streaming(PlannerKind.NanovlmCompat, options, window, null, null), shapes),
            StreamAll(Streaming(PlannerKind.BestFit, options, window, minEmitFill, maxCarry), shapes),
        ];
        stdout.WriteLine();
        stdout.WriteLine("Side by side on the same items (nanovlm = nanoVLM's knapsack, exact; bfd = best fit, ours):");
        stdout.WriteLine($"  {"mode",-62} {"packs",8} {"x bound",8} {"fill",8} {"plan ms",9}");
        foreach (var r in runs)
        {
            var label = r.Label.Length > 62 ? r.Label[..59] + "..." : r.Label;
            stdout.WriteLine($"  {label,-62} {r.Stats.Packs,8} {r.Stats.PacksOverLowerBound,8:F3} {r.Stats.Fill,8:P2} {r.Seconds * 1e3,9:F1}");
        }
        stdout.WriteLine($"  Streaming at nanoVLM's {window}-token window is what training sees: " +
            $"{runs[2].Stats.Fill:P1} fill with nanoVLM's rule vs {runs[3].Stats.Fill:P1} with best fit + carry-over " +
            $"({(double)runs[2].Stats.Packs / Math.Max(1, runs[3].Stats.Packs):F2}x fewer sequences for the same tokens).");
    }

    private static SampleShape[] ReadItems(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        if (!root.TryGetProperty("lengths", out var lengths) || lengths.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: missing array \"lengths\".");
        var n = lengths.GetArrayLength();
        var images = root.TryGetProperty("images", out var im) ? im : default;
        if (images.ValueKind != JsonValueKind.Array || images.GetArrayLength() != n)
            throw new InvalidDataException($"{path}: \"images\" must be an array as long as \"lengths\" ({n}).");
        var shapes = new SampleShape[n];
        var i = 0;
        using var l = lengths.EnumerateArray().GetEnumerator();
        foreach (var img in images.EnumerateArray())
        {
            l.MoveNext();
            shapes[i] = new SampleShape(l.Current.GetInt32(), img.GetInt32(), i);
            i++;
        }
        return shapes;
    }

    private static void WriteItems(string path, SampleShape[] shapes)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteStartArray("lengths");
        foreach (var s in shapes) json.WriteNumberValue(s.Length);
        json.WriteEndArray();
        json.WriteStartArray("images");
        foreach (var s in shapes) json.WriteNumberValue(s.Images);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteGroups(string path, Run run)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteStartArray("groups");
        foreach (var g in run.Groups)
        {
            json.WriteStartArray();
            foreach (var id in g) json.WriteNumberValue(id);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteStartObject("stats");
        json.WriteNumber("items", run.Stats.Items);
        json.WriteNumber("packs", run.Stats.Packs);
        json.WriteNumber("fill", run.Stats.Fill);
        json.WriteNumber("lower_bound", run.Stats.LowerBound);
        json.WriteNumber("plan_seconds", run.Seconds);
        json.WriteNumber("skipped", run.Skipped);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}

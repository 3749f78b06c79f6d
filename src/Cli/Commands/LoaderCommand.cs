using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using NanoVlm.Loader.Configuration;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
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
        command.SetAction(parse => Run(parse, o, profile: false));
        return command;
    }

    /// <summary>Runs the loader with the parsed options and prints the report; 2 on bad input.</summary>
    public static int Run(ParseResult parse, LoaderCliOptions o, bool profile)
    {
        var stdout = parse.InvocationConfiguration.Output;
        var stderr = parse.InvocationConfiguration.Error;
        var json = parse.GetValue(o.Json);
        try
        {
            var options = o.Build(parse);
            options.Validate();
            var data = parse.GetValue(o.Data);
            var mixture = DataMixture.From(data, parse.GetValue(o.Mix), ConfigOption.Load(parse, o.Config))
                ?? DataMixture.Single(LoaderCliOptions.SampleData(parse.GetValue(o.SampleRows), json ? TextWriter.Null : stdout));
            var path = mixture.Describe();
            var maxBatches = parse.GetValue(o.Batches);
            using var owned = mixture.Open();
            var sources = owned.Sources;
            var corrupt = 0;
            var resume = parse.GetValue(o.Resume) is { } resumePath ? LoaderCliOptions.ReadState(resumePath) : null;
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
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or DataSourceException or ImageDecodeException
            or ConfigFileException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}

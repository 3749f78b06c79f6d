using System.Text.Json;
using NanoVlm.Loader.Pipeline;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

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

using System.Diagnostics;
using NanoVlm.Loader.Pipeline;
using Spectre.Console;

// Namespace NanoVlm.Cli (not .Commands) so the commands can name it without a using.
namespace NanoVlm.Cli;

/// <summary>
/// Progress of a loader run on stderr: a live Spectre.Console status line on an interactive terminal, and/or one
/// plain line every <c>--progress-every</c> seconds for logs and soak runs (tools/loader_soak.sh parses those lines:
/// keep their <c>key=value</c> fields stable).
/// </summary>
/// <remarks>
/// Sampled from the consumer loop between batches (no timer thread), so a stalled loader shows as a silent one.
/// <c>heap_mb</c> is the managed heap after the last collection (<see cref="GC.GetGCMemoryInfo()"/>: live objects and
/// fragmentation, not garbage awaiting a gen0 collection) without the pinned object heap, which is reported apart as
/// <c>pinned_mb</c> because it holds the slab pool, allocated once up front; <c>rss_mb</c> is the process working
/// set, which grows while the slabs' pages are first touched. A soak run must see heap and RSS flat after its warm-up.
/// </remarks>
internal sealed class LoaderProgress : IDisposable
{
    private readonly DataLoader _loader;
    private readonly TextWriter _log;
    private readonly long _everyTicks;
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly ProgressTask? _live;
    private readonly Task? _liveLoop;
    private readonly TaskCompletionSource _liveDone = new();
    private const int PinnedObjectHeap = 4; // GCMemoryInfo.GenerationInfo: gen0, gen1, gen2, LOH, POH
    private long _nextLine;
    private long _nextLive;

    private LoaderProgress(DataLoader loader, TextWriter log, double everySeconds, bool live, int maxBatches)
    {
        _loader = loader;
        _log = log;
        _everyTicks = everySeconds > 0 ? (long)(everySeconds * Stopwatch.Frequency) : 0;
        _nextLine = _start + _everyTicks;
        if (!live) return;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var started = new TaskCompletionSource<ProgressTask>();
        _liveLoop = console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: maxBatches > 0 ? maxBatches : 1);
                task.IsIndeterminate = maxBatches <= 0;
                started.SetResult(task);
                await _liveDone.Task.ConfigureAwait(false);
                task.StopTask();
            });
        _live = started.Task.GetAwaiter().GetResult();
    }

    /// <summary>Starts progress output, or returns null when neither a live display nor periodic lines are wanted.</summary>
    /// <param name="loader">The running loader (its counters are sampled).</param>
    /// <param name="log">Where plain lines go (stderr).</param>
    /// <param name="everySeconds">Seconds between plain lines on <paramref name="log"/>; 0 for none.</param>
    /// <param name="live">Whether to draw the live display (stderr is an interactive terminal and output is not JSON); ignored
    /// when <paramref name="everySeconds"/> asks for plain lines, which would garble it.</param>
    /// <param name="maxBatches">The batch limit (the live bar's length); 0 for none.</param>
    public static LoaderProgress? Start(DataLoader loader, TextWriter log, double everySeconds, bool live, int maxBatches)
        => everySeconds > 0 || live ? new LoaderProgress(loader, log, everySeconds, live && everySeconds <= 0, maxBatches) : null;

    /// <summary>Called by the consumer after each batch.</summary>
    public void OnBatch(long batches)
    {
        var now = Stopwatch.GetTimestamp();
        if (_live is not null && now >= _nextLive)
        {
            _nextLive = now + Stopwatch.Frequency / 4;
            var c = _loader.Counters;
            var s = Stopwatch.GetElapsedTime(_start).TotalSeconds;
            _live.Description = Markup.Escape($"{batches} batches · {c.SamplesEmitted / s:F1} samples/s · fill {1 - c.PaddingRatio:P1}");
            _live.Value = batches;
        }
        if (_everyTicks > 0 && now >= _nextLine)
        {
            _nextLine = now + _everyTicks;
            _log.WriteLine(Line(batches));
        }
    }

    /// <summary>One plain progress line: elapsed seconds, batches, samples/s, fill, managed heap and RSS in MB.</summary>
    private string Line(long batches)
    {
        var c = _loader.Counters;
        var s = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        using var self = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        var pinned = gc.GenerationInfo.Length > PinnedObjectHeap ? gc.GenerationInfo[PinnedObjectHeap].SizeAfterBytes : 0;
        return FormattableString.Invariant(
            $"progress: t={s:F0}s batches={batches} samples_per_s={c.SamplesEmitted / s:F1} fill={1 - c.PaddingRatio:F4} heap_mb={(gc.HeapSizeBytes - pinned) / 1e6:F1} pinned_mb={pinned / 1e6:F0} rss_mb={self.WorkingSet64 / 1e6:F1}");
    }

    public void Dispose()
    {
        _liveDone.TrySetResult();
        _liveLoop?.GetAwaiter().GetResult();
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>Counters of one stage (thread-safe); exported through <see cref="LoaderTelemetry"/>.</summary>
internal sealed class StageMeter(string name, int threads)
{
    private long _items, _bytes, _busy, _blockedIn, _blockedOut;

    public string Name { get; } = name;
    public int Threads { get; } = threads;
    public long Items => Interlocked.Read(ref _items);
    public long Bytes => Interlocked.Read(ref _bytes);
    public long BusyTicks => Interlocked.Read(ref _busy);
    public long BlockedInTicks => Interlocked.Read(ref _blockedIn);
    public long BlockedOutTicks => Interlocked.Read(ref _blockedOut);

    public void Item(long bytes = 0)
    {
        Interlocked.Increment(ref _items);
        if (bytes != 0) Interlocked.Add(ref _bytes, bytes);
    }

    public void Busy(long since) => Interlocked.Add(ref _busy, Stopwatch.GetTimestamp() - since);
    public void BlockedIn(long since) => Interlocked.Add(ref _blockedIn, Stopwatch.GetTimestamp() - since);
    public void BlockedOut(long since) => Interlocked.Add(ref _blockedOut, Stopwatch.GetTimestamp() - since);

    public StageTiming Snapshot() => new(Name, Threads, Items, Bytes, Stopwatch.GetElapsedTime(0, BusyTicks),
        Stopwatch.GetElapsedTime(0, BlockedInTicks), Stopwatch.GetElapsedTime(0, BlockedOutTicks));
}

/// <summary>The loader's <see cref="Meter"/> ("NanoVlm.Loader") and <see cref="ActivitySource"/>.</summary>
internal static class LoaderTelemetry
{
    public const string Name = "NanoVlm.Loader";
    public static readonly ActivitySource Activities = new(Name);
    private static readonly Meter s_meter = new(Name);
    private static readonly List<WeakReference<StageMeter[]>> s_live = [];

    static LoaderTelemetry()
    {
        s_meter.CreateObservableCounter("loader.stage.items", () => Observe(m => m.Items), "{item}", "Items processed per stage");
        s_meter.CreateObservableCounter("loader.stage.bytes", () => Observe(m => m.Bytes), "By", "Bytes processed per stage");
        s_meter.CreateObservableCounter("loader.stage.busy", () => Observe(m => Seconds(m.BusyTicks)), "s", "Busy time per stage");
        s_meter.CreateObservableCounter("loader.stage.blocked_input", () => Observe(m => Seconds(m.BlockedInTicks)), "s", "Time blocked on input per stage");
        s_meter.CreateObservableCounter("loader.stage.blocked_output", () => Observe(m => Seconds(m.BlockedOutTicks)), "s", "Time blocked on output per stage");
    }

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;

    public static void Register(StageMeter[] stages)
    {
        lock (s_live)
        {
            s_live.RemoveAll(w => !w.TryGetTarget(out _));
            s_live.Add(new WeakReference<StageMeter[]>(stages));
        }
    }

    public static void Unregister(StageMeter[] stages)
    {
        lock (s_live) s_live.RemoveAll(w => !w.TryGetTarget(out var t) || ReferenceEquals(t, stages));
    }

    private static IEnumerable<Measurement<T>> Observe<T>(Func<StageMeter, T> read) where T : struct
    {
        var result = new List<Measurement<T>>();
        lock (s_live)
        {
            foreach (var w in s_live)
                if (w.TryGetTarget(out var stages))
                    foreach (var s in stages)
                        result.Add(new Measurement<T>(read(s), new KeyValuePair<string, object?>("stage", s.Name)));
        }
        return result;
    }
}

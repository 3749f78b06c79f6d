using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;

namespace NanoVlm.Benchmarks;

/// <summary>
/// Where the loader's steady-state managed allocation goes, by type and thread: the same endless loader as
/// <see cref="LoaderBatchBenchmarks"/> (2,000 sample rows, 4 shards, nanoVLM's defaults), 40 batches of warm-up, then
/// the runtime's GCAllocationTick events (one per ~100 KB allocated, naming the type of the allocation that crossed
/// the mark) summed by type and by OS thread over the measured batches, next to the exact total
/// (<see cref="GC.GetTotalAllocatedBytes"/>). A tick stands for ~100 KB, so a type's figure is good to about
/// 100 KB / batches; run a few hundred batches. The listener's own allocations (the runtime hands it the events on a
/// thread of its own, boxing their payloads) are measured on that thread and taken out of the totals.
/// Run: dotnet NanoVlm.Benchmarks.dll loader-alloc [workers=1] [batches=400] [data folder]
/// </summary>
internal static class LoaderAllocationProbe
{
    public static int Run(string[] args)
    {
        var workers = args.Length > 0 ? int.Parse(args[0]) : 1;
        var batches = args.Length > 1 ? int.Parse(args[1]) : 400;
        var dir = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "nanovlm-loader-alloc-data");
        if (!Directory.Exists(dir)) SampleDataWriter.Write(dir, new SampleDataOptions { Rows = 2000, Shards = 4 });
        using var source = RowSources.Open(dir);
        using var loader = new DataLoader(source, new DataLoaderOptions { Workers = workers, Epochs = null });
        using var e = loader.GetEnumerator();
        long Next()
        {
            if (!e.MoveNext()) throw new InvalidOperationException("the loader ended");
            using var b = e.Current;
            return b.Tokens;
        }
        for (var i = 0; i < 40; i++) Next();
        using var listener = new AllocationTicks();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var consumerBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < batches; i++) Next();
        var total = GC.GetTotalAllocatedBytes(precise: true) - before;
        var consumer = GC.GetAllocatedBytesForCurrentThread() - consumerBefore;
        listener.Stop();
        var own = listener.OwnBytes;
        Console.WriteLine($"workers {workers}: {batches} batches in {clock.Elapsed.TotalSeconds:F1} s; " +
            $"{(total - own) / (double)batches:F0} B/batch (whole process less the listener's {own / (double)batches:F0}), " +
            $"consumer thread {consumer / (double)batches:F0} B/batch, {listener.Ticks} ticks");
        foreach (var key in listener.ByThreadType.Keys.Where(k => k.Thread == listener.OwnThread).ToList())
        {
            listener.ByThreadType.TryRemove(key, out var v);
            listener.ByType.AddOrUpdate(key.Type, 0, (_, t) => t - v);
        }
        listener.ByThread.TryRemove(listener.OwnThread, out _);
        var sum = Math.Max(1, listener.ByType.Values.Sum());
        foreach (var (type, bytes) in listener.ByType.Where(kv => kv.Value > 0).OrderByDescending(kv => kv.Value))
            Console.WriteLine($"  {bytes / (double)batches,8:F0} B/batch {100.0 * bytes / sum,5:F1}%  {type}");
        Console.WriteLine("by thread (OS id):");
        foreach (var (thread, bytes) in listener.ByThread.OrderByDescending(kv => kv.Value))
        {
            var top = listener.ByThreadType.Where(x => x.Key.Thread == thread).OrderByDescending(x => x.Value).Take(6)
                .Select(x => $"{x.Key.Type} {x.Value / (double)batches:F0}");
            Console.WriteLine($"  {thread}: {bytes / (double)batches:F0} B/batch; {string.Join(", ", top)}");
        }
        return 0;
    }

    private sealed class AllocationTicks : EventListener
    {
        public readonly ConcurrentDictionary<string, long> ByType = new();
        public readonly ConcurrentDictionary<ulong, long> ByThread = new();
        public readonly ConcurrentDictionary<(ulong Thread, string Type), long> ByThreadType = new();
        public int Ticks;
        private volatile bool _on = true;
        private long _ownFirst = -1, _ownLast;

        /// <summary>The OS id of the thread the runtime delivers events on (0 where it cannot be read).</summary>
        public ulong OwnThread { get; private set; }

        /// <summary>What that thread allocated between the first and the last event seen while on.</summary>
        public long OwnBytes => _ownFirst < 0 ? 0 : _ownLast - _ownFirst;

        public void Stop() => _on = false;

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
        private static extern int GetTid();

        private static ulong CurrentOsThread()
        {
            try { return OperatingSystem.IsLinux() ? (ulong)GetTid() : 0; }
            catch (EntryPointNotFoundException) { return 0; }
        }

        protected override void OnEventSourceCreated(EventSource source)
        {
            // The GC keyword (0x1) at verbose level carries GCAllocationTick.
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }

        protected override void OnEventWritten(EventWrittenEventArgs ev)
        {
            if (!_on) return;
            var mine = GC.GetAllocatedBytesForCurrentThread();
            if (_ownFirst < 0)
            {
                _ownFirst = mine;
                OwnThread = CurrentOsThread();
            }
            _ownLast = mine;
            if (ev.EventName is null || !ev.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal)) return;
            var names = ev.PayloadNames!;
            var typeAt = names.IndexOf("TypeName");
            var amountAt = names.IndexOf("AllocationAmount64");
            var type = typeAt >= 0 ? ev.Payload![typeAt] as string ?? "?" : "?";
            var amount = amountAt >= 0 ? Convert.ToInt64(ev.Payload![amountAt]) : 100_000;
            Interlocked.Increment(ref Ticks);
            ByType.AddOrUpdate(type, amount, (_, v) => v + amount);
            ByThread.AddOrUpdate((ulong)ev.OSThreadId, amount, (_, v) => v + amount);
            ByThreadType.AddOrUpdate(((ulong)ev.OSThreadId, type), amount, (_, v) => v + amount);
        }
    }
}

using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.CompilerServices;
using NanoVlm.Kernels;
using NanoVlm.Loader.Pipeline.Internal;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// The training-data loader: read → filter + shape (tokenize once, image headers only) → plan (streaming packer with
/// carry-over) → materialize (N workers decode each image once straight into the pack's pinned slab and assemble
/// ids/labels/masks/positions/cu_seqlens next to the tiles) → <see cref="Batch"/> → bounded channel → consumer.
/// </summary>
/// <remarks>
/// <para><b>Determinism.</b> Reading, shaping and planning run on one thread each in a fixed order; packs are
/// materialized in parallel but emitted in plan order, so the same seed, sources, rank/world and options give the same
/// batches for any worker count and timing.</para>
/// <para><b>Failures.</b> A corrupt image drops its sample (counted in <see cref="DropReason.CorruptImage"/>, reported
/// through <see cref="Log"/> with shard and row) or, under <see cref="DataLoaderOptions.StrictImages"/>, fails the run
/// with a <see cref="DataSourceException"/>. An exception in any stage completes the stream with that exception, so the
/// consumer's next read throws it (no hang). Cancelling the consumer's token or disposing the loader stops every
/// stage; after <see cref="DisposeAsync"/> every slab not held by an undisposed <see cref="Batch"/> is back in the pool.</para>
/// <para>The loader enumerates once: a second enumeration throws <see cref="InvalidOperationException"/>.</para>
/// </remarks>
public sealed class DataLoader : IAsyncEnumerable<Batch>, IEnumerable<Batch>, IAsyncDisposable, IDisposable
{
    private readonly DataLoaderOptions _o;
    private readonly MixtureSource[] _sources;
    private readonly VlmTokenizer _tokenizer;
    private readonly LoaderState? _resume;
    private readonly CounterSet _counters;
    private readonly PinnedSlabPool _pool;
    private readonly PackLayout _layout;
    private readonly StageMeter _read, _shape, _plan, _materialize, _consume;
    private readonly StageMeter[] _stages;
    private readonly CancellationTokenSource _cts = new();
    private readonly BlockingRing<OwnedRow> _rows;
    private readonly BlockingRing<BatchPlan>[] _plans;
    private readonly BlockingRing<Batch>[] _outputs;
    private readonly PipelineFault _fault;
    private readonly string _fingerprint;
    private readonly long _started = Stopwatch.GetTimestamp();
    private Task[] _tasks = [];
    private int _startedFlag, _disposed;
    private long _next;
    private long _consumeSince;

    /// <summary>Creates a loader over one source.</summary>
    /// <param name="source">The rows (not owned).</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="resumeFrom">A state from <see cref="Batch.StateAfter"/> to continue a run; null to start.</param>
    /// <param name="tokenizer">The tokenizer; null for <see cref="VlmTokenizer.LoadDefault"/>.</param>
    public DataLoader(IRowSource source, DataLoaderOptions? options = null, LoaderState? resumeFrom = null, VlmTokenizer? tokenizer = null)
        : this([new MixtureSource(source ?? throw new ArgumentNullException(nameof(source)), 1)], options, resumeFrom, tokenizer)
    {
    }

    /// <summary>Creates a loader over a weighted mixture of sources: each sample comes from a source chosen with the
    /// seeded RNG in proportion to the weights (until a source runs out), stage by stage (<see cref="MixtureSource.Stage"/>).</summary>
    /// <param name="sources">Sources and weights (not owned).</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="resumeFrom">A state from <see cref="Batch.StateAfter"/> to continue a run; null to start.</param>
    /// <param name="tokenizer">The tokenizer; null for <see cref="VlmTokenizer.LoadDefault"/>.</param>
    /// <exception cref="ArgumentException">No source, a weight ≤ 0, a negative stage, epochs ≤ 0, or a state from other options.</exception>
    public DataLoader(IReadOnlyList<MixtureSource> sources, DataLoaderOptions? options = null, LoaderState? resumeFrom = null,
        VlmTokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        if (sources.Count == 0) throw new ArgumentException("At least one source is needed.", nameof(sources));
        foreach (var s in sources)
        {
            if (s is null || s.Source is null || !(s.Weight > 0))
                throw new ArgumentException("Every source needs a positive weight.", nameof(sources));
            if (s.Stage < 0) throw new ArgumentException($"{s.Source.Name}: stage {s.Stage} is negative.", nameof(sources));
            if (s.Epochs is <= 0) throw new ArgumentException($"{s.Source.Name}: epochs {s.Epochs} must be > 0 (null: the loader's).", nameof(sources));
        }
        _o = options ?? new DataLoaderOptions();
        _o.Validate();
        _sources = [.. sources];
        _tokenizer = tokenizer ?? VlmTokenizer.LoadDefault();
        _fingerprint = LoaderFingerprint.Of(_o, _sources);
        if (resumeFrom is not null && (resumeFrom.Fingerprint != _fingerprint || resumeFrom.Sources.Count != _sources.Length))
            throw new ArgumentException("The loader state was saved with other options or sources.", nameof(resumeFrom));
        _resume = resumeFrom;
        _next = resumeFrom?.BatchesEmitted ?? 0;
        _counters = new CounterSet(_sources.Length);
        _layout = PackLayout.For(_o.LmMaxLength, _o.ImageTokenLength, _o.Images.SplitSize, _o.TileFormat);
        _pool = new PinnedSlabPool(_o.EffectiveSlabPoolSize, _layout.SlabBytes, 64);
        _read = new StageMeter("read", 1);
        _shape = new StageMeter("shape", 1);
        _plan = new StageMeter("plan", 1);
        _materialize = new StageMeter("materialize", _o.Workers);
        _consume = new StageMeter("consume", 1);
        _stages = [_read, _shape, _plan, _materialize, _consume];
        LoaderTelemetry.Register(_stages);
        _rows = new BlockingRing<OwnedRow>(_o.ReadAheadRows, _cts.Token);
        _plans = new BlockingRing<BatchPlan>[_o.Workers];
        _outputs = new BlockingRing<Batch>[_o.Workers];
        var perWorker = Math.Max(1, (_o.OutputCapacity + _o.Workers - 1) / _o.Workers);
        for (var w = 0; w < _o.Workers; w++)
        {
            _plans[w] = new BlockingRing<BatchPlan>(1, _cts.Token);
            _outputs[w] = new BlockingRing<Batch>(perWorker, _cts.Token);
        }
        _fault = new PipelineFault(_cts, _outputs);
    }

    /// <summary>The options.</summary>
    public DataLoaderOptions Options => _o;

    /// <summary>Where each array lies in a pack's slab.</summary>
    public PackLayout Layout => _layout;

    /// <summary>Receives one line per dropped corrupt image (with shard and row) and other warnings; may be null.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>A snapshot of the accounting.</summary>
    public LoaderCounters Counters => _counters.Snapshot(_o.LmMaxLength);

    /// <summary>A snapshot of every stage's items, bytes, busy and blocked time.</summary>
    public StageProfile Profile() => new(Stopwatch.GetElapsedTime(_started), _stages.Select(s => s.Snapshot()).ToArray());

    /// <summary>Slabs leased and not returned (batches alive, packs being built); 0 after disposal when every batch was disposed.</summary>
    public int SlabsOutstanding => _pool.Outstanding;

    /// <summary>Slabs in the pool.</summary>
    public int SlabCount => _pool.SlabCount;

    /// <summary>Reads the next batch; null at the end of a finite run. Throws the exception of a failed stage.</summary>
    /// <param name="cancellationToken">Cancels the wait and stops every stage of the loader (which is then finished).</param>
    /// <remarks>A wait allocates nothing beyond the thread-pool item that resumes it (the method's state is pooled).</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Batch?> ReadNextAsync(CancellationToken cancellationToken = default)
    {
        var ring = BeginRead(cancellationToken);
        var waitStart = Stopwatch.GetTimestamp();
        try
        {
            while (true)
            {
                if (ring.TryRead(out var batch)) return Consumed(batch);
                cancellationToken.ThrowIfCancellationRequested();
                bool more;
                try
                {
                    more = await ring.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception) when (_fault.Exception is not null)
                {
                    ExceptionDispatchInfo.Throw(_fault.Exception);
                    throw;
                }
                if (!more) return Ended();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The consumer gave up: stop every stage now (the loader is finished; dispose it to reclaim slabs).
            try { _cts.Cancel(); } catch (ObjectDisposedException) { }
            throw;
        }
        finally
        {
            EndRead(waitStart);
        }
    }

    /// <summary>The synchronous <see cref="ReadNextAsync"/>: blocks the calling thread on the next worker's output.</summary>
    private Batch? ReadNext()
    {
        var ring = BeginRead(default);
        var waitStart = Stopwatch.GetTimestamp();
        try
        {
            if (ring.TryRead(out var batch)) return Consumed(batch);
            try
            {
                return ring.Read(out batch) ? Consumed(batch) : Ended();
            }
            catch (Exception) when (_fault.Exception is not null)
            {
                ExceptionDispatchInfo.Throw(_fault.Exception);
                throw;
            }
        }
        finally
        {
            EndRead(waitStart);
        }
    }

    /// <summary>Starts the loader on the first read; the ring of the worker whose batch comes next.</summary>
    private BlockingRing<Batch> BeginRead(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            try { _cts.Cancel(); } catch (ObjectDisposedException) { }
            cancellationToken.ThrowIfCancellationRequested();
        }
        EnsureStarted();
        if (_consumeSince != 0) _consume.Busy(_consumeSince);
        return _outputs[(int)(_next % _o.Workers)];
    }

    private Batch Consumed(Batch batch)
    {
        _next++;
        _consume.Item(batch.Bytes);
        return batch;
    }

    /// <summary>The run ended: null, or the failure of a stage.</summary>
    private Batch? Ended()
    {
        if (_fault.Exception is { } fault) ExceptionDispatchInfo.Throw(fault);
        return null;
    }

    private void EndRead(long waitStart)
    {
        _consume.BlockedIn(waitStart);
        _consumeSince = Stopwatch.GetTimestamp();
    }

    /// <inheritdoc />
    public async IAsyncEnumerator<Batch> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        ClaimEnumeration();
        while (await ReadNextAsync(cancellationToken).ConfigureAwait(false) is { } batch)
            yield return batch;
    }

    /// <summary>A synchronous enumerator for embedders (blocks the calling thread while waiting).</summary>
    public IEnumerator<Batch> GetEnumerator()
    {
        ClaimEnumeration();
        return Enumerate();

        IEnumerator<Batch> Enumerate()
        {
            while (ReadNext() is { } batch)
                yield return batch;
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    private int _enumerated;

    private void ClaimEnumeration()
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
            throw new InvalidOperationException("A DataLoader can be enumerated once; create a new one (from a LoaderState) to read again.");
    }

    private void EnsureStarted()
    {
        if (Interlocked.Exchange(ref _startedFlag, 1) != 0) return;
        var ct = _cts.Token;
        var imageFailures = new ImageFailurePolicy(_o.StrictImages, _counters, Log);
        var read = new ReadStage(_sources, _o, _resume, _counters, _read, _rows, _fault);
        var plan = new PlanStage(_o, _sources, _resume, _fingerprint, _counters, (_shape, _plan), _rows, _plans, _fault,
            () => new SampleShaper(_o, _tokenizer, _counters, imageFailures), new StateSnapshotPool(), new ReusePool<BatchPlan>());
        var materialize = new MaterializeStage(_o, _layout, _pool, _tokenizer.PadTokenId, _counters, _materialize, imageFailures, _fault);
        var tasks = new List<Task>
        {
            Task.Factory.StartNew(() => read.Run(ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            Task.Factory.StartNew(() => plan.Run(ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default),
        };
        for (var w = 0; w < _o.Workers; w++)
        {
            var (plans, outputs) = (_plans[w], _outputs[w]);
            tasks.Add(Task.Factory.StartNew(() => materialize.Run(plans, outputs, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }
        _tasks = [.. tasks];
    }

    // ---- lifetime ----
    /// <summary>Stops every stage, waits for them, and returns every slab held inside the loader to the pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { _cts.Cancel(); } catch (ObjectDisposedException) { }
        try { await Task.WhenAll(_tasks).ConfigureAwait(false); }
        catch (Exception) { /* stage failures were already reported to the consumer */ }
        while (_rows.TryRead(out var r)) r.ReturnBuffers();
        foreach (var c in _plans)
            while (c.TryRead(out var p))
            {
                lock (p.StateAfter) p.StateAfter.Return();
                p.Return();
            }
        foreach (var c in _outputs) while (c.TryRead(out var b)) b.Dispose();
        LoaderTelemetry.Unregister(_stages);
        _pool.Dispose();
        _cts.Dispose();
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}

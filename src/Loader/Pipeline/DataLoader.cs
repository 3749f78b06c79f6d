using System.Buffers;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline.Internal;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.Packing;

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
    private readonly Channel<OwnedRow> _rows;
    private readonly Channel<BatchPlan>[] _plans;
    private readonly Channel<Batch>[] _outputs;
    private readonly string _fingerprint;
    private readonly long _started = Stopwatch.GetTimestamp();
    private Task[] _tasks = [];
    private Exception? _fault;
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
    /// <exception cref="ArgumentException">No source, a weight ≤ 0, a negative stage, or a state from other options.</exception>
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
        }
        _o = options ?? new DataLoaderOptions();
        _o.Validate();
        _sources = [.. sources];
        _tokenizer = tokenizer ?? VlmTokenizer.LoadDefault();
        _fingerprint = Fingerprint(_o, _sources);
        if (resumeFrom is not null && (resumeFrom.Fingerprint != _fingerprint || resumeFrom.Sources.Count != _sources.Length))
            throw new ArgumentException("The loader state was saved with other options or sources.", nameof(resumeFrom));
        _resume = resumeFrom;
        _next = resumeFrom?.BatchesEmitted ?? 0;
        _counters = new CounterSet(_sources.Length);
        _layout = PackLayout.For(_o.LmMaxLength, _o.ImageTokenLength, _o.Images.SplitSize);
        _pool = new PinnedSlabPool(_o.EffectiveSlabPoolSize, _layout.SlabBytes, 64);
        _read = new StageMeter("read", 1);
        _shape = new StageMeter("shape", 1);
        _plan = new StageMeter("plan", 1);
        _materialize = new StageMeter("materialize", _o.Workers);
        _consume = new StageMeter("consume", 1);
        _stages = [_read, _shape, _plan, _materialize, _consume];
        LoaderTelemetry.Register(_stages);
        _rows = Channel.CreateBounded<OwnedRow>(new BoundedChannelOptions(_o.ReadAheadRows) { SingleReader = true, SingleWriter = true });
        _plans = new Channel<BatchPlan>[_o.Workers];
        _outputs = new Channel<Batch>[_o.Workers];
        var perWorker = Math.Max(1, (_o.OutputCapacity + _o.Workers - 1) / _o.Workers);
        for (var w = 0; w < _o.Workers; w++)
        {
            _plans[w] = Channel.CreateBounded<BatchPlan>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
            _outputs[w] = Channel.CreateBounded<Batch>(new BoundedChannelOptions(perWorker) { SingleReader = true, SingleWriter = true });
        }
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
    public async ValueTask<Batch?> ReadNextAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (cancellationToken.IsCancellationRequested)
        {
            try { _cts.Cancel(); } catch (ObjectDisposedException) { }
            cancellationToken.ThrowIfCancellationRequested();
        }
        EnsureStarted();
        if (_consumeSince != 0) _consume.Busy(_consumeSince);
        var waitStart = Stopwatch.GetTimestamp();
        try
        {
            var reader = _outputs[(int)(_next % _o.Workers)].Reader;
            while (true)
            {
                if (reader.TryRead(out var batch))
                {
                    _next++;
                    _consume.Item(batch.Bytes);
                    return batch;
                }
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception) when (_fault is not null)
                {
                    ExceptionDispatchInfo.Throw(_fault);
                    throw;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // The consumer gave up: stop every stage now (the loader is finished; dispose it to reclaim slabs).
                    try { _cts.Cancel(); } catch (ObjectDisposedException) { }
                    throw;
                }
                if (!more)
                {
                    if (_fault is not null) ExceptionDispatchInfo.Throw(_fault);
                    return null;
                }
            }
        }
        finally
        {
            _consume.BlockedIn(waitStart);
            _consumeSince = Stopwatch.GetTimestamp();
        }
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
            while (ReadNextAsync().AsTask().GetAwaiter().GetResult() is { } batch)
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
        var tasks = new List<Task>
        {
            Task.Factory.StartNew(() => ReadStage(ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap(),
            Task.Factory.StartNew(() => ShapePlanStage(ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap(),
        };
        for (var w = 0; w < _o.Workers; w++)
        {
            var worker = w;
            tasks.Add(Task.Factory.StartNew(() => MaterializeStage(worker, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }
        _tasks = [.. tasks];
    }

    private void Fault(Exception e)
    {
        if (e is OperationCanceledException && _cts.IsCancellationRequested) return;
        if (Interlocked.CompareExchange(ref _fault, e, null) is null)
        {
            try { _cts.Cancel(); } catch (ObjectDisposedException) { }
            foreach (var c in _outputs) c.Writer.TryComplete(e);
        }
    }

    // ---- read ----
    private async Task ReadStage(CancellationToken ct)
    {
        var writer = _rows.Writer;
        try
        {
            var cursors = _sources.Select((s, i) => new SourceCursor(s.Source, i, _o, _resume?.Sources[i], ct)).ToList();
            var rng = new MixtureRandom(_resume?.MixtureRandom ?? InitialMixtureRandom);
            try
            {
                // Copied on write: every row keeps the snapshot that was current when it was read.
                var ended = _resume?.Sources.Select(p => p.Ended).ToArray() ?? new bool[cursors.Count];
                var active = NextStage(ended);
                while (active.Count > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    var busy = Stopwatch.GetTimestamp();
                    var pick = active.Count == 1 ? 0 : Choose(ref rng, active);
                    var s = active[pick];
                    if (!cursors[s].TryNext(out var row))
                    {
                        ended = (bool[])ended.Clone();
                        ended[s] = true;
                        active.RemoveAt(pick);
                        if (active.Count == 0) active = NextStage(ended);
                        _read.Busy(busy);
                        continue;
                    }
                    var owned = OwnedRow.Copy(s, row, cursors[s].Position, rng.State, ended);
                    _counters.Row(s);
                    _read.Item(owned.ImageBytes);
                    _read.Busy(busy);
                    var blocked = Stopwatch.GetTimestamp();
                    if (!writer.TryWrite(owned))
                    {
                        try { await writer.WriteAsync(owned, ct).ConfigureAwait(false); }
                        catch { owned.ReturnBuffers(); throw; }
                    }
                    _read.BlockedOut(blocked);
                }
            }
            finally
            {
                foreach (var c in cursors) c.Dispose();
            }
            writer.TryComplete();
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
            Fault(e);
        }
    }

    /// <summary>The sources of the lowest stage that still has a source not ended; empty when all have ended.</summary>
    private List<int> NextStage(bool[] ended)
    {
        var open = Enumerable.Range(0, _sources.Length).Where(i => !ended[i]).ToList();
        if (open.Count == 0) return open;
        var stage = open.Min(i => _sources[i].Stage);
        return open.FindAll(i => _sources[i].Stage == stage);
    }

    private ulong InitialMixtureRandom => (ulong)SourceCursor.Mix(_o.Seed, -1, 0);

    private int Choose(ref MixtureRandom rng, List<int> active)
    {
        double total = 0;
        foreach (var i in active) total += _sources[i].Weight;
        var x = rng.NextDouble() * total;
        for (var k = 0; k < active.Count; k++)
        {
            x -= _sources[active[k]].Weight;
            if (x < 0) return k;
        }
        return active.Count - 1;
    }

    // ---- filter + shape + plan ----
    private async Task ShapePlanStage(CancellationToken ct)
    {
        var pending = new Dictionary<long, PendingSample>();
        var preparer = new SamplePreparer(_tokenizer, new SamplePreparerOptions { QualityFilter = _o.QualityFilter, ImageTokenLength = _o.ImageTokenLength });
        var probe = new ImagePreprocessor(_o.Images);
        var compat = _o.Planner == PlannerKind.NanovlmCompat;
        var packerOptions = new StreamingPackerOptions
        {
            Packing = new PackingOptions { SequenceLength = _o.LmMaxLength, MaxImagesPerPack = _o.MaxImagesPerKnapsack, Seed = _o.Seed },
            Planner = _o.Planner,
            WindowTokens = _o.EffectiveWindowTokens,
            MinEmitFill = compat ? 0 : 0.99,
        };
        var current = new List<PendingSample[]>(_o.BatchSize);
        long batchIndex = _resume?.BatchesEmitted ?? 0, nextId = 0;
        // What a LoaderState records: every source's position after its last consumed row, the mixture's random state
        // and ended sources as of that row, the stage, and the rows consumed.
        var sources = _resume?.Sources.ToArray() ?? new SourcePosition[_sources.Length];
        var mixtureRandom = _resume?.MixtureRandom ?? InitialMixtureRandom;
        var stage = _resume?.Stage ?? _sources[0].Stage;
        var rowsConsumed = _resume?.RowsRead ?? 0;

        LoaderState StateAfter(long index, StreamingPacker packer)
        {
            var saved = packer.SaveState();
            return new LoaderState
            {
                BatchesEmitted = index + 1,
                RowsRead = rowsConsumed,
                Sources = [.. sources],
                MixtureRandom = mixtureRandom,
                Stage = stage,
                Carried = [.. saved.Buffered.Select(x => pending[x.Id].Origin)],
                ReadyPacks = [.. saved.Ready.Select(p => (IReadOnlyList<SampleOrigin>)[.. p.Select(x => pending[x.Id].Origin)])],
                PlannerDraws = saved.PlannerDraws,
                Fingerprint = _fingerprint,
            };
        }

        StreamingPacker? packer = null;
        async ValueTask EmitReady()
        {
            while (TakePack(packer!, pending, out var pack))
            {
                current.Add(pack);
                if (current.Count == _o.BatchSize)
                    batchIndex = await Dispatch(current, batchIndex, StateAfter(batchIndex, packer!), ct).ConfigureAwait(false);
            }
        }

        try
        {
            packer = _resume is null
                ? new StreamingPacker(packerOptions)
                : RestorePlanner(_resume, packerOptions, pending, preparer, probe, ref nextId, ct);
            await EmitReady().ConfigureAwait(false);
            var reader = _rows.Reader;
            while (true)
            {
                var waitStart = Stopwatch.GetTimestamp();
                if (!reader.TryRead(out var row))
                {
                    if (!await reader.WaitToReadAsync(ct).ConfigureAwait(false)) break;
                    _shape.BlockedIn(waitStart);
                    continue;
                }
                _shape.BlockedIn(waitStart);
                if (_sources[row.SourceIndex].Stage != stage)
                {
                    // A new stage: pack what the previous one left before its first row joins the planner.
                    packer.Flush();
                    await EmitReady().ConfigureAwait(false);
                    stage = _sources[row.SourceIndex].Stage;
                }
                rowsConsumed++;
                sources[row.SourceIndex] = row.After;
                for (var i = 0; i < sources.Length; i++) sources[i] = sources[i] with { Ended = row.Ended[i] };
                mixtureRandom = row.MixtureRandom;
                var busy = Stopwatch.GetTimestamp();
                var sample = Shape(row, preparer, probe, nextId);
                _shape.Item();
                _shape.Busy(busy);
                if (sample is null) continue;
                busy = Stopwatch.GetTimestamp();
                pending.Add(nextId, sample);
                packer.Add(new SampleShape(sample.Length + 1, sample.Geometries.Length, nextId++));
                _plan.Busy(busy);
                await EmitReady().ConfigureAwait(false);
            }
            packer.Flush();
            await EmitReady().ConfigureAwait(false);
            if (current.Count > 0) await Dispatch(current, batchIndex, StateAfter(batchIndex, packer), ct).ConfigureAwait(false);
            foreach (var p in _plans) p.Writer.TryComplete();
        }
        catch (Exception e)
        {
            foreach (var pk in current) foreach (var s in pk) s.Return();
            foreach (var p in _plans) p.Writer.TryComplete(e);
            Fault(e);
        }
        finally
        {
            foreach (var s in pending.Values) s.Return();
            _counters.ImageTokensRemoved(preparer.Counters.ImageTokensRemoved);
            preparer.Dispose();
        }
    }

    /// <summary>
    /// The planner as the saved run left it: the rows of its ready packs and carried samples are read again (only
    /// those, by shard and row), shaped again (the same options give the same tokens) and put back in their order.
    /// </summary>
    private StreamingPacker RestorePlanner(LoaderState state, StreamingPackerOptions options, Dictionary<long, PendingSample> pending,
        SamplePreparer preparer, ImagePreprocessor probe, ref long nextId, CancellationToken ct)
    {
        var origins = state.ReadyPacks.SelectMany(p => p).Concat(state.Carried).ToList();
        var rows = ReadRows(origins, ct);
        var used = new HashSet<SampleOrigin>();
        var shapes = new SampleShape[origins.Count];
        for (var i = 0; i < origins.Count; i++)
        {
            var row = rows[origins[i]];
            if (!used.Add(origins[i])) row = row.Clone(); // the same row from two epochs: each sample owns its buffers
            var sample = Shape(row, preparer, probe, nextId)
                ?? throw new DataSourceException(row.Row.ShardName,
                    "no longer gives the sample it gave when the loader state was saved (the data changed)", row.Row.Position.RowGroup, row.Row.Position.Row);
            pending.Add(nextId, sample);
            shapes[i] = new SampleShape(sample.Length + 1, sample.Geometries.Length, nextId++);
        }
        var ready = new SampleShape[state.ReadyPacks.Count][];
        var at = 0;
        for (var p = 0; p < ready.Length; p++)
        {
            ready[p] = shapes[at..(at + state.ReadyPacks[p].Count)];
            at += ready[p].Length;
        }
        return StreamingPacker.Restore(options, new StreamingPackerState(shapes[at..], ready, state.PlannerDraws));
    }

    /// <summary>Reads the rows at <paramref name="origins"/>, one pass per run of nearby rows of a shard.</summary>
    private Dictionary<SampleOrigin, OwnedRow> ReadRows(List<SampleOrigin> origins, CancellationToken ct)
    {
        const long MaxGap = 1024; // farther apart than this, open the shard again at the next row rather than read through
        var result = new Dictionary<SampleOrigin, OwnedRow>();
        foreach (var shard in origins.Distinct().GroupBy(o => (o.SourceIndex, o.Position.Shard)))
        {
            var wanted = shard.OrderBy(o => o.Position.Row).ToList();
            var k = 0;
            while (k < wanted.Count)
            {
                var source = _sources[shard.Key.SourceIndex].Source;
                var first = k;
                foreach (var row in source.ReadShard(shard.Key.Shard, wanted[k].Position.Row, ct))
                {
                    if (row.Position.Row < wanted[k].Position.Row) continue;
                    if (row.Position.Row > wanted[k].Position.Row) break; // missing: the next pass starts there and fails
                    result[wanted[k]] = OwnedRow.Copy(shard.Key.SourceIndex, row);
                    _counters.Row(shard.Key.SourceIndex);
                    if (++k == wanted.Count || wanted[k].Position.Row - row.Position.Row > MaxGap) break;
                }
                if (k == first)
                    throw new DataSourceException(source.Shards[shard.Key.Shard],
                        "the row is gone (the data changed since the loader state was saved)", row: wanted[k].Position.Row);
            }
        }
        return result;
    }

    private bool TakePack(StreamingPacker packer, Dictionary<long, PendingSample> pending, out PendingSample[] pack)
    {
        var busy = Stopwatch.GetTimestamp();
        if (!packer.TryTakePack(out var shapes))
        {
            pack = [];
            _plan.Busy(busy);
            return false;
        }
        pack = new PendingSample[shapes.Length];
        for (var i = 0; i < shapes.Length; i++)
        {
            pending.Remove(shapes[i].Id, out var s);
            pack[i] = s!;
        }
        _plan.Item();
        _plan.Busy(busy);
        return true;
    }

    private async ValueTask<long> Dispatch(List<PendingSample[]> packs, long index, LoaderState state, CancellationToken ct)
    {
        var plan = new BatchPlan(index, [.. packs], state);
        packs.Clear();
        var blocked = Stopwatch.GetTimestamp();
        try
        {
            await _plans[(int)(index % _o.Workers)].Writer.WriteAsync(plan, ct).ConfigureAwait(false);
        }
        catch
        {
            plan.Return();
            throw;
        }
        _plan.BlockedOut(blocked);
        return index + 1;
    }

    private PendingSample? Shape(OwnedRow row, SamplePreparer preparer, ImagePreprocessor probe, long id)
    {
        var images = row.ImageBuffers.Length;
        if (images > _o.MaxImagesPerExample || images > _o.MaxImagesPerKnapsack) return Drop(row, DropReason.TooManyImages);
        var geometries = new ImageGeometry[images];
        Span<ImageGrid> grids = images <= 16 ? stackalloc ImageGrid[images] : new ImageGrid[images];
        for (var i = 0; i < images; i++)
        {
            try
            {
                geometries[i] = probe.Plan(row.Image(i), row.ImageName(i));
            }
            catch (ImageDecodeException e)
            {
                return ImageFailed(row, i, e);
            }
            var g = geometries[i].Grid;
            grids[i] = new ImageGrid(g.Rows, g.Cols);
        }
        var r = preparer.Prepare(row.Row.Text, grids);
        if (!r.Ok)
            return Drop(row, r.DropReason == TextDropReason.AllTurnsFilteredByRating ? DropReason.Rating : DropReason.Empty);
        if (r.Length >= _o.MaxSampleLength || r.Length + 1 > _o.LmMaxLength) return Drop(row, DropReason.TooLong);
        var cur = preparer.Current;
        var ids = ArrayPool<int>.Shared.Rent(r.Length);
        var labels = ArrayPool<int>.Shared.Rent(r.Length);
        cur.InputIds.CopyTo(ids);
        cur.Labels.CopyTo(labels);
        return new PendingSample { Row = row, Ids = ids, Labels = labels, Length = r.Length, Geometries = geometries };
    }

    private PendingSample? Drop(OwnedRow row, DropReason reason)
    {
        _counters.Drop(reason);
        row.ReturnBuffers();
        return null;
    }

    private PendingSample? ImageFailed(OwnedRow row, int image, ImageDecodeException e)
    {
        var reason = e.Reason == ImageDecodeFailure.TooLarge ? DropReason.DecodeLimit : DropReason.CorruptImage;
        if (_o.StrictImages)
        {
            row.ReturnBuffers();
            throw StrictError(row, image, e);
        }
        Log?.Invoke($"dropped sample {row.Row.ShardName} row {row.Row.Position.Row}: image {image}: {e.Message}");
        return Drop(row, reason);
    }

    private static DataSourceException StrictError(OwnedRow row, int image, ImageDecodeException e)
        => new(row.Row.ShardName, $"image {image} cannot be decoded ({e.Reason}): {e.Message}", row.Row.Position.RowGroup,
            row.Row.Position.Row, "images", e);

    // ---- materialize ----
    // A worker is CPU-bound and runs on its own thread, blocking on its channels and the slab pool, rather than as an
    // async loop whose continuations hop between thread-pool threads: its thread-local caches (ArrayPool's buffers
    // for the resize passes) then stay warm and the steady state allocates almost nothing.
    private void MaterializeStage(int worker, CancellationToken ct)
    {
        var reader = _plans[worker].Reader;
        var writer = _outputs[worker].Writer;
        var pre = new ImagePreprocessor(_o.Images);
        try
        {
            while (true)
            {
                var waitStart = Stopwatch.GetTimestamp();
                if (!reader.TryRead(out var plan))
                {
                    if (!Wait(reader.WaitToReadAsync(ct))) break;
                    _materialize.BlockedIn(waitStart);
                    continue;
                }
                _materialize.BlockedIn(waitStart);
                var leases = new SlabLease[plan.Packs.Length];
                var rented = 0;
                Batch? batch = null;
                try
                {
                    var blocked = Stopwatch.GetTimestamp();
                    for (; rented < leases.Length; rented++)
                        leases[rented] = _pool.TryRent(out var lease) ? lease : Wait(_pool.RentAsync(ct));
                    _materialize.BlockedOut(blocked);
                    var busy = Stopwatch.GetTimestamp();
                    using (var activity = LoaderTelemetry.Activities.StartActivity("loader.materialize"))
                    {
                        activity?.SetTag("batch", plan.Index);
                        batch = Materialize(plan, leases, pre);
                    }
                    rented = 0; // owned by the batch now
                    _materialize.Item(batch.Bytes);
                    _materialize.Busy(busy);
                    blocked = Stopwatch.GetTimestamp();
                    while (!writer.TryWrite(batch))
                        if (!Wait(writer.WaitToWriteAsync(ct))) throw new ChannelClosedException();
                    batch = null;
                    _materialize.BlockedOut(blocked);
                }
                finally
                {
                    for (var i = 0; i < rented; i++) leases[i].Dispose();
                    batch?.Dispose();
                    plan.Return();
                }
            }
            writer.TryComplete(_fault);
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
            Fault(e);
        }
    }

    private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    private Batch Materialize(BatchPlan plan, SlabLease[] leases, ImagePreprocessor pre)
    {
        var packs = new PackedSequence[plan.Packs.Length];
        long tokens = 0, images = 0, tiles = 0, bytes = 0;
        for (var p = 0; p < packs.Length; p++)
        {
            packs[p] = MaterializePack(plan.Packs[p], leases[p], pre);
            tokens += packs[p].Tokens;
            images += packs[p].ImageGrids.Count;
            tiles += packs[p].TileCount;
            bytes += packs[p].Bytes;
        }
        _counters.Batch(packs.Length, tokens, images, tiles, bytes);
        return new Batch(plan.Index, packs, plan.StateAfter, static ps => { foreach (var p in ps) p.Release(); });
    }

    private PackedSequence MaterializePack(PendingSample[] members, SlabLease lease, ImagePreprocessor pre)
    {
        var L = _layout.SequenceLength;
        var slab = lease.Span;
        var ints = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(slab[..(_layout.CuSeqlensOffset + 4 * (L + 1))]);
        var asm = new PackAssembler(ints[..L], ints.Slice(L, L), ints.Slice(2 * L, L), ints.Slice(3 * L, L),
            ints.Slice(4 * L, L + 1), _tokenizer.PadTokenId);
        var tileFloats = _layout.TileFloats;
        var tileSpan = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(slab[_layout.TilesOffset..]);
        var origins = new List<SampleOrigin>(members.Length);
        var sampleImages = new List<int>(members.Length);
        var grids = new List<TileGrid>();
        var tileAt = 0;
        foreach (var s in members)
        {
            var start = tileAt;
            var failed = false;
            for (var i = 0; i < s.Geometries.Length && !failed; i++)
            {
                var n = s.Geometries[i].Grid.OutputTileCount;
                try
                {
                    pre.Process(s.Row.Image(i), s.Row.ImageName(i), tileSpan.Slice(tileAt * tileFloats, n * tileFloats));
                    tileAt += n;
                }
                catch (ImageDecodeException e)
                {
                    if (_o.StrictImages) throw StrictError(s.Row, i, e);
                    Log?.Invoke($"dropped sample {s.Row.Row.ShardName} row {s.Row.Row.Position.Row}: image {i}: {e.Message}");
                    _counters.Drop(e.Reason == ImageDecodeFailure.TooLarge ? DropReason.DecodeLimit : DropReason.CorruptImage);
                    failed = true;
                }
            }
            if (failed)
            {
                tileAt = start;
                continue;
            }
            asm.Append(s.Ids.AsSpan(0, s.Length), s.Labels.AsSpan(0, s.Length));
            origins.Add(s.Origin);
            sampleImages.Add(s.Geometries.Length);
            foreach (var g in s.Geometries) grids.Add(g.Grid);
            _counters.Emitted(s.Row.SourceIndex);
        }
        asm.Finish();
        return new PackedSequence(lease, _layout, asm.Tokens, [.. origins], [.. sampleImages], [.. grids], tileAt);
    }

    // ---- lifetime ----
    /// <summary>Stops every stage, waits for them, and returns every slab held inside the loader to the pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { _cts.Cancel(); } catch (ObjectDisposedException) { }
        try { await Task.WhenAll(_tasks).ConfigureAwait(false); }
        catch (Exception) { /* stage failures were already reported to the consumer */ }
        while (_rows.Reader.TryRead(out var r)) r.ReturnBuffers();
        foreach (var c in _plans) while (c.Reader.TryRead(out var p)) p.Return();
        foreach (var c in _outputs) while (c.Reader.TryRead(out var b)) b.Dispose();
        LoaderTelemetry.Unregister(_stages);
        _pool.Dispose();
        _cts.Dispose();
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static string Fingerprint(DataLoaderOptions o, MixtureSource[] sources)
    {
        var relevant = o with { Workers = 1, OutputCapacity = 1, SlabPoolSize = 1, ReadAheadRows = 1 };
        var sb = new StringBuilder(relevant.ToString()).Append(relevant.QualityFilter).Append(relevant.Images);
        foreach (var s in sources)
        {
            sb.Append('|').Append(s.Source.Name).Append(':').Append(s.Weight.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append('@').Append(s.Stage);
            foreach (var shard in s.Source.Shards) sb.Append(',').Append(shard);
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..16];
    }
}

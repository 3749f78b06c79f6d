using System.Diagnostics;
using NanoVlm.Packing;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The shape and plan stages, on one thread: each row is shaped (<see cref="SampleShaper"/>) and handed to the
/// streaming packer; every pack it releases joins the batch being gathered, and each full batch goes, with the loader
/// state after it, to the materialize worker whose turn it is (batch index modulo workers, so that the consumer can
/// read them back in order).
/// </summary>
internal sealed class PlanStage
{
    private readonly DataLoaderOptions _o;
    private readonly MixtureSource[] _sources;
    private readonly LoaderState? _resume;
    private readonly CounterSet _counters;
    private readonly StageMeter _shapeMeter, _planMeter;
    private readonly BlockingRing<OwnedRow> _rows;
    private readonly BlockingRing<BatchPlan>[] _plans;
    private readonly PipelineFault _fault;
    private readonly Func<SampleShaper> _newShaper;
    private readonly RunPosition _position;
    private readonly Dictionary<long, PendingSample> _pending = [];
    private readonly StateSnapshotPool _snapshots;
    private readonly ReusePool<BatchPlan> _planPool;
    private BatchPlan _current;
    private StreamingPacker? _packer;
    private long _batchIndex, _nextId;

    public PlanStage(DataLoaderOptions options, MixtureSource[] sources, LoaderState? resume, string fingerprint, CounterSet counters,
        (StageMeter Shape, StageMeter Plan) meters, BlockingRing<OwnedRow> rows, BlockingRing<BatchPlan>[] plans, PipelineFault fault,
        Func<SampleShaper> newShaper, StateSnapshotPool snapshots, ReusePool<BatchPlan> planPool)
    {
        _snapshots = snapshots;
        _o = options;
        _sources = sources;
        _resume = resume;
        _counters = counters;
        (_shapeMeter, _planMeter) = meters;
        _rows = rows;
        _plans = plans;
        _fault = fault;
        _newShaper = newShaper;
        _position = new RunPosition(resume, sources, ReadStage.InitialMixtureRandom(options), fingerprint);
        _planPool = planPool;
        _current = BatchPlan.Rent(planPool);
        _batchIndex = resume?.BatchesEmitted ?? 0;
    }

    /// <summary>Runs on its own thread, blocking on its input and outputs (no task or await per row or batch).</summary>
    public void Run(CancellationToken ct)
    {
        var shaper = _newShaper(); // made on the stage's own thread, which alone uses it
        try
        {
            _packer = _resume is null
                ? new StreamingPacker(PackerOptions(_o))
                : PlannerRestore.Restore(_resume, PackerOptions(_o), _sources, _counters, shaper, _pending, ref _nextId, ct);
            EmitReady();
            while (true)
            {
                var waitStart = Stopwatch.GetTimestamp();
                if (!_rows.TryRead(out var row) && !_rows.Read(out row)) break;
                _shapeMeter.BlockedIn(waitStart);
                if (_sources[row.SourceIndex].Stage != _position.Stage)
                {
                    // A new stage: pack what the previous one left before its first row joins the planner.
                    _packer.Flush();
                    EmitReady();
                    _position.Stage = _sources[row.SourceIndex].Stage;
                }
                _position.Consume(row);
                var busy = Stopwatch.GetTimestamp();
                var sample = shaper.Shape(row);
                _shapeMeter.Item();
                _shapeMeter.Busy(busy);
                if (sample is null) continue;
                busy = Stopwatch.GetTimestamp();
                _pending.Add(_nextId, sample);
                _packer.Add(new SampleShape(sample.Length + 1, sample.ImageCount, _nextId++));
                _planMeter.Busy(busy);
                EmitReady();
            }
            _packer.Flush();
            EmitReady();
            if (_current.PackCount > 0) Dispatch();
            foreach (var p in _plans) p.Complete();
        }
        catch (Exception e)
        {
            _current.Return();
            foreach (var p in _plans) p.Complete(e);
            _fault.Report(e);
        }
        finally
        {
            foreach (var s in _pending.Values) s.Return();
            shaper.Dispose();
        }
    }

    /// <summary>The streaming packer's options for the loader's options: best-fit packs wait for 99% fill, nanoVLM's
    /// knapsack emits every pack as nanoVLM does.</summary>
    private static StreamingPackerOptions PackerOptions(DataLoaderOptions o) => new()
    {
        Packing = new PackingOptions { SequenceLength = o.LmMaxLength, MaxImagesPerPack = o.MaxImagesPerKnapsack, Seed = o.Seed },
        Planner = o.Planner,
        WindowTokens = o.EffectiveWindowTokens,
        MinEmitFill = o.Planner == PlannerKind.NanovlmCompat ? 0 : 0.99,
    };

    private void EmitReady()
    {
        while (TakePack())
            if (_current.PackCount == _o.BatchSize) Dispatch();
    }

    /// <summary>Moves the packer's next pack, if it has one, into the batch being gathered.</summary>
    private bool TakePack()
    {
        var busy = Stopwatch.GetTimestamp();
        if (!_packer!.TryTakePack(out var shapes))
        {
            _planMeter.Busy(busy);
            return false;
        }
        var pack = _current.AddPack();
        for (var i = 0; i < shapes.Length; i++)
        {
            _pending.Remove(shapes[i].Id, out var s);
            pack.Add(s!);
        }
        _planMeter.Item();
        _planMeter.Busy(busy);
        return true;
    }

    private void Dispatch()
    {
        var index = _batchIndex;
        var state = _snapshots.Rent();
        _position.After(index, _packer!, _pending, state);
        var plan = _current;
        plan.Seal(index, state);
        _current = BatchPlan.Rent(_planPool);
        var blocked = Stopwatch.GetTimestamp();
        try
        {
            var ring = _plans[(int)(index % _o.Workers)];
            if (!ring.TryWrite(plan)) ring.Write(plan);
        }
        catch
        {
            lock (state) state.Return();
            plan.Return();
            throw;
        }
        _planMeter.BlockedOut(blocked);
        _batchIndex = index + 1;
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Packing;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The materialize stage: each worker takes its batch plans in turn, rents a pinned slab per pack, decodes every
/// image once straight into the slab's tiles and assembles ids, labels, mask, positions and cu_seqlens next to them
/// (all through the <see cref="PackLayout"/>), then hands the <see cref="Batch"/> to the consumer.
/// </summary>
/// <remarks>
/// A worker is CPU-bound and runs on its own thread, blocking on its channels and the slab pool, rather than as an
/// async loop whose continuations hop between thread-pool threads: its thread-local caches (ArrayPool's buffers for
/// the resize passes) then stay warm and the steady state allocates almost nothing.
/// </remarks>
internal sealed class MaterializeStage(DataLoaderOptions options, PackLayout layout, PinnedSlabPool pool, int padTokenId,
    CounterSet counters, StageMeter meter, ImageFailurePolicy imageFailures, PipelineFault fault)
{
    // Indexed by slab: a slab is leased to one worker at a time, so each entry is used by one thread at a time.
    private readonly PackedSequence?[] _bySlab = new PackedSequence?[pool.SlabCount];

    private static readonly Action<PackedSequence[]> s_release = static ps => { foreach (var p in ps) p.Release(); };

    public void Run(BlockingRing<BatchPlan> reader, BlockingRing<Batch> writer, CancellationToken ct)
    {
        var pre = new ImagePreprocessor(options.Images);
        var scratch = new PackScratch();
        try
        {
            while (true)
            {
                var waitStart = Stopwatch.GetTimestamp();
                if (!reader.TryRead(out var plan) && !reader.Read(out plan)) break;
                meter.BlockedIn(waitStart);
                var count = plan.PackCount;
                var leases = scratch.Leases(count);
                var rented = 0;
                Batch? batch = null;
                try
                {
                    var blocked = Stopwatch.GetTimestamp();
                    for (; rented < count; rented++)
                        leases[rented] = pool.TryRent(out var lease) ? lease : pool.Rent(ct);
                    meter.BlockedOut(blocked);
                    var busy = Stopwatch.GetTimestamp();
                    using (var activity = LoaderTelemetry.Activities.StartActivity("loader.materialize"))
                    {
                        activity?.SetTag("batch", plan.Index);
                        batch = Materialize(plan, leases, pre, scratch);
                    }
                    rented = 0; // owned by the batch now
                    meter.Item(batch.Bytes);
                    meter.Busy(busy);
                    blocked = Stopwatch.GetTimestamp();
                    if (!writer.TryWrite(batch)) writer.Write(batch);
                    batch = null;
                    meter.BlockedOut(blocked);
                }
                finally
                {
                    for (var i = 0; i < rented; i++) leases[i].Dispose();
                    batch?.Dispose();
                    plan.Return();
                }
            }
            writer.Complete(fault.Exception);
        }
        catch (Exception e)
        {
            writer.Complete(e);
            fault.Report(e);
        }
    }

    private Batch Materialize(BatchPlan plan, SlabLease[] leases, ImagePreprocessor pre, PackScratch scratch)
    {
        var packs = new PackedSequence[plan.PackCount];
        long tokens = 0, images = 0, tiles = 0, bytes = 0;
        for (var p = 0; p < packs.Length; p++)
        {
            packs[p] = MaterializePack(plan.Pack(p), leases[p], pre, scratch);
            tokens += packs[p].Tokens;
            images += packs[p].ImageGrids.Count;
            tiles += packs[p].TileCount;
            bytes += packs[p].Bytes;
        }
        counters.Batch(packs.Length, tokens, images, tiles, bytes);
        return new Batch(plan.Index, packs, plan.StateAfter, s_release);
    }

    private PackedSequence MaterializePack(List<PendingSample> members, SlabLease lease, ImagePreprocessor pre, PackScratch scratch)
    {
        var slab = lease.Span;
        var asm = new PackAssembler(layout.InputIds(slab), layout.Labels(slab), layout.AttentionMask(slab), layout.PositionIds(slab),
            layout.CuSeqlens(slab, layout.SequenceLength), padTokenId);
        var tileFloats = layout.TileFloats;
        var uint8 = layout.Format == TileFormat.UInt8;
        var floatTiles = uint8 ? layout.GlobalTiles(slab, layout.MaxGlobalTiles) : layout.Tiles(slab, layout.MaxTiles);
        var byteTiles = uint8 ? layout.TileBytes(slab, layout.MaxTiles) : [];
        var (origins, sampleImages, grids) = (scratch.Origins, scratch.SampleImages, scratch.Grids);
        origins.Clear();
        sampleImages.Clear();
        grids.Clear();
        int tileAt = 0, globalAt = 0, gridAt = 0;
        foreach (var s in members)
        {
            int start = tileAt, startGlobal = globalAt, startGrid = gridAt;
            var failed = false;
            for (var i = 0; i < s.ImageCount && !failed; i++)
            {
                var grid = s.Geometries[i].Grid;
                try
                {
                    if (uint8)
                    {
                        var globals = grid.HasGlobalTile ? 1 : 0;
                        pre.ProcessUInt8(s.Row.Image(i), OwnedRow.UnnamedImage, floatTiles.Slice(globalAt * tileFloats, globals * tileFloats),
                            byteTiles.Slice(gridAt * tileFloats, grid.TileCount * tileFloats));
                        globalAt += globals;
                        gridAt += grid.TileCount;
                    }
                    else
                    {
                        pre.Process(s.Row.Image(i), OwnedRow.UnnamedImage, floatTiles.Slice(tileAt * tileFloats, grid.OutputTileCount * tileFloats));
                    }
                    tileAt += grid.OutputTileCount;
                }
                catch (ImageDecodeException e)
                {
                    imageFailures.SampleFailed(s.Row, i, e.Renamed(s.Row.ImageName(i)));
                    failed = true;
                }
            }
            if (failed)
            {
                (tileAt, globalAt, gridAt) = (start, startGlobal, startGrid);
                continue;
            }
            asm.Append(s.Ids.AsSpan(0, s.Length), s.Labels.AsSpan(0, s.Length));
            origins.Add(s.Origin);
            sampleImages.Add(s.ImageCount);
            foreach (var g in s.Geometries) grids.Add(g.Grid);
            counters.Emitted(s.Row.SourceIndex);
        }
        asm.Finish();
        var pack = _bySlab[lease.Index] ??= new PackedSequence(layout);
        pack.Refill(lease, asm.Tokens, CollectionsMarshal.AsSpan(origins), CollectionsMarshal.AsSpan(sampleImages),
            CollectionsMarshal.AsSpan(grids), tileAt);
        return pack;
    }

    /// <summary>A worker's reused lists and lease array (what one pack or batch needs while it is built).</summary>
    private sealed class PackScratch
    {
        private SlabLease[] _leases = [];
        public readonly List<SampleOrigin> Origins = [];
        public readonly List<int> SampleImages = [];
        public readonly List<TileGrid> Grids = [];

        public SlabLease[] Leases(int count)
        {
            if (_leases.Length < count) _leases = new SlabLease[count];
            return _leases;
        }
    }
}

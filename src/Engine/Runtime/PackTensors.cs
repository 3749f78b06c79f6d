using System.Runtime.InteropServices;
using NanoVlm.Engine.Internal;
using NanoVlm.Loader.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Runtime;

/// <summary>
/// TorchSharp tensors over one <see cref="PackedSequence"/>'s pinned slab, without a copy: the loader's int32 and
/// tile arrays (float32, or uint8 grid tiles + float32 global tiles, as the <see cref="PackLayout"/> says) as CPU
/// tensors, ready for <c>.to(cuda, non_blocking: true)</c> (pinned host memory); <see cref="TilesOn"/> gives the
/// model's float32 tiles on a device.
/// </summary>
/// <remarks>
/// <para><c>torch.frombuffer</c> cannot do this: the slab is one <c>byte[]</c> holding int32, float32 and uint8 arrays, and
/// frombuffer converts (copies) whenever the dtype differs from the array's element type. So the views are made with
/// the same native constructor TorchSharp uses for frombuffer (libtorch's <c>from_blob</c>) at the slab's address
/// plus the <see cref="PackLayout"/> offset. Each view holds a GC handle on the slab array, released by libtorch when
/// its storage goes, so the memory stays valid as long as any view (or a view of a view) exists.</para>
/// <para>Lifetime: the slab goes back to the loader's pool when the <see cref="Batch"/> is disposed and is then
/// rewritten by a later batch. Dispose these tensors (or copy them, e.g. to the GPU) before disposing the batch.</para>
/// </remarks>
public sealed class PackTensors : IDisposable
{
    private PackTensors(PackedSequence pack)
    {
        var layout = pack.Layout;
        long l = layout.SequenceLength;
        InputIds = View(pack, layout.InputIdsOffset, ScalarType.Int32, [l]);
        Labels = View(pack, layout.LabelsOffset, ScalarType.Int32, [l]);
        AttentionMask = View(pack, layout.AttentionMaskOffset, ScalarType.Int32, [l]);
        PositionIds = View(pack, layout.PositionIdsOffset, ScalarType.Int32, [l]);
        CuSeqlens = View(pack, layout.CuSeqlensOffset, ScalarType.Int32, [pack.SampleCount + 1]);
        _pack = pack;
        if (layout.Format == TileFormat.UInt8)
        {
            GlobalTiles = View(pack, layout.TilesOffset, ScalarType.Float32, layout.TileShape(pack.GlobalTileCount));
            TileBytes = View(pack, layout.TileBytesOffset, ScalarType.Byte, layout.TileShape(pack.TileCount - pack.GlobalTileCount));
        }
        else
        {
            Tiles = View(pack, layout.TilesOffset, ScalarType.Float32, layout.TileShape(pack.TileCount));
        }
    }

    private readonly PackedSequence _pack;

    /// <summary>Creates the views of <paramref name="pack"/> (TorchSharp's native backend is loaded if needed).</summary>
    /// <param name="pack">A packed sequence of a batch that is not disposed yet.</param>
    /// <returns>The tensors; dispose them before the batch.</returns>
    public static PackTensors Of(PackedSequence pack)
    {
        ArgumentNullException.ThrowIfNull(pack);
        TorchRuntime.EnsureLoaded();
        return new PackTensors(pack);
    }

    /// <summary><c>input_ids</c>, int32 [L].</summary>
    public Tensor InputIds { get; }

    /// <summary><c>labels</c> (−100 where no loss), int32 [L].</summary>
    public Tensor Labels { get; }

    /// <summary><c>attention_mask</c>, int32 [L].</summary>
    public Tensor AttentionMask { get; }

    /// <summary>Position ids restarting at every sample, int32 [L].</summary>
    public Tensor PositionIds { get; }

    /// <summary>Sample boundaries, int32 [samples + 1].</summary>
    public Tensor CuSeqlens { get; }

    /// <summary>With <see cref="TileFormat.Float32"/> slabs: the pack's image tiles in order (global tile first per
    /// image where it has one), float32 [tiles, 3, S, S]; null with <see cref="TileFormat.UInt8"/> slabs.</summary>
    public Tensor? Tiles { get; }

    /// <summary>With <see cref="TileFormat.UInt8"/> slabs: the global tiles in order, float32 [globals, 3, S, S]; else null.</summary>
    public Tensor? GlobalTiles { get; }

    /// <summary>With <see cref="TileFormat.UInt8"/> slabs: the grid tiles in order, uint8 [grid tiles, 3, S, S]; else null.</summary>
    public Tensor? TileBytes { get; }

    /// <summary>
    /// The model's float32 tiles [tiles, 3, S, S] on <paramref name="device"/>, in pack order (global tile first per
    /// image where it has one). Only the slab's bytes cross to the device (non-blocking from pinned memory); for
    /// <see cref="TileFormat.UInt8"/> the grid tiles are divided by 255 there and the global tiles put in their places,
    /// which gives exactly nanoVLM's <c>ToTensor</c> tensor (torchvision's <c>img.float().div(255)</c>).
    /// </summary>
    /// <param name="device">Target device.</param>
    /// <returns>A new tensor (on the CPU with float32 slabs: a view of the slab, valid as long as the batch).</returns>
    public Tensor TilesOn(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (Tiles is not null) return Tiles.to(device, non_blocking: true);
        using var scope = NewDisposeScope();
        var grid = ByteTiles.ToFloat(TileBytes!.to(device, non_blocking: true));
        if (_pack.GlobalTileCount == 0) return grid.MoveToOuterDisposeScope();
        var (globalIndex, gridIndex) = TileIndices(_pack.ImageGrids);
        var all = torch.empty(_pack.Layout.TileShape(_pack.TileCount), ScalarType.Float32, device);
        all.index_copy_(0, torch.tensor(gridIndex).to(device, non_blocking: true), grid);
        all.index_copy_(0, torch.tensor(globalIndex).to(device, non_blocking: true), GlobalTiles!.to(device, non_blocking: true));
        return all.MoveToOuterDisposeScope();
    }

    /// <summary>The pack-order positions of the global tiles and of the grid tiles.</summary>
    private static (long[] Global, long[] Grid) TileIndices(IReadOnlyList<NanoVlm.Kernels.TileGrid> grids)
    {
        var global = new List<long>();
        var grid = new List<long>();
        long at = 0;
        foreach (var g in grids)
        {
            if (g.HasGlobalTile) global.Add(at++);
            for (int t = 0; t < g.TileCount; t++) grid.Add(at++);
        }
        return ([.. global], [.. grid]);
    }

    /// <summary>Disposes the views (the slab itself belongs to the batch).</summary>
    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask.Dispose();
        PositionIds.Dispose();
        CuSeqlens.Dispose();
        Tiles?.Dispose();
        GlobalTiles?.Dispose();
        TileBytes?.Dispose();
    }

    private static Tensor View(PackedSequence pack, int byteOffset, ScalarType dtype, long[] shape)
    {
        var (array, arrayOffset) = pack.Backing;
        // The slab is on the pinned object heap: it never moves, only its lifetime matters, so the view holds a GC
        // handle on it until libtorch frees the view's storage.
        var handle = GCHandle.Alloc(array);
        return NativeTensor.FromBlob(Marshal.UnsafeAddrOfPinnedArrayElement(array, arrayOffset + byteOffset), dtype, shape, handle.Free);
    }
}

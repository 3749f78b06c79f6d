using System.Runtime.InteropServices;
using NanoVlm.Engine.Internal;
using NanoVlm.Loader.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Runtime;

/// <summary>
/// TorchSharp tensors over one <see cref="PackedSequence"/>'s pinned slab, without a copy: the loader's int32 and
/// float32 arrays as CPU tensors, ready for <c>.to(cuda, non_blocking: true)</c> (pinned host memory).
/// </summary>
/// <remarks>
/// <para><c>torch.frombuffer</c> cannot do this: the slab is one <c>byte[]</c> holding int32 and float32 arrays, and
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
        Tiles = View(pack, layout.TilesOffset, ScalarType.Float32, layout.TileShape(pack.TileCount));
    }

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

    /// <summary>The pack's image tiles in order (global tile first per image where it has one), float32 [tiles, 3, S, S].</summary>
    public Tensor Tiles { get; }

    /// <summary>Disposes the six tensors (the slab itself belongs to the batch).</summary>
    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask.Dispose();
        PositionIds.Dispose();
        CuSeqlens.Dispose();
        Tiles.Dispose();
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

using NanoVlm.Engine.Runtime;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Packing;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine;

/// <summary>How tokens of different samples packed into one sequence see each other.</summary>
public enum AttentionMode
{
    /// <summary>Each sample attends only to itself, and its RoPE positions restart at 0 (the loader's per-sample
    /// positions): packing then changes nothing a sample computes. The default.</summary>
    Document,

    /// <summary>nanoVLM's behaviour: one causal mask over the whole pack (samples see the samples before them) and one
    /// running position counter; only the pad token after each sample is hidden. For exact compatibility.</summary>
    Nanovlm,
}

/// <summary>
/// A micro-batch of packed sequences from the loader as model inputs on one device: <c>[B, L]</c> int64 ids, labels,
/// attention mask, per-sample positions and sample index of every token, and the packs' float32 tiles. The tiles are
/// not concatenated: each pack's tiles go to the device as the slab carries them (uint8 grid tiles divided by 255
/// there, see <see cref="PackTensors.TilesOn"/>; float32 slabs on the CPU stay a view of the pinned slab), and the
/// vision encoder runs per pack.
/// </summary>
public sealed class PackBatch : IDisposable
{
    private PackBatch(Tensor ids, Tensor labels, Tensor mask, Tensor positions, Tensor segments, Tensor[] tiles, long realTokens,
        long labelledTokens)
    {
        RealTokens = realTokens;
        LabelledTokens = labelledTokens;
        InputIds = ids;
        Labels = labels;
        AttentionMask = mask;
        PositionIds = positions;
        SegmentIds = segments;
        Tiles = tiles;
    }

    /// <summary>Token ids [B, L] int64.</summary>
    public Tensor InputIds { get; }

    /// <summary>Labels [B, L] int64, already shifted; −100 = no loss.</summary>
    public Tensor Labels { get; }

    /// <summary>1 on sample tokens, 0 on the pad after each sample and on tail padding, [B, L] int64.</summary>
    public Tensor AttentionMask { get; }

    /// <summary>Positions restarting at 0 for each sample, [B, L] int64.</summary>
    public Tensor PositionIds { get; }

    /// <summary>Index of the sample each token belongs to (tail padding: the sample count), [B, L] int64.</summary>
    public Tensor SegmentIds { get; }

    /// <summary>Each pack's tiles [n, 3, S, S] float32, in pack order (packs without images have none).</summary>
    public IReadOnlyList<Tensor> Tiles { get; }

    /// <summary>Real (attended) tokens in the batch, counted on the host from the packs (no device sync).</summary>
    public long RealTokens { get; }

    /// <summary>Positions with a label (≠ −100) in the batch, counted on the host from the packs.</summary>
    public long LabelledTokens { get; }

    /// <summary>Builds the batch from loader packs (views over their pinned slabs; dispose this before the loader
    /// batch). Host-to-device copies are issued non-blocking from pinned memory.</summary>
    /// <param name="packs">The packs of one micro-batch.</param>
    /// <param name="device">Target device.</param>
    /// <returns>The batch.</returns>
    public static PackBatch From(IReadOnlyList<PackedSequence> packs, Device device)
    {
        ArgumentNullException.ThrowIfNull(packs);
        if (packs.Count == 0) throw new ArgumentException("A batch needs at least one pack.", nameof(packs));
        using var scope = NewDisposeScope();
        var ids = new Tensor[packs.Count];
        var labels = new Tensor[packs.Count];
        var masks = new Tensor[packs.Count];
        var positions = new Tensor[packs.Count];
        var segments = new Tensor[packs.Count];
        var tiles = new List<Tensor>();
        long real = 0, labelled = 0;
        for (int i = 0; i < packs.Count; i++)
        {
            foreach (int m in packs[i].AttentionMask) real += m;
            foreach (int l in packs[i].Labels) labelled += l != PackAssembler.IgnoreLabel ? 1 : 0;
            using var views = PackTensors.Of(packs[i]);
            ids[i] = views.InputIds.to(device, non_blocking: true);
            labels[i] = views.Labels.to(device, non_blocking: true);
            masks[i] = views.AttentionMask.to(device, non_blocking: true);
            positions[i] = views.PositionIds.to(device, non_blocking: true);
            var ends = views.CuSeqlens.narrow(0, 1, views.CuSeqlens.shape[0] - 1).to(device, non_blocking: true);
            var index = torch.arange(views.InputIds.shape[0], dtype: ScalarType.Int32, device: device);
            segments[i] = index.unsqueeze(1).ge(ends.unsqueeze(0)).sum(1);
            if (packs[i].TileCount > 0)
                tiles.Add(views.TilesOn(device).DetachFromDisposeScope());
        }
        return new PackBatch(
            torch.stack(ids).to(ScalarType.Int64).DetachFromDisposeScope(),
            torch.stack(labels).to(ScalarType.Int64).DetachFromDisposeScope(),
            torch.stack(masks).to(ScalarType.Int64).DetachFromDisposeScope(),
            torch.stack(positions).to(ScalarType.Int64).DetachFromDisposeScope(),
            torch.stack(segments).to(ScalarType.Int64).DetachFromDisposeScope(),
            [.. tiles], real, labelled);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask.Dispose();
        PositionIds.Dispose();
        SegmentIds.Dispose();
        foreach (var t in Tiles) t.Dispose();
    }
}

using NanoVlm.Engine.Internal;
using NanoVlm.Loader.Pipeline;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Training;

/// <summary>The loss of one data source over a pass: the mean cross-entropy of its samples' answer tokens.</summary>
/// <param name="Source">The source's name.</param>
/// <param name="Loss">Mean token cross-entropy (nats).</param>
/// <param name="Tokens">Answer tokens counted.</param>
public sealed record SourceLoss(string Source, double Loss, long Tokens)
{
    /// <summary>exp(<see cref="Loss"/>).</summary>
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>Loss and perplexity per data source over the training set, after an epoch.</summary>
/// <param name="Step">Optimizer steps completed.</param>
/// <param name="Epoch">Epochs completed (1 after the first).</param>
/// <param name="Sources">Per source, in mixture order (sources without answer tokens in the pass left out).</param>
/// <param name="Batches">Batches evaluated.</param>
public sealed record TrainSetEvaluation(long Step, int Epoch, IReadOnlyList<SourceLoss> Sources, int Batches);

/// <summary>
/// Loss per data source over loader batches: the forward runs as in training (no gradients, evaluation mode), the
/// per-token cross-entropy of every label position is attributed to the sample holding it (the pack's
/// <c>cu_seqlens</c>) and that sample's source (its <see cref="SampleOrigin"/>).
/// </summary>
public static class PerSourceLoss
{
    /// <summary>Runs the pass.</summary>
    /// <param name="model">The model (put back in training mode if it was).</param>
    /// <param name="batches">The batches (each disposed).</param>
    /// <param name="sourceNames">Names by source index (a missing one is called <c>source_N</c>).</param>
    /// <param name="attention">The attention mode of the forward.</param>
    /// <param name="maxBatches">Stop after this many batches with images (null: all).</param>
    /// <param name="step">For the result.</param>
    /// <param name="epoch">For the result.</param>
    /// <returns>The losses.</returns>
    public static TrainSetEvaluation Run(VisionLanguageModel model, IEnumerable<Batch> batches, IReadOnlyList<string>? sourceNames,
        AttentionMode attention = AttentionMode.Document, int? maxBatches = null, long step = 0, int epoch = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        bool wasTraining = model.training;
        model.eval();
        var sums = new Dictionary<int, (double Nll, long Tokens)>();
        int n = 0;
        try
        {
            using var noGrad = no_grad();
            foreach (var batch in batches)
            {
                using (batch)
                using (NewDisposeScope())
                {
                    if (batch.Packs.All(p => p.TileCount == 0)) continue;
                    var sources = LabelSources(batch);
                    if (sources.Length == 0) continue;
                    using var inputs = PackBatch.From(batch.Packs, model.Device);
                    var hidden = model.Forward(inputs, attention);
                    var labels = inputs.Labels.reshape(-1);
                    var keep = labels.ne(Scalars.IgnoreIndex).nonzero().squeeze(1);
                    var logits = model.Logits(hidden.reshape(-1, hidden.shape[^1]).index_select(0, keep)).to(ScalarType.Float32);
                    var nll = nn.functional.cross_entropy(logits, labels.index_select(0, keep), reduction: nn.Reduction.None)
                        .to(ScalarType.Float64).cpu().data<double>().ToArray();
                    if (nll.Length != sources.Length)
                        throw new InvalidOperationException($"Batch {batch.Index}: {nll.Length} label positions on the device but {sources.Length} in the packs.");
                    for (int i = 0; i < nll.Length; i++)
                    {
                        var (s, t) = sums.GetValueOrDefault(sources[i]);
                        sums[sources[i]] = (s + nll[i], t + 1);
                    }
                }
                if (++n >= maxBatches) break;
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        var result = sums.OrderBy(kv => kv.Key).Select(kv => new SourceLoss(
            sourceNames is not null && kv.Key < sourceNames.Count ? sourceNames[kv.Key] : $"source_{kv.Key}", kv.Value.Nll / kv.Value.Tokens, kv.Value.Tokens)).ToList();
        return new TrainSetEvaluation(step, epoch, result, n);
    }

    // The source index of every label position (label ≠ −100), in the row-major order of the batch's [B, L] labels.
    private static int[] LabelSources(Batch batch)
    {
        var list = new List<int>();
        foreach (var pack in batch.Packs)
        {
            var labels = pack.Labels;
            var cu = pack.CuSeqlens;
            int sample = 0;
            for (int t = 0; t < labels.Length; t++)
            {
                if (labels[t] == -100) continue;
                while (sample + 1 < cu.Length && t >= cu[sample + 1]) sample++;
                if (sample >= pack.SampleCount)
                    throw new InvalidDataException($"Batch {batch.Index}: a label at position {t} lies after the pack's last sample.");
                list.Add(pack.Origins[sample].SourceIndex);
            }
        }
        return [.. list];
    }
}

using NanoVlm.Engine.Internal;
using NanoVlm.Engine.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine;

public sealed partial class VisionLanguageModel
{
    /// <summary>
    /// nanoVLM's <c>generate</c>: one prefill over the (left-padded) prompts with the KV cache, then
    /// <see cref="GenerationOptions.MaxNewTokens"/> single-token steps, greedy or top-k/top-p/temperature sampling.
    /// Positions are not shifted for padding (a left-padded row's first real token sits at its pad count), pads are
    /// masked as keys only — exactly as nanoVLM.
    /// </summary>
    /// <param name="inputIds">Prompts [B, T], left-padded.</param>
    /// <param name="tiles">Tiles of all prompts' images in order, or null.</param>
    /// <param name="attentionMask">[B, T] (0 on pads), or null when no row is padded.</param>
    /// <param name="options">Sampling settings.</param>
    /// <returns>New token ids [B, MaxNewTokens] (int64, on the CPU), positions after a row's first EOS set to EOS.</returns>
    public Tensor Generate(Tensor inputIds, Tensor? tiles, Tensor? attentionMask, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(options), "MaxNewTokens must be ≥ 0.");
        if (!options.Greedy && !(options.Temperature > 0))
            throw new ArgumentOutOfRangeException(nameof(options), "Sampling needs a temperature > 0 (or use Greedy).");
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        using var generator = options.Seed is { } seed ? new Generator((ulong)seed, Device) : null;
        long batch = inputIds.shape[0];
        var x = Embed(inputIds, tiles);
        long total = x.shape[1];
        var mask = attentionMask?.to(ScalarType.Int64);
        using var cache = new KvCache(_decoder.BlockCount);
        Tensor logits;
        using (var prefillBias = AttentionBias.Nanovlm(mask, total, total, Autocast.AttentionDtype(x.dtype)))
        {
            var positions = torch.arange(total, dtype: ScalarType.Int64, device: x.device).unsqueeze(0);
            var hidden = _decoder.Forward(x, positions, prefillBias, cache, total - 1);
            logits = _decoder.Head(hidden.select(1, -1));
        }
        var steps = new List<Tensor>(options.MaxNewTokens);
        for (int i = 0; i < options.MaxNewTokens; i++)
        {
            using var step = NewDisposeScope();
            var next = NextToken(logits, options, generator);
            steps.Add(next.MoveToOuterDisposeScope());
            var e = _decoder.TokenEmbedding.forward(next);                 // [B, 1, D]
            if (mask is not null)
                mask = torch.cat([mask, torch.ones(batch, 1, dtype: mask.dtype, device: mask.device)], 1).MoveToOuterDisposeScope();
            using var bias = AttentionBias.Nanovlm(mask, 1, total + 1, Autocast.AttentionDtype(e.dtype));
            var pos = torch.full(1, 1, total, dtype: ScalarType.Int64, device: e.device);
            var h = _decoder.Forward(e, pos, bias, cache, total);
            total++;
            logits = _decoder.Head(h.select(1, -1)).MoveToOuterDisposeScope();
        }
        if (steps.Count == 0) return torch.empty(batch, 0, dtype: ScalarType.Int64).MoveToOuterDisposeScope();
        var ids = torch.cat(steps, 1).to(CPU);
        if (options.EosTokenId is { } eos) ids = FillAfterEos(ids, eos);
        return ids.MoveToOuterDisposeScope();
    }

    private static Tensor NextToken(Tensor logits, GenerationOptions o, Generator? generator)
    {
        if (o.Greedy) return logits.argmax(-1, keepdim: true);
        var filtered = TokenFilter.TopKTopP(logits, o.TopK, o.TopP);
        using var temperature = o.Temperature.ToScalar();
        var probs = torch.softmax(filtered.div(temperature), -1);
        return torch.multinomial(probs, 1, generator: generator);
    }

    // nanoVLM: every position after the first EOS of a row becomes EOS.
    private static Tensor FillAfterEos(Tensor ids, int eos)
    {
        long n = ids.shape[1];
        using var eosScalar = eos.ToScalar();
        using var beyond = (n + 1).ToScalar();
        using var last = n.ToScalar();
        var isEos = ids.eq(eosScalar);
        var cols = torch.arange(n, dtype: ScalarType.Int64).unsqueeze(0).expand_as(ids);
        var first = torch.where(isEos, cols, torch.full_like(cols, beyond)).min(1).values.clamp_max(last);
        var after = cols.gt(first.unsqueeze(1));
        return ids.masked_fill(after, eosScalar);
    }
}

/// <summary>nanoVLM's <c>top_k_top_p_filtering</c> (models/utils.py), applied to raw logits before the temperature.</summary>
public static class TokenFilter
{
    /// <summary>Sets filtered logits to −inf: first everything below the K-th largest value (ties survive), then, over
    /// what is left sorted descending, every token whose cumulative softmax probability exceeds <paramref name="topP"/>
    /// (no right shift; the first token is always kept).</summary>
    /// <param name="logits">[B, V].</param>
    /// <param name="topK">K; 0 = off (clamped to V).</param>
    /// <param name="topP">P; 1 = off.</param>
    /// <returns>Filtered logits [B, V].</returns>
    public static Tensor TopKTopP(Tensor logits, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        long k = Math.Min(topK, logits.shape[^1]);
        if (k > 0)
        {
            var kth = logits.topk((int)k).values.narrow(-1, k - 1, 1);
            logits = logits.masked_fill(logits.lt(kth), Scalars.NegativeInfinity);
        }
        if (topP < 1.0)
        {
            var (sorted, indices) = logits.sort(-1, descending: true);
            var cumulative = torch.softmax(sorted, -1).cumsum(-1);
            using var p = topP.ToScalar();
            var remove = cumulative.gt(p);
            remove.select(-1, 0).fill_(Scalars.Zero);
            var toRemove = remove.scatter(1, indices, remove);
            logits = logits.masked_fill(toRemove, Scalars.NegativeInfinity);
        }
        return logits.MoveToOuterDisposeScope();
    }
}

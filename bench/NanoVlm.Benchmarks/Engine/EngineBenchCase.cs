using NanoVlm.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Benchmarks.Engine;

/// <summary>
/// The benchmark configurations and their one-sample batch, defined exactly as in
/// tools/engine_reference/engine_bench.py (same shapes, same deterministic ids and pixels), so both sides run the same
/// work. <c>small</c>: ViT 4×192 (3 heads, MLP 4×), 256 px / patch 16, pixel shuffle 2 → 64 tokens per tile; LM 4×256,
/// 4 heads / 2 KV heads, MLP 4×, vocabulary 8192 + 66; 1,024 tokens with one image on a 2×2 grid (global + 4 tiles)
/// and 256 labelled answer tokens. <c>tiny</c>: the same block and tile counts (the same op graph) with every width
/// near its minimum and 32 tokens, so its step time is almost all per-op overhead.
/// </summary>
public sealed class EngineBenchCase : IDisposable
{
    private const int Shuffle = 2, Extra = 66, Eos = 2, TextLo = 20;

    private EngineBenchCase(string name, VlmConfig config, long[] ids, long[] labels)
    {
        Name = name;
        Config = config;
        ImageTokenId = (int)config.LmBaseVocabSize;
        InputIds = torch.tensor(ids, dtype: ScalarType.Int64).unsqueeze(0);
        Labels = torch.tensor(labels, dtype: ScalarType.Int64).unsqueeze(0);
        AttentionMask = torch.ones_like(InputIds);
        int s = config.VitImgSize;
        Tiles = (torch.arange(5L * 3 * s * s, dtype: ScalarType.Float32).remainder(251) / 250).reshape(5, 3, s, s);
    }

    /// <summary><c>small</c> or <c>tiny</c>.</summary>
    public string Name { get; }

    /// <summary>The model configuration.</summary>
    public VlmConfig Config { get; }

    /// <summary>The image token id (first id after the base vocabulary).</summary>
    public int ImageTokenId { get; }

    /// <summary>[1, T] ids.</summary>
    public Tensor InputIds { get; }

    /// <summary>[1, T] next-token labels over the answer, −100 elsewhere.</summary>
    public Tensor Labels { get; }

    /// <summary>[1, T] ones.</summary>
    public Tensor AttentionMask { get; }

    /// <summary>[5, 3, S, S] tiles: (i mod 251) / 250.</summary>
    public Tensor Tiles { get; }

    /// <summary>Builds a case by name.</summary>
    /// <param name="name"><c>small</c> or <c>tiny</c>.</param>
    /// <returns>The case.</returns>
    public static EngineBenchCase Create(string name)
    {
        // (vit: width, mlp, heads, blocks, img, patch), (lm: width, mlp, heads, kv heads, blocks), base vocab, tokens, answer
        var (vit, lm, baseVocab, tokens, answer) = name switch
        {
            "small" => ((192, 768, 3, 4, 256, 16), (256, 1024, 4, 2, 4), 8192, 1024, 256),
            "tiny" => ((8, 16, 2, 4, 32, 16), (8, 16, 2, 1, 4), 64, 32, 8),
            _ => throw new ArgumentException($"Unknown engine bench config '{name}' (small or tiny).", nameof(name)),
        };
        int side = vit.Item5 / vit.Item6;
        var config = new VlmConfig
        {
            VitHiddenDim = vit.Item1, VitInterDim = vit.Item2, VitNHeads = vit.Item3, VitNBlocks = vit.Item4,
            VitImgSize = vit.Item5, VitPatchSize = vit.Item6, VitLnEps = 1e-6,
            LmHiddenDim = lm.Item1, LmInterDim = lm.Item2, LmNHeads = lm.Item3, LmNKvHeads = lm.Item4, LmNBlocks = lm.Item5,
            LmRmsEps = 1e-5, LmReBase = 100000, LmMaxPositionEmbeddings = 8192, LmBaseVocabSize = baseVocab,
            ExtraTokenAmount = Extra, LmVocabSize = baseVocab + Extra, LmAttnScaling = 1.0, LmMaxLength = tokens,
            LmTieWeights = true, MpPixelShuffleFactor = Shuffle, MpImageTokenLength = side * side / (Shuffle * Shuffle),
            ResizeToMaxSideLen = false, VlmLoadBackboneWeights = false,
        };
        var (ids, labels) = Layout(baseVocab, tokens, answer, config.MpImageTokenLength);
        return new EngineBenchCase(name, config, ids, labels);
    }

    // engine_bench.py layout(): user turn with the 2×2-grid image string (get_image_string's order), question text,
    // answer text; labels = next id over the answer.
    private static (long[] Ids, long[] Labels) Layout(int baseVocab, int n, int answer, int tokensPerTile)
    {
        long image = baseVocab, global = baseVocab + 1;
        long Text(int i) => TextLo + (7919L * i) % (baseVocab - TextLo);
        var ids = new List<long> { 1, 14, 13, global };
        ids.AddRange(Enumerable.Repeat(image, tokensPerTile));
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 2; c++)
            {
                ids.Add(image + 2 + r * 8 + c);
                ids.AddRange(Enumerable.Repeat(image, tokensPerTile));
            }
        long[] tail = [Eos, 13, 1, 15, 13];
        int question = n - ids.Count - tail.Length - answer;
        if (question <= 0) throw new InvalidOperationException("The layout does not fit the token count.");
        for (int i = 0; i < question; i++) ids.Add(Text(i));
        ids.AddRange(tail);
        for (int i = 0; i < answer; i++) ids.Add(Text(1000 + i));
        var labels = Enumerable.Repeat(-100L, n).ToArray();
        for (int t = n - answer - 1; t < n - 1; t++) labels[t] = ids[t + 1];
        return ([.. ids], labels);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask.Dispose();
        Tiles.Dispose();
    }
}

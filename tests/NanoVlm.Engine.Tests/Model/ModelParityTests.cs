using NanoVlm.Engine.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Model;

/// <summary>The TorchSharp model against nanoVLM's own code (torch 1.13, fp32) on the committed cases: every
/// intermediate within 1e-4, the loss within 1e-5 relative, greedy ids identical.</summary>
public class ModelParityTests
{
    private const double Atol = 1e-4;

    [Theory]
    [MemberData(nameof(EngineCase.All), MemberType = typeof(EngineCase))]
    public void Vision_encoder_and_projector_match_nanovlm(string name)
    {
        using var c = new EngineCase(name);
        using var model = c.LoadModel();
        using var _ = no_grad();
        using var images = c.Get("in.images");
        using var vit = model.VisionEncoder.forward(images);
        AssertClose(c.Get("out.vit"), vit, "out.vit");
        using var mp = model.Projector.forward(vit);
        AssertClose(c.Get("out.mp"), mp, "out.mp");
    }

    [Theory]
    [MemberData(nameof(EngineCase.All), MemberType = typeof(EngineCase))]
    public void Merged_embeddings_hidden_logits_and_loss_match_nanovlm(string name)
    {
        using var c = new EngineCase(name);
        using var model = c.LoadModel();
        using var _ = no_grad();
        using var ids = c.Get("in.input_ids");
        using var mask = c.Get("in.attention_mask");
        using var labels = c.Get("in.labels");
        using var images = c.Get("in.images");

        using var merged = model.Embed(ids, images);
        AssertClose(c.Get("out.merged_embd"), merged, "out.merged_embd");
        using var hidden = model.Forward(ids, images, mask);
        AssertClose(c.Get("out.hidden"), hidden, "out.hidden");
        using var logits = model.Logits(hidden);
        AssertClose(c.Get("out.logits"), logits, "out.logits");

        using var loss = model.Loss(hidden, labels);
        using var expected = c.Get("out.loss");
        double e = expected.item<float>(), a = loss.item<float>();
        Assert.True(Math.Abs(a - e) <= 1e-5 * Math.Abs(e), $"loss {a} vs nanoVLM's {e}");
    }

    [Theory]
    [MemberData(nameof(EngineCase.All), MemberType = typeof(EngineCase))]
    public void Logits_without_a_mask_match_nanovlm(string name)
    {
        using var c = new EngineCase(name);
        using var model = c.LoadModel();
        using var _ = no_grad();
        using var ids = c.Get("in.input_ids").narrow(0, 0, 1);
        using var tiles = SampleTiles(c, 0);
        using var hidden = model.Forward(ids, tiles);
        AssertClose(c.Get("out.logits_nomask"), model.Logits(hidden), "out.logits_nomask");
    }

    [Theory]
    [MemberData(nameof(EngineCase.All), MemberType = typeof(EngineCase))]
    public void Greedy_generation_with_the_kv_cache_gives_nanovlms_ids(string name)
    {
        using var c = new EngineCase(name);
        using var model = c.LoadModel();
        using var ids = c.Get("in.input_ids");
        using var mask = c.Get("in.attention_mask");
        using var images = c.Get("in.images");
        var options = new GenerationOptions { Greedy = true, MaxNewTokens = 16, EosTokenId = c.EosTokenId };
        using var got = model.Generate(ids, images, mask, options);
        Assert.Equal(c.Get("out.greedy").data<long>().ToArray(), got.data<long>().ToArray());

        using var ids0 = ids.narrow(0, 0, 1);
        using var tiles0 = SampleTiles(c, 0);
        using var got0 = model.Generate(ids0, tiles0, null, options);
        Assert.Equal(c.Get("out.greedy_sample0_nomask").data<long>().ToArray(), got0.data<long>().ToArray());
    }

    [Theory]
    [MemberData(nameof(EngineCase.All), MemberType = typeof(EngineCase))]
    public void Top_k_top_p_filter_matches_nanovlm(string name)
    {
        using var c = new EngineCase(name);
        using var logits = c.Get("in.filter_logits");
        foreach (var (k, p, key) in new[] { (3, 1.0, "k3_p1.0"), (0, 0.5, "k0_p0.5"), (50, 0.9, "k50_p0.9"), (5, 0.8, "k5_p0.8"), (1, 1.0, "k1_p1.0") })
        {
            using var got = TokenFilter.TopKTopP(logits, k, p);
            using var expected = c.Get($"out.filter_{key}");
            Assert.Equal(expected.data<float>().ToArray(), got.data<float>().ToArray());
        }
    }

    [Fact]
    public void Cached_decoding_equals_full_recompute()
    {
        using var c = new EngineCase("c_gqa4_s2");
        using var model = c.LoadModel();
        using var _ = no_grad();
        using var ids = c.Get("in.input_ids").narrow(0, 0, 1);
        using var tiles = SampleTiles(c, 0);
        var options = new GenerationOptions { Greedy = true, MaxNewTokens = 6 };
        using var cached = model.Generate(ids, tiles, null, options);
        // Full recompute: append each token and run the whole sequence again.
        var seq = ids.clone();
        for (int i = 0; i < 6; i++)
        {
            using var h = model.Forward(seq, tiles);
            using var next = model.Logits(h.select(1, -1)).argmax(-1, keepdim: true);
            Assert.Equal(cached[0, i].item<long>(), next[0, 0].item<long>());
            var longer = cat([seq, next], 1);
            seq.Dispose();
            seq = longer;
        }
        seq.Dispose();
    }

    // The tiles of sample `index` (tiles are stored sample-major; counted from the image tokens of each sample).
    internal static Tensor SampleTiles(EngineCase c, int index)
    {
        using var ids = c.Get("in.input_ids");
        using var images = c.Get("in.images");
        using var mpOut = c.Get("out.mp");
        long perTile = mpOut.shape[1];
        long start = 0;
        for (int s = 0; s < index; s++) start += ids[s].eq(c.ImageTokenId).sum().item<long>() / perTile;
        long count = ids[index].eq(c.ImageTokenId).sum().item<long>() / perTile;
        return images.narrow(0, start, count).clone();
    }

    internal static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        using (expected)
        {
            Assert.Equal(expected.shape, actual.shape);
            using var diff = (expected - actual.to(expected.dtype)).abs().max();
            double d = diff.item<float>();
            Assert.True(d <= Atol, $"{what}: max |Δ| = {d:G3} > {Atol}");
        }
    }
}

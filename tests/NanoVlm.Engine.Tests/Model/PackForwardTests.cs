using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.SampleData;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Model;

/// <summary>The model fed straight from loader packs: document masking makes every sample compute what it computes
/// alone; nanoVLM mode is nanoVLM's forward over the whole pack.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class PackForwardTests : IDisposable
{
    // 32-pixel tiles, patch 8 → 16 patches, pixel shuffle 2 → 4 image tokens per tile.
    private static readonly DataLoaderOptions Small = new()
    {
        LmMaxLength = 768,
        MaxSampleLength = 768,
        Workers = 1,
        BatchSize = 2,
        ImageTokenLength = 4,
        Images = ImagePipelineOptions.Default with { SplitSize = 32, MaxSideLength = 96 },
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-pack-forward-").FullName;

    public PackForwardTests() => SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = 12 });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static VisionLanguageModel TinyModel()
    {
        var tok = VlmTokenizer.LoadDefault();
        manual_seed(7);
        var cfg = new VlmConfig
        {
            VitHiddenDim = 32, VitInterDim = 64, VitPatchSize = 8, VitImgSize = 32, VitNHeads = 2, VitNBlocks = 1,
            LmHiddenDim = 32, LmInterDim = 64, LmNHeads = 4, LmNKvHeads = 2, LmNBlocks = 2, LmVocabSize = tok.VocabularySize,
            MpPixelShuffleFactor = 2, MpImageTokenLength = 4, LmMaxLength = 768,
        };
        var model = new VisionLanguageModel(cfg, tok.ImageTokenId);
        model.eval();
        return model;
    }

    [Fact(Timeout = 120_000)]
    public async Task Document_mode_gives_each_sample_its_solo_hidden_states()
    {
        using var model = TinyModel();
        using var source = RowSources.Open(_dir);
        await using var loader = new DataLoader(source, Small);
        int checkedSamples = 0;
        foreach (var batch in loader)
        {
            using (batch)
            using (no_grad())
            {
                var pack = batch.Packs[0];
                using var packed = PackBatch.From([pack], CPU);
                using var hidden = model.Forward(packed, AttentionMode.Document);
                var cu = pack.CuSeqlens.ToArray();
                int tileStart = 0;
                for (int s = 0; s < pack.SampleCount; s++)
                {
                    int start = cu[s], len = cu[s + 1] - cu[s] - 1; // the sample without its trailing pad
                    using var ids = packed.InputIds.narrow(1, start, len);
                    int tiles = (int)(ids.eq(model.ImageTokenId).sum().item<long>() / 4);
                    using var sampleTiles = tiles == 0 ? null : packed.Tiles[0].narrow(0, tileStart, tiles);
                    tileStart += tiles;
                    using var solo = model.Forward(ids, sampleTiles);
                    using var inPack = hidden.narrow(1, start, len);
                    double d = (solo - inPack).abs().max().item<float>();
                    Assert.True(d < 1e-4, $"sample {s}: max |Δ| {d}");
                    checkedSamples++;
                }
            }
        }
        Assert.True(checkedSamples >= 3);
    }

    [Fact(Timeout = 120_000)]
    public async Task Nanovlm_mode_is_nanovlms_forward_over_the_whole_pack_and_the_loss_is_finite()
    {
        using var model = TinyModel();
        using var source = RowSources.Open(_dir);
        await using var loader = new DataLoader(source, Small);
        foreach (var batch in loader)
        {
            using (batch)
            using (no_grad())
            {
                using var packed = PackBatch.From(batch.Packs, CPU);
                using var hidden = model.Forward(packed, AttentionMode.Nanovlm);
                var tiles = packed.Tiles.Count == 0 ? null : cat([.. packed.Tiles], 0);
                using var reference = model.Forward(packed.InputIds, tiles, packed.AttentionMask);
                tiles?.Dispose();
                double d = (hidden - reference).abs().max().item<float>();
                Assert.True(d < 1e-5, $"max |Δ| {d}");
                using var loss = model.Loss(hidden, packed.Labels);
                Assert.True(float.IsFinite(loss.item<float>()) && loss.item<float>() > 0);
                using var docLoss = model.Loss(model.Forward(packed), packed.Labels);
                Assert.NotEqual(loss.item<float>(), docLoss.item<float>()); // the two modes differ on packs of several samples
            }
            break;
        }
    }

    [Fact]
    public void A_batch_without_labels_has_zero_loss_and_zero_gradient_not_nan()
    {
        using var model = TinyModel();
        using var ids = randint(100, 200, [1, 16], dtype: ScalarType.Int64);
        using var labels = full(1, 16, -100L, dtype: ScalarType.Int64);
        using var hidden = model.Forward(ids, null);
        using var loss = model.Loss(hidden, labels);
        Assert.Equal(0f, loss.item<float>());
        loss.backward();
        foreach (var p in model.parameters())
            if (p.grad is { } g) Assert.Equal(0f, g.abs().max().item<float>());
    }
}

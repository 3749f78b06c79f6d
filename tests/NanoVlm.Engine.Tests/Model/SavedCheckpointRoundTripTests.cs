using NanoVlm.Engine.Checkpoints;
using NanoVlm.Testing;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Model;

/// <summary>
/// The other direction of interchangeable checkpoints: a checkpoint this engine saved with weights of its own (not
/// read from nanoVLM) loads in nanoVLM's strict <c>from_pretrained</c> and gives the same logits. The committed
/// checkpoint under tests/fixtures/engine/csharp_saved/ckpt is what <see cref="Save"/> writes; nanoVLM's outputs
/// next to it were computed from that very folder by tools/engine_reference/make_roundtrip_fixture.py. Rewrite the
/// checkpoint with <c>NANOVLM_UPDATE_ROUNDTRIP=1</c>, then rerun that script.
/// </summary>
public sealed class SavedCheckpointRoundTripTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const ulong Seed = 20261128;
    private static readonly string FixtureDir = Fixtures.Path("engine", "csharp_saved");
    private readonly string _tmp = Directory.CreateTempSubdirectory("nanovlm-roundtrip-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Fact]
    public void The_engine_saves_its_seeded_model_byte_for_byte_as_committed()
    {
        using var a = new EngineCase("a_gqa2_s2");
        string dir = Environment.GetEnvironmentVariable("NANOVLM_UPDATE_ROUNDTRIP") == "1" ? Path.Combine(FixtureDir, "ckpt") : _tmp;
        Save(a, dir);
        foreach (var file in new[] { Checkpoint.ConfigFile, Checkpoint.WeightsFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(FixtureDir, "ckpt", file)), File.ReadAllBytes(Path.Combine(dir, file)));
        // New weights, not a copy of a nanoVLM-written file.
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(a.CheckpointDir, Checkpoint.WeightsFile)), File.ReadAllBytes(Path.Combine(dir, Checkpoint.WeightsFile)));
    }

    [Fact]
    public void The_committed_checkpoint_gives_the_logits_nanovlm_computed_from_it()
    {
        using var a = new EngineCase("a_gqa2_s2");
        using var model = Checkpoint.Load(Path.Combine(FixtureDir, "ckpt"), a.ImageTokenId);
        using var nanovlm = SafeTensorsFile.Open(Path.Combine(FixtureDir, "nanovlm_out.safetensors"));
        using var _ = no_grad();
        using var ids = a.Get("in.input_ids");
        using var mask = a.Get("in.attention_mask");
        using var labels = a.Get("in.labels");
        using var images = a.Get("in.images");
        using var hidden = model.Forward(ids, images, mask);
        using var logits = model.Logits(hidden);
        using var loss = model.Loss(hidden, labels);
        using var wantLogits = nanovlm.View("out.logits");
        using var wantLoss = nanovlm.View("out.loss");
        Assert.Equal(wantLogits.shape, logits.shape);
        var maxDelta = (logits - wantLogits).abs().max().item<float>();
        Assert.True(maxDelta <= 1e-4f, $"max |Δlogit| = {maxDelta}");
        double got = loss.item<float>(), want = wantLoss.item<float>();
        output.WriteLine($"max |Δlogit| = {maxDelta:E2}; loss {got:R} vs nanoVLM's {want:R}");
        Assert.True(Math.Abs(got - want) <= 1e-5 * Math.Abs(want), $"loss {got} vs nanoVLM's {want}");
        // The logits are not those of the model the inputs were made for: the weights are really new.
        using var aLogits = a.Get("out.logits");
        Assert.True((aLogits - wantLogits).abs().max().item<float>() > 0.1f);
    }

    /// <summary>Case a's configuration made different (wider GQA ratio, other MLP widths, eps, RoPE base and names),
    /// weights drawn from <see cref="Seed"/> by a managed generator (the same bits on every machine, unlike libtorch's
    /// CPU generator whose normal sampling is vectorised per CPU), saved with <see cref="Checkpoint.Save"/>.</summary>
    private static void Save(EngineCase a, string dir)
    {
        var config = VlmConfig.Read(Path.Combine(a.CheckpointDir, Checkpoint.ConfigFile));
        config.VitInterDim = 128;
        config.VitLnEps = 1e-5;
        config.VitModelType = "fixture/vit-csharp";
        config.LmInterDim = 96;
        config.LmNHeads = 4;
        config.LmNKvHeads = 1;
        config.LmRmsEps = 1e-6;
        config.LmReBase = 10000;
        config.LmModelType = "fixture/lm-csharp";
        config.HfRepoName = "csharp-saved";
        using var model = new VisionLanguageModel(config, a.ImageTokenId);
        var rng = new SplitMix64(Seed);
        using (no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                var values = new float[p.numel()];
                long fanIn = p.dim() >= 2 ? p.numel() / p.shape[0] : 1;
                for (int i = 0; i < values.Length; i++)
                {
                    double u = rng.NextSymmetric() * Math.Sqrt(3); // uniform with variance 1
                    values[i] = (float)(p.dim() == 1
                        ? name.EndsWith(".weight", StringComparison.Ordinal) ? 1 + 0.1 * u : 0.1 * u // norm gains, biases
                        : name.Contains("position_embedding", StringComparison.Ordinal) ? 0.5 * u : u / Math.Sqrt(fanIn));
                }
                using var t = tensor(values, p.shape);
                p.copy_(t);
            }
        }
        Checkpoint.Save(model, dir);
    }

    /// <summary>SplitMix64 (Steele, Lea, Flood 2014): a tiny generator whose output is fixed by its integer arithmetic.</summary>
    private sealed class SplitMix64(ulong state)
    {
        private ulong _state = state;

        /// <summary>Uniform in [−1, 1) on a 2⁻²³ grid (exact in float and double).</summary>
        public double NextSymmetric()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (long)(z >> 40) * (1.0 / (1L << 23)) - 1.0;
        }
    }
}

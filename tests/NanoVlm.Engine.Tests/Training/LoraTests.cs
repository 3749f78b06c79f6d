using NanoVlm.Engine.Checkpoints;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Configuration;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.SampleData;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Training;

/// <summary>LoRA on the tiny model: adapters, merging on save, adapter-only resume, and freezing parts.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class LoraTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("nanovlm-lora-data-").FullName;
    private readonly string _runs = Directory.CreateTempSubdirectory("nanovlm-lora-runs-").FullName;

    public LoraTests() => SampleDataWriter.Write(_data, new SampleDataOptions { Rows = 40 });

    public void Dispose()
    {
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_runs, recursive: true);
    }

    internal static VlmConfig Config() => TrainerTests.Config();

    internal static VisionLanguageModel NewModel(int seed = 0)
    {
        manual_seed(seed);
        return new VisionLanguageModel(Config(), VlmTokenizer.LoadDefault().ImageTokenId);
    }

    private static TrainOptions Options(long steps, int evalInterval = 0, double lrMp = 0) => new()
    {
        LearningRates = new GroupLearningRates(lrMp, 2e-2, 2e-2),
        GradientAccumulationSteps = 2,
        MaxTrainingSteps = steps,
        EvalInterval = evalInterval,
        ValidationBatches = 2,
        Lora = new LoraOptions { Rank = 8, Alpha = 16 },
    };

    private DataLoader Loader(LoaderState? resume = null)
        => new(RowSources.Open(_data), TrainingPresets.LoaderFor(Config(), batchSize: 1) with { Workers = 1 }, resume);

    private (List<StepMetrics> Steps, TrainSummary Summary) Train(VisionLanguageModel model, TrainOptions options, string run,
        string? resumeFrom = null, Action<Trainer>? inspect = null)
    {
        using var trainer = new Trainer(model, options, run);
        var steps = new List<StepMetrics>();
        trainer.StepCompleted += steps.Add;
        var state = resumeFrom is null ? null : trainer.Restore(resumeFrom);
        using var loader = Loader(state?.LoaderState is { } s ? LoaderState.FromJson(s) : null);
        var summary = trainer.Run(loader, null, state);
        inspect?.Invoke(trainer);
        trainer.Lora?.Dispose();
        return (steps, summary);
    }

    private static Dictionary<string, Tensor> Snapshot(VisionLanguageModel model)
        => model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    private double TrainSetLoss(VisionLanguageModel model)
    {
        using var source = RowSources.Open(_data);
        using var loader = new DataLoader(source, TrainingPresets.LoaderFor(Config(), batchSize: 2) with { Workers = 1, Epochs = 1 });
        return Assert.Single(PerSourceLoss.Run(model, loader, null).Sources).Loss;
    }

    private static bool Same(Tensor a, Tensor b) => a.equal(b).all().item<bool>();

    private Tensor Hidden(VisionLanguageModel model)
    {
        using var source = RowSources.Open(_data);
        using var loader = new DataLoader(source, TrainingPresets.LoaderFor(Config(), batchSize: 2) with { Workers = 1, Epochs = 1 });
        model.eval();
        using var noGrad = no_grad();
        foreach (var batch in loader)
            using (batch)
            {
                if (batch.Packs.All(p => p.TileCount == 0)) continue;
                using var inputs = PackBatch.From(batch.Packs, model.Device);
                return model.Forward(inputs, AttentionMode.Document);
            }
        throw new InvalidOperationException("no batch with images");
    }

    [Fact(Timeout = 300_000)]
    public async Task The_merged_checkpoint_computes_what_the_adapters_compute_and_loads_strict_with_nanovlms_keys_only()
    {
        await Task.Yield();
        using var model = NewModel();
        using var baseHidden = Hidden(model);
        var before = Snapshot(model);
        var lora = LoraAdapters.Attach(model, new LoraOptions { Rank = 4, Alpha = 8 });
        Assert.Equal(2 * 4 + 2 * 3 + 1 * 4, lora.AdaptedLayers.Count); // LM blocks: q k v out gate up down; ViT block: qkv out fc1 fc2
        using (var fresh = Hidden(model))
            Assert.True(Same(fresh, baseHidden), "a fresh adapter (B = 0) must leave the output unchanged");
        using (no_grad())
            foreach (var p in lora.Parameters.Where(p => p.shape[1] == 4)) p.normal_(0, 0.05); // make B non-zero
        using var adapted = Hidden(model);
        Assert.True((adapted - baseHidden).abs().max().item<float>() > 1e-3, "the adapters should change the output");

        string dir = Path.Combine(_runs, "merged");
        using (lora.Merge()) Checkpoint.Save(model, dir);
        Assert.All(before, kv => Assert.True(Same(kv.Value, model.named_parameters().First(p => p.name == kv.Key).parameter),
            $"{kv.Key}: the base weight must be restored exactly after the merge"));

        using (var file = SafeTensorsFile.Open(Path.Combine(dir, Checkpoint.WeightsFile)))
        using (var plain = NewModel())
            Assert.Equal(Checkpoint.FileTensors(plain).Tensors.Keys.Order(StringComparer.Ordinal), file.Tensors.Keys.Order(StringComparer.Ordinal));
        using var merged = Checkpoint.Load(dir, model.ImageTokenId); // strict: every key, nothing else
        using var mergedHidden = Hidden(merged);
        Assert.True((mergedHidden - adapted).abs().max().item<float>() <= 1e-5);
        lora.Dispose();
        using var detached = Hidden(model);
        Assert.True(Same(detached, baseHidden), "removing the adapters gives the base model back");
    }

    [Fact(Timeout = 300_000)]
    public async Task A_lora_run_trains_only_the_adapters_lowers_the_loss_and_saves_merged_weights()
    {
        await Task.Yield();
        using var model = NewModel();
        var before = Snapshot(model);
        string run = Path.Combine(_runs, "only");
        IReadOnlyList<Tensor>? optimized = null, adapters = null;
        double lossBefore = TrainSetLoss(model), after = double.NaN;
        var (steps, summary) = Train(model, Options(24), run, inspect: t =>
        {
            after = TrainSetLoss(model);
            optimized = [.. t.Recipe.Optimizer.Groups.SelectMany(g => g.Parameters)];
            adapters = t.Lora!.Parameters;
            Assert.All(adapters.Where(p => p.shape[1] == 8), b => Assert.True(b.abs().max().item<float>() > 0, "B should have moved from 0"));
        });
        Assert.Equal(24, summary.Steps);
        Assert.Equal(adapters!.Count, optimized!.Count);
        Assert.All(optimized, p => Assert.Contains(adapters, a => ReferenceEquals(a, p)));
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.True(Same(p, before[name]), $"{name} changed: only the adapters may train");
            Assert.Null(p.grad);
        }
        // Measured 8.60 → 8.19 (adapters alone on a randomly initialised tiny model learn slowly; full training drops
        // more than 1): deterministic (the whole set, no dropout), so a margin this size is learning, not noise.
        Assert.True(after < lossBefore - 0.25, $"the training-set loss did not fall: {lossBefore:F3} before, {after:F3} after 24 LoRA steps");

        string ckpt = summary.LastCheckpoint!;
        Assert.True(File.Exists(Path.Combine(ckpt, LoraAdapters.WeightsFile)));
        using var saved = Checkpoint.Load(ckpt, model.ImageTokenId);
        var changed = saved.named_parameters().Where(p => !Same(p.parameter, before[p.name])).Select(p => p.name).ToList();
        Assert.Contains("decoder.blocks.0.attn.q_proj.weight", changed);
        Assert.Contains("vision_encoder.blocks.0.mlp.fc1.weight", changed);
        Assert.All(changed, n => Assert.Matches(@"\.(q_proj|k_proj|v_proj|out_proj|gate_proj|up_proj|down_proj|qkv_proj|fc1|fc2)\.weight$", n));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_resumed_lora_run_equals_the_uninterrupted_run()
    {
        await Task.Yield();
        var options = Options(6, evalInterval: 3, lrMp: 3e-3); // the projector trains in full next to the adapters
        using var straight = NewModel();
        var (full, _) = Train(straight, options, Path.Combine(_runs, "straight"));

        using var resumed = NewModel(); // the run's starting weights; the checkpoint supplies the rest
        string step3 = Path.Combine(_runs, "straight", "step_3");
        var (rest, summary) = Train(resumed, options, Path.Combine(_runs, "resumed"), resumeFrom: step3);
        Assert.Equal(6, summary.Steps);
        Assert.Equal(full.Skip(3).Select(s => s.Loss), rest.Select(s => s.Loss));
        Assert.Equal(full.Skip(3).Select(s => s.GradNorm), rest.Select(s => s.GradNorm));
        foreach (var file in new[] { Checkpoint.WeightsFile, LoraAdapters.WeightsFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(_runs, "straight", "step_6", file)), File.ReadAllBytes(Path.Combine(summary.LastCheckpoint!, file)));

        using var other = NewModel(seed: 7);
        using var trainer = new Trainer(other, options, Path.Combine(_runs, "other"));
        var e = Assert.Throws<InvalidDataException>(() => trainer.Restore(step3));
        Assert.Contains("base weights differ", e.Message);
        trainer.Lora!.Dispose();

        using var plain = NewModel();
        using var plainTrainer = new Trainer(plain, options with { Lora = null }, Path.Combine(_runs, "plain"));
        e = Assert.Throws<InvalidDataException>(() => plainTrainer.Restore(step3));
        Assert.Contains("LoRA", e.Message);
    }

    [Fact]
    public void Targets_are_matched_by_name_suffix_or_glob_and_a_wrong_name_is_a_clear_error()
    {
        using var model = NewModel();
        using (var lm = LoraAdapters.Attach(model, new LoraOptions { TargetModules = ["decoder.*.out_proj"] }))
            Assert.Equal(["decoder.blocks.0.attn.out_proj", "decoder.blocks.1.attn.out_proj"], lm.AdaptedLayers);
        using (var vision = LoraAdapters.Attach(model, new LoraOptions { TargetModules = ["attn.out_proj", "fc1"] }, language: false))
            Assert.Equal(["vision_encoder.blocks.0.attn.out_proj", "vision_encoder.blocks.0.mlp.fc1"], vision.AdaptedLayers);
        var e = Assert.Throws<ArgumentException>(() => LoraAdapters.Attach(model, new LoraOptions { TargetModules = ["q_proj", "q_porj"] }));
        Assert.Contains("'q_porj'", e.Message);
        Assert.Contains("q_proj", e.Message);
        e = Assert.Throws<ArgumentException>(() => LoraAdapters.Attach(model, new LoraOptions { TargetModules = ["qkv_proj"] }, vision: false));
        Assert.Contains("match no layer", e.Message);
    }

    [Fact]
    public void The_config_file_keys_set_lora_and_freezing_and_bad_values_name_the_key()
    {
        var o = new TrainOptions().With(NanovlmConfig.Parse(
            """{"lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.05, "lora_target_modules": ["q_proj", "v_proj"], "freeze_vision_backbone": true, "train_eval_batches": 5}""", "ft.json"));
        Assert.Equal(new LoraOptions { Rank = 16, Alpha = 32, Dropout = 0.05, TargetModules = ["q_proj", "v_proj"] }.Rank, o.Lora!.Rank);
        Assert.Equal(32, o.Lora.Alpha);
        Assert.Equal(0.05, o.Lora.Dropout);
        Assert.Equal(["q_proj", "v_proj"], o.Lora.TargetModules);
        Assert.Equal(0, o.LearningRates.Vision);
        Assert.Equal(GroupLearningRates.Nanovlm.Language, o.LearningRates.Language);
        Assert.Equal(5, o.TrainEvalBatches);
        Assert.Equal(["gate_proj", "up_proj"], new TrainOptions().With(NanovlmConfig.Parse("""{"lora_rank": 4, "lora_target_modules": "gate_proj, up_proj"}""", "s.json")).Lora!.TargetModules);
        Assert.Null(new TrainOptions().With(NanovlmConfig.Parse("""{"lora_rank": 0}""", "z.json")).Lora);
        Assert.Null(new TrainOptions().With(NanovlmConfig.Empty).Lora);

        foreach (var (json, key) in new[]
                 {
                     ("""{"lora_rank": "8"}""", "lora_rank"), ("""{"lora_rank": 8, "lora_alpha": "x"}""", "lora_alpha"),
                     ("""{"lora_rank": 8, "lora_dropout": 1.5}""", "lora_dropout"), ("""{"lora_alpha": 8}""", "lora_rank"),
                     ("""{"lora_rank": 8, "lora_target_modules": 3}""", "lora_target_modules"), ("""{"freeze_mp": 1}""", "freeze_mp"),
                     ("""{"train_eval_batches": -2}""", "train_eval_batches"),
                 })
        {
            var e = Assert.Throws<InvalidDataException>(() => new TrainOptions().With(NanovlmConfig.Parse(json, "bad.json")));
            Assert.Contains("bad.json", e.Message);
            Assert.Contains(key, e.Message);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Frozen_parts_do_not_change_and_hold_no_optimizer_state()
    {
        await Task.Yield();
        using var model = NewModel();
        var before = Snapshot(model);
        var options = new TrainOptions
        {
            LearningRates = new GroupLearningRates(3e-3, 1e-3, 3e-3), GradientAccumulationSteps = 1, MaxTrainingSteps = 3, EvalInterval = 0,
        }.With(NanovlmConfig.Parse("""{"freeze_vision_backbone": true, "freeze_mp": true}""", "freeze.json"));
        IReadOnlyList<string>? groups = null;
        HashSet<Tensor>? optimized = null;
        Train(model, options, Path.Combine(_runs, "freeze"), inspect: t =>
        {
            groups = t.Recipe.GroupNames;
            optimized = t.Recipe.Optimizer.Groups.SelectMany(g => g.Parameters).Cast<Tensor>().ToHashSet(ReferenceEqualityComparer.Instance as IEqualityComparer<Tensor>);
        });
        Assert.Equal(["LM"], groups);
        int frozen = 0, trained = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            bool isFrozen = !name.StartsWith("decoder.", StringComparison.Ordinal);
            if (isFrozen)
            {
                frozen++;
                Assert.True(Same(p, before[name]), $"{name} is frozen but changed");
                Assert.False(p.requires_grad, name);
                Assert.Null(p.grad);
                Assert.False(optimized!.Contains(p), $"{name} is in the optimizer");
            }
            else if (!Same(p, before[name])) trained++;
        }
        Assert.True(frozen > 5 && trained > 5, $"{frozen} frozen, {trained} changed");
    }
}

using NanoVlm.Engine.Training;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.SampleData;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Training;

/// <summary>The training loop on real loader batches (a small model and small tiles so each run takes seconds).</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("nanovlm-train-data-").FullName;
    private readonly string _runs = Directory.CreateTempSubdirectory("nanovlm-train-runs-").FullName;

    public TrainerTests() => SampleDataWriter.Write(_data, new SampleDataOptions { Rows = 40 });

    public void Dispose()
    {
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_runs, recursive: true);
    }

    internal static VlmConfig Config()
    {
        var tok = VlmTokenizer.LoadDefault();
        return new VlmConfig
        {
            VitHiddenDim = 32, VitInterDim = 64, VitPatchSize = 8, VitImgSize = 32, VitNHeads = 2, VitNBlocks = 1,
            LmHiddenDim = 48, LmInterDim = 96, LmNHeads = 4, LmNKvHeads = 2, LmNBlocks = 2, LmVocabSize = tok.VocabularySize,
            MpPixelShuffleFactor = 2, MpImageTokenLength = 4, LmMaxLength = 512, MaxImgSize = 64,
        };
    }

    private static TrainOptions Options(long steps, int evalInterval = 0) => new()
    {
        LearningRates = new GroupLearningRates(3e-3, 1e-3, 3e-3),
        GradientAccumulationSteps = 2,
        MaxTrainingSteps = steps,
        EvalInterval = evalInterval,
        ValidationBatches = 2,
    };

    private static VisionLanguageModel NewModel()
    {
        manual_seed(0);
        return new VisionLanguageModel(Config(), VlmTokenizer.LoadDefault().ImageTokenId);
    }

    private DataLoader Loader(LoaderState? resume = null)
        => new(RowSources.Open(_data), TrainingPresets.LoaderFor(Config(), batchSize: 1) with { Workers = 1 }, resume);

    private (List<StepMetrics> Steps, TrainSummary Summary) Train(VisionLanguageModel model, TrainOptions options, string run,
        string? resumeFrom = null, CancellationToken ct = default, Action<Trainer>? setup = null)
    {
        using var trainer = new Trainer(model, options, run);
        var steps = new List<StepMetrics>();
        trainer.StepCompleted += steps.Add;
        setup?.Invoke(trainer);
        var state = resumeFrom is null ? null : trainer.Restore(resumeFrom);
        using var loader = Loader(state?.LoaderState is { } s ? LoaderState.FromJson(s) : null);
        var summary = trainer.Run(loader, null, state, ct);
        return (steps, summary);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_loss_falls_and_the_checkpoint_is_a_loadable_nanovlm_checkpoint()
    {
        await Task.Yield();
        using var model = NewModel();
        string run = Path.Combine(_runs, "falls");
        var (steps, summary) = Train(model, Options(24, evalInterval: 12), run);
        Assert.Equal(24, summary.Steps);
        double first = steps.Take(3).Average(s => s.Loss), last = steps.TakeLast(3).Average(s => s.Loss);
        Assert.True(last < first - 1.0, $"loss did not fall: first steps {first:F3}, last steps {last:F3}");
        Assert.All(steps, s => Assert.True(double.IsFinite(s.GradNorm) && s.TokensPerSecond > 0));
        Assert.Equal(Path.Combine(run, "step_24"), summary.LastCheckpoint);
        Assert.True(Directory.Exists(Path.Combine(run, "step_12")));
        using var reloaded = Checkpoint.Load(summary.LastCheckpoint!, model.ImageTokenId);
        var (a, _) = Checkpoint.FileTensors(model);
        var (b, _) = Checkpoint.FileTensors(reloaded);
        Assert.All(a.Keys, k => Assert.True(a[k].equal(b[k]).all().item<bool>(), k));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_resumed_run_equals_the_uninterrupted_run()
    {
        await Task.Yield();
        using var straight = NewModel();
        var (full, _) = Train(straight, Options(6, evalInterval: 3), Path.Combine(_runs, "straight"));

        using var resumed = Checkpoint.Load(Path.Combine(_runs, "straight", "step_3"), straight.ImageTokenId);
        var (rest, summary) = Train(resumed, Options(6, evalInterval: 3), Path.Combine(_runs, "straight-resumed"),
            resumeFrom: Path.Combine(_runs, "straight", "step_3"));
        Assert.Equal(6, summary.Steps);
        Assert.Equal(full.Skip(3).Select(s => s.Step), rest.Select(s => s.Step));
        Assert.Equal(full.Skip(3).Select(s => s.Loss), rest.Select(s => s.Loss));
        Assert.Equal(full.Skip(3).Select(s => s.GradNorm), rest.Select(s => s.GradNorm));
        var (a, _) = Checkpoint.FileTensors(straight);
        var (b, _) = Checkpoint.FileTensors(resumed);
        Assert.All(a.Keys, k => Assert.True(a[k].equal(b[k]).all().item<bool>(), k));
    }

    [Fact(Timeout = 300_000)]
    public async Task Cancellation_stops_after_the_step_with_a_checkpoint()
    {
        await Task.Yield();
        using var model = NewModel();
        using var cts = new CancellationTokenSource();
        string run = Path.Combine(_runs, "cancel");
        var (steps, summary) = Train(model, Options(50), run, ct: cts.Token,
            setup: t => t.StepCompleted += m => { if (m.Step == 2) cts.Cancel(); });
        Assert.True(summary.Interrupted);
        Assert.Equal(2, summary.Steps);
        Assert.Equal(2, steps.Count);
        Assert.Equal(2, TrainerState.Read(Path.Combine(run, "step_2")).GlobalStep);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_failed_save_leaves_the_previous_checkpoint_intact()
    {
        await Task.Yield();
        using var model = NewModel();
        string run = Path.Combine(_runs, "failsave");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "step_4.tmp"), "in the way"); // the save of step 4 cannot create its folder
        var e = Assert.ThrowsAny<IOException>(() => Train(model, Options(4, evalInterval: 2), run));
        Assert.StartsWith($"Checkpoint {Path.Combine(run, "step_4")} could not be written: ", e.Message);
        using var intact = Checkpoint.Load(Path.Combine(run, "step_2"), model.ImageTokenId);
        Assert.Equal(2, TrainerState.Read(Path.Combine(run, "step_2")).GlobalStep);
        Assert.False(Directory.Exists(Path.Combine(run, "step_4")));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_checkpoint_saved_again_replaces_the_folder_and_leaves_no_temporary_one()
    {
        await Task.Yield();
        using var model = NewModel();
        string run = Path.Combine(_runs, "resave");
        Train(model, Options(2, evalInterval: 1), run);
        string step2 = Path.Combine(run, "step_2");
        File.WriteAllText(Path.Combine(step2, "stale.txt"), "from before");
        // Resumed at its last step, the run has nothing left to train and writes step_2 once more.
        var (steps, summary) = Train(model, Options(2, evalInterval: 1), run, resumeFrom: step2);
        Assert.Empty(steps);
        Assert.Equal(step2, summary.LastCheckpoint);
        Assert.False(File.Exists(Path.Combine(step2, "stale.txt")), "the old folder was not replaced");
        Assert.Equal(2, TrainerState.Read(step2).GlobalStep);
        using var reloaded = Checkpoint.Load(step2, model.ImageTokenId);
        Assert.Equal(["step_1", "step_2"], Directory.GetDirectories(run).Select(Path.GetFileName).Order());
    }

    [Fact(Timeout = 300_000)]
    public async Task A_diverging_run_stops_naming_the_step_and_rows()
    {
        await Task.Yield();
        using var model = NewModel();
        var options = Options(20) with { LearningRates = new GroupLearningRates(1e12, 1e12, 1e12), MaxGradNorm = 1e30 };
        var e = Assert.Throws<NonFiniteLossException>(() => Train(model, options, Path.Combine(_runs, "nan")));
        Assert.Contains("optimizer step", e.Message);
        Assert.Contains("rows", e.Message);
        Assert.True(e.Step >= 2);
    }

    [Fact]
    public void Resuming_from_a_damaged_checkpoint_is_a_clear_error()
    {
        using var model = NewModel();
        string run = Path.Combine(_runs, "damaged");
        Train(model, Options(2, evalInterval: 1), run);
        string step = Path.Combine(run, "step_1");
        var bytes = File.ReadAllBytes(Path.Combine(step, TrainerState.OptimizerFileName));
        File.WriteAllBytes(Path.Combine(step, TrainerState.OptimizerFileName), bytes[..(bytes.Length / 2)]);
        using var trainer = new Trainer(model, Options(2), run);
        var e = Assert.Throws<InvalidDataException>(() => trainer.Restore(step));
        Assert.Contains("damaged optimizer state", e.Message);

        File.Delete(Path.Combine(step, TrainerState.FileName));
        e = Assert.Throws<InvalidDataException>(() => trainer.Restore(step));
        Assert.Contains("trainer_state.json is missing", e.Message);

        var weights = Path.Combine(step, Checkpoint.WeightsFile);
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..1000]);
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(step, model.ImageTokenId).Dispose());
        Assert.Contains("truncated", e.Message);
    }
}

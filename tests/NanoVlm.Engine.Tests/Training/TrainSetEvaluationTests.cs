using System.Text;
using System.Text.Json;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Training;

/// <summary>Loss and perplexity per data source over the training set, after each epoch.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class TrainSetEvaluationTests : IDisposable
{
    private readonly string _a = Directory.CreateTempSubdirectory("nanovlm-tse-a-").FullName;
    private readonly string _b = Directory.CreateTempSubdirectory("nanovlm-tse-b-").FullName;
    private readonly string _runs = Directory.CreateTempSubdirectory("nanovlm-tse-runs-").FullName;

    public TrainSetEvaluationTests()
    {
        SampleDataWriter.Write(_a, new SampleDataOptions { Rows = 60 });
        SampleDataWriter.Write(_b, new SampleDataOptions { Rows = 16, Seed = 5 });
    }

    public void Dispose()
    {
        foreach (var d in new[] { _a, _b, _runs }) Directory.Delete(d, recursive: true);
    }

    private static DataLoaderOptions OneEpoch => TrainingPresets.LoaderFor(LoraTests.Config(), batchSize: 2) with { Workers = 1, Epochs = 1 };

    // The token-weighted mean of nanoVLM's batch loss over one source read alone: what the source's share of a
    // mixture pass must come to (document attention makes each sample's loss independent of its pack neighbours).
    private static (double Loss, long Tokens) AloneLoss(VisionLanguageModel model, string path)
    {
        using var source = RowSources.Open(path);
        using var loader = new DataLoader(source, OneEpoch);
        double sum = 0;
        long tokens = 0;
        model.eval();
        using var noGrad = no_grad();
        foreach (var batch in loader)
            using (batch)
            using (NewDisposeScope())
            {
                if (batch.Packs.All(p => p.TileCount == 0)) continue;
                using var inputs = PackBatch.From(batch.Packs, model.Device);
                long n = inputs.Labels.ne(-100).sum().item<long>();
                sum += model.Loss(model.Forward(inputs, AttentionMode.Document), inputs.Labels).item<float>() * (double)n;
                tokens += n;
            }
        return (sum / tokens, tokens);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_mixture_pass_gives_each_source_the_loss_of_its_own_tokens()
    {
        await Task.Yield();
        using var model = LoraTests.NewModel();
        var sources = new List<MixtureSource> { new(RowSources.Open(_a), 3), new(RowSources.Open(_b), 1) };
        TrainSetEvaluation result;
        using (var loader = new DataLoader(sources, OneEpoch))
            result = PerSourceLoss.Run(model, loader, ["a", "b"], step: 7, epoch: 2);
        foreach (var s in sources) s.Source.Dispose();

        Assert.Equal(["a", "b"], result.Sources.Select(s => s.Source));
        Assert.Equal((7L, 2), (result.Step, result.Epoch));
        var a = AloneLoss(model, _a);
        var b = AloneLoss(model, _b);
        Assert.Equal(a.Tokens, result.Sources[0].Tokens);
        Assert.Equal(b.Tokens, result.Sources[1].Tokens);
        Assert.Equal(a.Loss, result.Sources[0].Loss, 1e-4);
        Assert.Equal(b.Loss, result.Sources[1].Loss, 1e-4);
        Assert.NotEqual(result.Sources[0].Loss, result.Sources[1].Loss);
        Assert.Equal(Math.Exp(result.Sources[0].Loss), result.Sources[0].Perplexity, 1e-9);

        using var capped = new DataLoader(RowSources.Open(_a), OneEpoch);
        Assert.Equal(1, PerSourceLoss.Run(model, capped, null, maxBatches: 1).Batches);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_trainer_evaluates_the_training_set_after_each_epoch_and_logs_it_per_source()
    {
        await Task.Yield();
        using var model = LoraTests.NewModel();
        string run = Path.Combine(_runs, "epochs");
        var options = new TrainOptions
        {
            LearningRates = new GroupLearningRates(3e-3, 1e-3, 3e-3), GradientAccumulationSteps = 1, MaxTrainingSteps = 8, EvalInterval = 0,
        };
        var evaluations = new List<TrainSetEvaluation>();
        var stepsSeen = new List<long>();
        using (var trainer = new Trainer(model, options, run))
        using (var log = new TrainingLog(run))
        {
            trainer.TrainingSet = () => Pass(_a);
            trainer.SourceNames = ["sample/a"];
            trainer.StepCompleted += m => stepsSeen.Add(m.Step);
            trainer.TrainSetEvaluated += e => { evaluations.Add(e); log.Write(e); };
            using var source = RowSources.Open(_a);
            using var loader = new DataLoader(source, TrainingPresets.LoaderFor(LoraTests.Config(), batchSize: 2) with { Workers = 1 });
            trainer.Run(loader);
        }
        Assert.True(evaluations.Count >= 2, $"{evaluations.Count} epoch evaluations in 8 steps over 60 rows");
        // Epochs count the loader's read position, which its look-ahead keeps a little ahead of the steps: increasing,
        // not always by one on data this small.
        Assert.All(evaluations.Zip(evaluations.Skip(1)), p => Assert.True(p.Second.Epoch > p.First.Epoch && p.Second.Step > p.First.Step));
        Assert.InRange(evaluations[0].Epoch, 1, 2);
        Assert.All(evaluations, e => Assert.Equal("sample/a", Assert.Single(e.Sources).Source));
        Assert.True(evaluations[^1].Sources[0].Loss < evaluations[0].Sources[0].Loss, "the training-set loss should fall between epochs");

        var rows = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.TryGetProperty("train_eval/sample_a/loss", out _)).ToList();
        Assert.Equal(evaluations.Count, rows.Count);
        Assert.Equal(evaluations[0].Sources[0].Perplexity, rows[0].GetProperty("train_eval/sample_a/perplexity").GetDouble(), 1e-9);
        Assert.Equal(evaluations[0].Step, rows[0].GetProperty("step").GetInt64());
        byte[] events = Directory.GetFiles(Path.Combine(run, "tensorboard"), "*", SearchOption.AllDirectories).SelectMany(File.ReadAllBytes).ToArray();
        Assert.True(events.AsSpan().IndexOf(Encoding.UTF8.GetBytes("train_eval/sample_a/perplexity")) >= 0);
    }

    private static IEnumerable<Batch> Pass(string path)
    {
        using var source = RowSources.Open(path);
        using var loader = new DataLoader(source, OneEpoch);
        foreach (var b in loader) yield return b;
    }
}

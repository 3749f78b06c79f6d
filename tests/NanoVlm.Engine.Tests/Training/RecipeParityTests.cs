using System.Text.Json;
using NanoVlm.Engine.Checkpoints;
using NanoVlm.Engine.Training;
using NanoVlm.Testing;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Training;

/// <summary>train.py's recipe against the committed reference run (nanoVLM's model code with train.py's optimizer,
/// schedule and clipping on torch 1.13, fp32): 20 optimizer steps from the same checkpoint over the same micro-batches
/// give the same per-step losses, pre-clip gradient norms and learning rates.</summary>
public class RecipeParityTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("ga1")]
    [InlineData("ga4")]
    [InlineData("frozen_vision")]
    public void Twenty_steps_match_nanovlms_train_loop(string variant)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("engine", "train", $"{variant}.json")));
        var root = doc.RootElement;
        int ga = root.GetProperty("gradient_accumulation_steps").GetInt32();
        long maxSteps = root.GetProperty("max_training_steps").GetInt64();
        var lrs = root.GetProperty("optimizer").GetProperty("base_lrs");
        var rates = new GroupLearningRates(
            lrs.GetProperty("MP").GetDouble(),
            lrs.TryGetProperty("vision", out var v) ? v.GetDouble() : 0,
            lrs.GetProperty("LM").GetDouble());

        var c = new Model.EngineCase("a_gqa2_s2");
        using var model = c.LoadModel();
        model.train();
        using var batches = SafeTensorsFile.Open(Fixtures.Path("engine", "train", "batches.safetensors"));
        using var visionBefore = model.VisionEncoder.parameters().First().clone();
        using var recipe = new OptimizerRecipe(model, rates, ga, root.GetProperty("max_grad_norm").GetDouble(), maxSteps);
        int micro = 0;
        foreach (var step in root.GetProperty("steps").EnumerateArray())
        {
            long index = step.GetProperty("step").GetInt64();
            foreach (var expectedLoss in step.GetProperty("micro_losses").EnumerateArray())
            {
                string mb = $"mb{micro % 20:00}";
                using var scope = NewDisposeScope();
                var ids = batches.View($"{mb}.input_ids").clone();
                var mask = batches.View($"{mb}.attention_mask").clone();
                var labels = batches.View($"{mb}.labels").clone();
                var images = batches.View($"{mb}.images_u8").to(ScalarType.Float32).div(255);
                var loss = model.Loss(model.Forward(ids, images, mask), labels);
                double got = loss.item<float>(), want = expectedLoss.GetDouble();
                Assert.True(Math.Abs(got - want) <= Tolerance * Math.Max(1, Math.Abs(want)), $"{variant} step {index} micro {micro}: loss {got} vs {want}");
                recipe.Backward(loss);
                micro++;
            }
            var result = recipe.Step(index);
            double norm = step.GetProperty("grad_norm_preclip").GetDouble();
            Assert.True(Math.Abs(result.GradNorm - norm) <= Tolerance * Math.Max(1, norm), $"{variant} step {index}: grad norm {result.GradNorm} vs {norm}");
            var expectedRates = step.GetProperty("lrs").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            Assert.Equal(expectedRates.Count, result.LearningRates.Count);
            for (int g = 0; g < recipe.GroupNames.Count; g++)
                Assert.Equal(expectedRates[recipe.GroupNames[g]], result.LearningRates[g], 12);
        }
        if (rates.Vision == 0)
            Assert.True(model.VisionEncoder.parameters().First().equal(visionBefore).all().item<bool>(), "a frozen vision encoder changed");
        c.Dispose();
    }

    [Fact]
    public void Final_weights_after_twenty_steps_match_nanovlms()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("engine", "train", "ga1.json")));
        using var c = new Model.EngineCase("a_gqa2_s2");
        using var model = c.LoadModel();
        using var batches = SafeTensorsFile.Open(Fixtures.Path("engine", "train", "batches.safetensors"));
        using var recipe = new OptimizerRecipe(model, GroupLearningRates.Nanovlm, 1, 1.0, 20);
        for (int i = 0; i < 20; i++)
        {
            using var scope = NewDisposeScope();
            string mb = $"mb{i:00}";
            var images = batches.View($"{mb}.images_u8").to(ScalarType.Float32).div(255);
            var loss = model.Loss(model.Forward(batches.View($"{mb}.input_ids").clone(), images, batches.View($"{mb}.attention_mask").clone()),
                batches.View($"{mb}.labels").clone());
            recipe.Backward(loss);
            recipe.Step(i);
        }
        using var expected = SafeTensorsFile.Open(Fixtures.Path("engine", "train", "ga1.final.safetensors"));
        var (mine, _) = Checkpoint.FileTensors(model);
        foreach (var name in expected.Tensors.Keys)
        {
            using var e = expected.View(name);
            double d = (mine[name] - e).abs().max().item<float>();
            Assert.True(d <= 1e-4, $"{name}: max |Δ| {d}");
        }
    }

    [Theory]
    [InlineData(0, 0.00512, 100, 0.00512 / 3)]          // warmup: (0+1)/3 of the peak
    [InlineData(2, 0.00512, 100, 0.00512)]
    [InlineData(100, 5e-5, 100, 5e-6)]                   // end of the cosine: the floor
    [InlineData(150, 5e-5, 100, 5e-6)]
    public void Schedule_is_train_pys_get_lr(long step, double maxLr, long maxSteps, double expected)
        => Assert.Equal(expected, LearningRateSchedule.At(step, maxLr, maxSteps), 12);
}

using NanoVlm.Engine.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Training;

/// <summary>The engine's AdamW and clipping (held scalars) against TorchSharp's own (the same torch math), and the
/// optimizer state file: frozen parameters get none, a round trip continues exactly, a damaged or foreign file is a
/// clear error. Parity with torch 1.13 itself is RecipeParityTests.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class AdamWOptimizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-adamw-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Parameter[] NewParameters(int seed)
    {
        manual_seed(seed);
        return [new Parameter(randn(7, 5)), new Parameter(randn(5)), new Parameter(randn(3, 2))];
    }

    // A made-up loss whose gradients differ per step.
    private static void Backward(IEnumerable<Parameter> ps, int step)
    {
        using var scope = NewDisposeScope();
        var loss = ps.Select((p, i) => p.pow(2).sum().mul((step + 1) * (i + 1)).add(p.sin().sum())).Aggregate((a, b) => a.add(b));
        loss.backward();
    }

    [Fact]
    public void Ten_steps_with_two_groups_and_clipping_equal_torchsharps_adamw()
    {
        var mine = NewParameters(1);
        var theirs = NewParameters(1);
        using var opt = new AdamWOptimizer([new AdamWGroup("a", mine[..2]) { LearningRate = 1e-2 }, new AdamWGroup("b", mine[2..]) { LearningRate = 3e-3 }]);
        using var reference = optim.AdamW([new AdamW.ParamGroup(theirs[..2], 1e-2, 0.9, 0.999, 1e-8, 0.01, false, false),
            new AdamW.ParamGroup(theirs[2..], 3e-3, 0.9, 0.999, 1e-8, 0.01, false, false)], lr: 1e-2, weight_decay: 0.01);
        for (int step = 0; step < 10; step++)
        {
            Backward(mine, step);
            Backward(theirs, step);
            double norm = GradientClipping.ClipGradNorm(mine, 5.0), expected = nn.utils.clip_grad_norm_(theirs, 5.0);
            Assert.Equal(expected, norm, 4);
            Assert.True(norm > 5.0, "clipping never engaged"); // the test's loss makes the norm large
            opt.Step();
            reference.step();
            opt.ZeroGrad();
            reference.zero_grad();
            for (int i = 0; i < mine.Length; i++)
                Assert.True(mine[i].allclose(theirs[i], rtol: 1e-5, atol: 1e-6), $"step {step} parameter {i}: max |Δ| {(mine[i] - theirs[i]).abs().max().item<float>()}");
        }
        Assert.Equal(10, opt.StepsOf(mine[0]));
    }

    [Fact]
    public void A_parameter_without_gradients_gets_no_state_and_a_saved_state_continues_exactly()
    {
        var ps = NewParameters(2);
        var frozen = new Parameter(randn(4), requires_grad: false);
        using var opt = new AdamWOptimizer([new AdamWGroup("a", ps) { LearningRate = 1e-2 }, new AdamWGroup("frozen", [frozen]) { LearningRate = 0 }]);
        for (int step = 0; step < 3; step++) { Backward(ps, step); opt.Step(); opt.ZeroGrad(); }
        Assert.Equal(0, opt.StepsOf(frozen));
        string path = Path.Combine(_dir, "optimizer.safetensors");
        opt.Save(path);
        using (var file = NanoVlm.Engine.Checkpoints.SafeTensorsFile.Open(path))
        {
            Assert.Equal(6, file.Tensors.Count);
            Assert.DoesNotContain(file.Tensors.Keys, k => k.StartsWith("frozen.", StringComparison.Ordinal));
        }

        // A second optimizer on copies of the parameters, loaded from the file, takes the same next steps.
        var copies = ps.Select(p => new Parameter(p.detach().clone())).ToArray();
        using var resumed = new AdamWOptimizer([new AdamWGroup("a", copies) { LearningRate = 1e-2 }, new AdamWGroup("frozen", [new Parameter(frozen.detach().clone(), requires_grad: false)]) { LearningRate = 0 }]);
        resumed.Load(path);
        Assert.Equal(3, resumed.StepsOf(copies[1]));
        for (int step = 3; step < 6; step++)
        {
            Backward(ps, step);
            Backward(copies, step);
            opt.Step();
            resumed.Step();
            opt.ZeroGrad();
            resumed.ZeroGrad();
        }
        for (int i = 0; i < ps.Length; i++) Assert.True(ps[i].equal(copies[i]).all().item<bool>(), $"parameter {i} differs after the resumed steps");
    }

    [Fact]
    public void A_damaged_or_foreign_state_file_is_a_clear_error()
    {
        var ps = NewParameters(3);
        using var opt = new AdamWOptimizer([new AdamWGroup("a", ps) { LearningRate = 1e-2 }]);
        Backward(ps, 0);
        opt.Step();
        string path = Path.Combine(_dir, "optimizer.safetensors");
        opt.Save(path);

        using var otherGroups = new AdamWOptimizer([new AdamWGroup("b", ps) { LearningRate = 1e-2 }]);
        var e = Assert.Throws<InvalidDataException>(() => otherGroups.Load(path));
        Assert.Contains("optimizer state of the groups a, but this run trains b", e.Message);

        var bigger = new Parameter(randn(7, 6));
        using var otherShapes = new AdamWOptimizer([new AdamWGroup("a", [bigger, ps[1], ps[2]]) { LearningRate = 1e-2 }]);
        e = Assert.Throws<InvalidDataException>(() => otherShapes.Load(path));
        Assert.Contains("'a.0.exp_avg' has shape [7, 5], the parameter [7, 6]", e.Message);

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        e = Assert.Throws<InvalidDataException>(() => opt.Load(path));
        Assert.Contains("truncated", e.Message);
        Assert.Equal(1, opt.StepsOf(ps[0])); // a failed load keeps the state it had
    }
}

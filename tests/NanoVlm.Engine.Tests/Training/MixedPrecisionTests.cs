using NanoVlm.Engine.Modules;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Configuration;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.SampleData;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Training;

/// <summary>The precision setting, the autocast region's rules, masked rows and LoRA under bf16, and the trainer in
/// bf16 mode on loader batches.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class MixedPrecisionTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("nanovlm-bf16-data-").FullName;
    private readonly string _runs = Directory.CreateTempSubdirectory("nanovlm-bf16-runs-").FullName;

    public MixedPrecisionTests() => SampleDataWriter.Write(_data, new SampleDataOptions { Rows = 12 });

    public void Dispose()
    {
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_runs, recursive: true);
    }

    [Fact]
    public void Auto_is_bf16_on_cuda_and_float32_on_the_cpu()
    {
        Assert.Null(TrainingPrecision.Auto.ComputeDtype(CPU));
        Assert.Equal(ScalarType.BFloat16, TrainingPrecision.Auto.ComputeDtype(new Device(DeviceType.CUDA, 0)));
        Assert.Equal(ScalarType.BFloat16, TrainingPrecision.BFloat16.ComputeDtype(CPU));
        Assert.Null(TrainingPrecision.Float32.ComputeDtype(new Device(DeviceType.CUDA, 0)));
        Assert.Equal(TrainingPrecision.BFloat16, TrainingPrecisions.Parse("BF16"));
        Assert.Null(TrainingPrecisions.Parse("fp16"));
        Assert.Equal(["auto", "fp32", "bf16"], TrainingPrecisions.Names.Select(n => TrainingPrecisions.Parse(n)!.Value.Name()));
    }

    [Fact]
    public void The_configuration_key_sets_the_precision_and_a_bad_value_is_named()
    {
        Assert.Equal(TrainingPrecision.BFloat16, new TrainOptions().With(NanovlmConfig.Parse("""{"precision": "bf16"}""", "p.json")).Precision);
        Assert.Equal(TrainingPrecision.Auto, new TrainOptions().With(NanovlmConfig.Parse("{}", "e.json")).Precision);
        var e = Assert.Throws<InvalidDataException>(() => new TrainOptions().With(NanovlmConfig.Parse("""{"precision": "half"}""", "bad.json")));
        Assert.Contains("bad.json", e.Message);
        Assert.Contains("'precision'", e.Message);
        Assert.Contains("\"half\"", e.Message);
        Assert.Throws<ArgumentException>(() => new TrainOptions { Precision = (TrainingPrecision)7 }.Validate());
    }

    [Fact]
    public void Regions_nest_and_close_and_only_lower_to_16_bit_types()
    {
        Assert.Null(Autocast.Dtype);
        using (Autocast.Enable(ScalarType.BFloat16))
        {
            Assert.Equal(ScalarType.BFloat16, Autocast.Dtype);
            using (Autocast.Enable(null)) Assert.Null(Autocast.Dtype);
            Assert.Equal(ScalarType.BFloat16, Autocast.Dtype);
        }
        Assert.Null(Autocast.Dtype);
        Assert.Throws<ArgumentException>(() => Autocast.Enable(ScalarType.Float64));
    }

    [Fact]
    public void Fully_masked_left_padding_rows_stay_finite_in_bf16()
    {
        // Row 1 has three left pads: its first three queries see only padding keys (and causal −∞ beyond).
        using var scope = NewDisposeScope();
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1 }, [2, 6]);
        using var bias = AttentionBias.Nanovlm(mask, 6, 6, ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bias.Mask!.dtype);
        Assert.True(bias.Mask.to(ScalarType.Float32).amax([-1]).isfinite().all().item<bool>(), "a query row with no finite entry");
        // What nanoVLM's mask does under CUDA autocast: finfo(float32).min rounds to −∞ in bf16, so those rows are all −∞.
        using var float32Bias = AttentionBias.Nanovlm(mask, 6, 6, ScalarType.Float32);
        Assert.False(float32Bias.Mask!.to(ScalarType.BFloat16).to(ScalarType.Float32).amax([-1]).isfinite().all().item<bool>());

        manual_seed(3);
        using var model = new VisionLanguageModel(TrainerTests.Config(), VlmTokenizer.LoadDefault().ImageTokenId);
        var ids = randint(10, 100, [2, 6]);
        using (Autocast.Enable(ScalarType.BFloat16))
        {
            var hidden = model.Forward(ids, null, mask);
            Assert.True(hidden.isfinite().all().item<bool>(), "non-finite hidden states in the padding rows");
        }
    }

    [Fact]
    public void A_lora_adapter_follows_the_region_and_its_gradients_stay_float32()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var adapter = new LoraLinear(8, 4, rank: 2, alpha: 4, dropout: 0);
        using (no_grad()) adapter.B.normal_();
        var x = randn(3, 8);
        Tensor delta;
        using (Autocast.Enable(ScalarType.BFloat16)) delta = adapter.Delta(x, training: true);
        Assert.Equal(ScalarType.BFloat16, delta.dtype);
        var exact = adapter.Delta(x, training: true);
        Assert.Equal(ScalarType.Float32, exact.dtype);
        Assert.False(delta.to(ScalarType.Float32).equal(exact).all().item<bool>());
        Assert.True(delta.to(ScalarType.Float32).allclose(exact, rtol: 2e-2, atol: 2e-2));
        delta.to(ScalarType.Float32).sum().backward();
        Assert.Equal(ScalarType.Float32, adapter.A.grad!.dtype);
        Assert.Equal(ScalarType.Float32, adapter.B.grad!.dtype);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_trainer_in_bf16_mode_trains_float32_weights_and_differs_from_float32_mode()
    {
        await Task.Yield();
        var bf16 = Train(TrainingPrecision.BFloat16, out var bf16Dtype, out var bf16Params);
        var fp32 = Train(TrainingPrecision.Auto, out var autoDtype, out _);
        Assert.Equal(ScalarType.BFloat16, bf16Dtype);
        Assert.Null(autoDtype); // auto on the CPU: float32
        Assert.All(bf16Params, d => Assert.Equal(ScalarType.Float32, d));
        Assert.All(bf16, l => Assert.True(double.IsFinite(l)));
        Assert.Equal(fp32.Count, bf16.Count);
        // Same start, same batches: the losses agree to bf16 rounding but are not the float32 ones.
        for (int i = 0; i < bf16.Count; i++) Assert.True(Math.Abs(bf16[i] - fp32[i]) < 0.05 * fp32[i], $"step {i}: {bf16[i]} vs {fp32[i]}");
        Assert.NotEqual(fp32, bf16);
    }

    private List<double> Train(TrainingPrecision precision, out ScalarType? dtype, out List<ScalarType> parameterTypes)
    {
        manual_seed(0);
        using var model = new VisionLanguageModel(TrainerTests.Config(), VlmTokenizer.LoadDefault().ImageTokenId);
        var options = new TrainOptions
        {
            LearningRates = new GroupLearningRates(3e-3, 1e-3, 3e-3), GradientAccumulationSteps = 1, MaxTrainingSteps = 3,
            EvalInterval = 0, ValidationBatches = 1, Precision = precision,
        };
        using var trainer = new Trainer(model, options, Path.Combine(_runs, precision.Name()));
        var losses = new List<double>();
        trainer.StepCompleted += m => losses.Add(m.Loss);
        using var loader = new DataLoader(RowSources.Open(_data), TrainingPresets.LoaderFor(TrainerTests.Config(), batchSize: 1) with { Workers = 1 });
        trainer.Run(loader);
        dtype = trainer.ComputeDtype;
        parameterTypes = [.. model.parameters().Select(p => p.dtype)];
        return losses;
    }
}

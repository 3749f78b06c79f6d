using NanoVlm.Engine.Distributed;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Text;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>The bucketed gradient all-reduce in one process, against a communicator that plays the other ranks.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class GradientReducerTests
{
    /// <summary>N ranks that all hold this rank's values: a sum is N times them.</summary>
    private sealed class MirrorRanks(int size) : ICommunicator
    {
        public int Calls { get; private set; }
        public List<int> Lengths { get; } = [];
        public int Rank => 0;
        public int Size => size;
        public void AllReduce(Span<float> values, ReduceOperation operation)
        {
            Calls++;
            Lengths.Add(values.Length);
            if (operation == ReduceOperation.Sum) foreach (ref var v in values) v *= size;
        }
        public void AllReduce(Span<double> values, ReduceOperation operation)
        {
            Calls++;
            if (operation == ReduceOperation.Sum) foreach (ref var v in values) v *= size;
        }
        public void Broadcast(Span<byte> bytes, int root) { }
        public void Abort(int exitCode) => throw new InvalidOperationException();
        public void Dispose() { }
    }

    /// <summary>The one-block model both reducers' tests share (seeded).</summary>
    internal static VisionLanguageModel Model()
    {
        var tok = VlmTokenizer.LoadDefault();
        manual_seed(0);
        return new VisionLanguageModel(new VlmConfig
        {
            VitHiddenDim = 16, VitInterDim = 32, VitPatchSize = 8, VitImgSize = 16, VitNHeads = 2, VitNBlocks = 1,
            LmHiddenDim = 16, LmInterDim = 32, LmNHeads = 2, LmNKvHeads = 1, LmNBlocks = 1, LmVocabSize = tok.VocabularySize,
            MpPixelShuffleFactor = 2, MpImageTokenLength = 1, LmMaxLength = 64, MaxImgSize = 32,
        }, tok.ImageTokenId);
    }

    private static List<float[]> Gradients(IEnumerable<TorchSharp.Modules.Parameter> ps)
        => [.. ps.Select(p => p.grad!.data<float>().ToArray())];

    [Theory]
    [InlineData(GradientObjective.MicroBatchMean, 1000, 1.0)]      // summed over 4 equal ranks, divided by 4
    [InlineData(GradientObjective.GlobalTokenMean, 1000, 0.04)]    // summed over 4 ranks of 25 tokens each: × 4 / 100
    public void Gradients_come_back_summed_and_divided_across_buckets_that_split_parameters(GradientObjective objective, int bucket, double factor)
    {
        using var model = Model();
        using var recipe = new OptimizerRecipe(model, new GroupLearningRates(1e-3, 1e-3, 1e-3));
        foreach (var p in recipe.Parameters) p.grad = randn_like(p);
        var before = Gradients(recipe.Parameters);
        var ranks = new MirrorRanks(4);
        var reducer = new GradientReducer(ranks, recipe.Parameters, objective, bucket);

        var r = reducer.Reduce(localTokens: 25);

        long elements = recipe.Parameters.Sum(p => p.numel());
        Assert.Equal(elements, reducer.Elements);
        Assert.Equal((int)((elements + bucket - 1) / bucket), reducer.Buckets);
        Assert.All(ranks.Lengths.SkipLast(1), n => Assert.Equal(bucket, n)); // full buckets: parameters span them
        Assert.Equal(elements * sizeof(float) + (objective == GradientObjective.GlobalTokenMean ? sizeof(double) : 0), r.Bytes);
        Assert.Equal(objective == GradientObjective.GlobalTokenMean ? 100 : 4, r.Divisor);
        var after = Gradients(recipe.Parameters);
        for (int i = 0; i < before.Count; i++)
            for (int k = 0; k < before[i].Length; k++)
                Assert.Equal(before[i][k] * factor, after[i][k], 1e-6);
    }

    [Fact]
    public void The_tied_head_is_reduced_once_and_a_parameter_without_gradient_gets_zeros()
    {
        using var model = Model();
        Assert.True(model.Config.LmTieWeights);
        using var recipe = new OptimizerRecipe(model, new GroupLearningRates(1e-3, 1e-3, 1e-3));
        long all = model.parameters().Sum(p => p.numel());
        long head = model.named_parameters().Single(p => p.name == "decoder.head.weight").parameter.numel();
        var reducer = new GradientReducer(new MirrorRanks(2), recipe.Parameters, GradientObjective.MicroBatchMean);
        Assert.Equal(all - head, reducer.Elements);

        foreach (var p in recipe.Parameters) p.grad = null;
        reducer.Reduce(0);
        Assert.All(recipe.Parameters, p => Assert.Equal(0f, p.grad!.abs().max().item<float>()));
    }

    [Fact]
    public void Gathers_and_agreement_work_in_one_process()
    {
        var parallel = new DataParallel(new SingleProcessCommunicator());
        Assert.Equal(["x"], parallel.Gather("x"));
        Assert.True(parallel.All(true));
        Assert.False(parallel.Any(false));
        using var model = Model();
        string digest = RunAgreement.WeightsDigest(model);
        RunAgreement.Verify(parallel, [new("weights", digest)]);
        using (no_grad()) model.parameters().First().add_(1);
        Assert.NotEqual(digest, RunAgreement.WeightsDigest(model));
    }

    [Theory]
    [InlineData(1, 0, 1, "single")]
    [InlineData(2, 1, 2, "r1")]
    [InlineData(2, 0, 4, null)]
    [InlineData(2, 0, 1, null)]
    public void A_checkpoint_gives_each_rank_its_loader_state_only_for_the_same_world_size(int written, int rank, int world, string? expected)
    {
        var state = written == 1
            ? new TrainerState { LoaderState = "single" }
            : new TrainerState { WorldSize = 2, LoaderState = "r0", RankLoaderStates = ["r0", "r1"] };
        Assert.Equal(expected, state.LoaderStateOf(rank, world));
    }
}

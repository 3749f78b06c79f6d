using NanoVlm.Engine.Distributed;
using NanoVlm.Engine.Training;
using NanoVlm.Loader.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>The device bucket path, run on the CPU with the host communicator as its collective, against the host
/// reducer: the same buckets, the same sums, the same division, bit for bit.</summary>
[Collection(TorchRandomCollection.Name)]
public sealed class DeviceGradientReducerTests
{
    /// <summary>Plays N ranks whose sum depends on each value's position in the all-reduced span (so two reducers
    /// agree only when they lay out the same buckets) and records what it was given.</summary>
    private sealed class PositionalRanks(int size) : ICommunicator
    {
        public List<int> Lengths { get; } = [];
        public int Rank => 0;
        public int Size => size;
        public void AllReduce(Span<float> values, ReduceOperation operation)
        {
            Lengths.Add(values.Length);
            for (int k = 0; k < values.Length; k++) values[k] = values[k] * size + (k % 7) * 0.25f;
        }
        public void AllReduce(Span<double> values, ReduceOperation operation)
        {
            for (int k = 0; k < values.Length; k++) values[k] = values[k] * size + 3; // 4 ranks of 25 tokens + 3
        }
        public void Broadcast(Span<byte> bytes, int root) { }
        public void Abort(int exitCode) => throw new InvalidOperationException();
        public void Dispose() { }
    }

    private static VisionLanguageModel Model() => GradientReducerTests.Model();

    // Random gradients; the first parameter has none (zeros take its place), the first matrix a non-contiguous one.
    private static void SetGradients(IReadOnlyList<TorchSharp.Modules.Parameter> ps, int matrix)
    {
        manual_seed(7);
        for (int i = 0; i < ps.Count; i++)
            ps[i].grad = i == 0 ? null : i == matrix ? randn(ps[i].shape.Reverse().ToArray()).t() : randn_like(ps[i]);
    }

    private static List<float[]> Gradients(IEnumerable<TorchSharp.Modules.Parameter> ps)
        => [.. ps.Select(p => p.grad!.contiguous().data<float>().ToArray())];

    [Theory]
    [InlineData(GradientObjective.MicroBatchMean, 1000)]
    [InlineData(GradientObjective.GlobalTokenMean, 1000)]
    [InlineData(GradientObjective.MicroBatchMean, 333)]
    [InlineData(GradientObjective.GlobalTokenMean, GradientReducer.DefaultBucketElements)]
    public void The_device_buckets_give_the_host_reducers_gradients_bit_for_bit(GradientObjective objective, int bucket)
    {
        using var model = Model();
        using var recipe = new OptimizerRecipe(model, new GroupLearningRates(1e-3, 1e-3, 1e-3));
        var ps = recipe.Parameters;
        int matrix = Enumerable.Range(1, ps.Count - 1).First(i => ps[i].dim() == 2 && ps[i].shape[0] != ps[i].shape[1]);

        SetGradients(ps, matrix);
        Assert.False(ps[matrix].grad!.is_contiguous());
        var hostRanks = new PositionalRanks(4);
        var host = new GradientReducer(hostRanks, ps, objective, bucket);
        var expected = host.Reduce(localTokens: 25);
        var hostGradients = Gradients(ps);

        SetGradients(ps, matrix);
        var deviceRanks = new PositionalRanks(4);
        using var device = new DeviceGradientReducer(new HostTensorCollective(deviceRanks), deviceRanks, ps, objective, bucket);
        var actual = device.Reduce(localTokens: 25);
        var deviceGradients = Gradients(ps);

        Assert.Equal(host.Elements, device.Elements);
        Assert.Equal(host.Buckets, device.Buckets);
        Assert.Equal(hostRanks.Lengths, deviceRanks.Lengths);
        Assert.Equal(expected.Bytes, actual.Bytes);
        Assert.Equal(expected.Divisor, actual.Divisor);
        Assert.Equal(objective == GradientObjective.GlobalTokenMean ? 103 : 4, actual.Divisor);
        for (int i = 0; i < hostGradients.Count; i++)
        {
            Assert.Equal(hostGradients[i].Length, deviceGradients[i].Length);
            for (int k = 0; k < hostGradients[i].Length; k++)
                Assert.Equal(BitConverter.SingleToInt32Bits(hostGradients[i][k]), BitConverter.SingleToInt32Bits(deviceGradients[i][k]));
        }
        Assert.Contains(hostGradients.SelectMany(g => g), v => v != 0); // something was reduced
        Assert.Equal(ps[matrix].shape, ps[matrix].grad!.shape);
    }

    [Fact]
    public void The_data_pointer_of_a_view_is_its_first_element_and_writes_reach_the_tensor()
    {
        using var whole = arange(20, ScalarType.Float32);
        using var view = whole.narrow(0, 5, 10);
        var values = HostTensorCollective.Values(view);
        Assert.Equal(10, values.Length);
        Assert.Equal(5f, values[0]);
        Assert.Equal(14f, values[9]);
        values[0] = -1;
        Assert.Equal(-1f, whole[5].item<float>());
        Assert.Equal(HostTensorCollective.DataPointer(whole) + 5 * sizeof(float), HostTensorCollective.DataPointer(view));
        using var strided = whole.view(4, 5).t();
        Assert.Throws<ArgumentException>(() => HostTensorCollective.Values(strided));
        using var ints = arange(3, ScalarType.Int64);
        Assert.Throws<ArgumentException>(() => HostTensorCollective.Values(ints));
    }

    [Fact]
    public void DataParallel_keeps_cpu_parameters_on_the_host_reducer()
    {
        using var model = Model();
        using var recipe = new OptimizerRecipe(model, new GroupLearningRates(1e-3, 1e-3, 1e-3));
        var parallel = new DataParallel(new SingleProcessCommunicator())
        {
            DeviceCollectiveFactory = (_, _) => throw new InvalidOperationException("CPU parameters must not ask for a device collective"),
        };
        var reducer = parallel.CreateReducer(recipe.Parameters);
        Assert.IsType<GradientReducer>(reducer);
        Assert.Contains("host copies", reducer.Collective);
    }

    [Fact]
    public void A_collective_of_other_ranks_is_refused()
    {
        using var model = Model();
        using var recipe = new OptimizerRecipe(model, new GroupLearningRates(1e-3, 1e-3, 1e-3));
        var e = Assert.Throws<ArgumentException>(() =>
            new DeviceGradientReducer(new HostTensorCollective(new SingleProcessCommunicator()), new PositionalRanks(2), recipe.Parameters, GradientObjective.MicroBatchMean));
        Assert.Contains("rank 0 of 1", e.Message);
        Assert.Contains("rank 0 of 2", e.Message);
    }
}

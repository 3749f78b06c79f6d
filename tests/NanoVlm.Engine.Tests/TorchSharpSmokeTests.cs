using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests;

/// <summary>TorchSharp loads in this process and computes what we expect.</summary>
public class TorchSharpSmokeTests
{
    [Fact]
    public void Tensor_arithmetic_runs_on_the_native_backend()
    {
        using Tensor a = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using Tensor b = a.matmul(a.t());          // [[0,1,2],[3,4,5]] · its transpose
        Assert.Equal(new long[] { 2, 2 }, b.shape);
        Assert.Equal(new float[] { 5, 14, 14, 50 }, b.data<float>().ToArray());
    }

    [Fact]
    public void Linear_plus_mse_backward_matches_hand_computed_gradients()
    {
        using var linear = nn.Linear(2, 1);
        using (torch.no_grad())
        {
            linear.weight!.copy_(torch.tensor(new float[] { 0.5f, -1.0f }).reshape(1, 2));
            linear.bias!.copy_(torch.tensor(new float[] { 0.25f }));
        }
        using Tensor x = torch.tensor(new float[] { 1, 2, 3, -1 }).reshape(2, 2);
        using Tensor y = torch.tensor(new float[] { 0, 1 }).reshape(2, 1);

        using Tensor pred = linear.forward(x);
        using Tensor loss = nn.functional.mse_loss(pred, y);
        loss.backward();

        // pred = x·wᵀ + b = [-1.25, 2.75]; residual r = [-1.25, 1.75]; loss = mean(r²) = 2.3125
        Assert.Equal(new float[] { -1.25f, 2.75f }, pred.data<float>().ToArray());
        Assert.Equal(2.3125f, loss.item<float>());
        // dL/dpred = 2r/N = r; dL/dw = Σ rᵢ xᵢ = [4, -4.25]; dL/db = Σ rᵢ = 0.5 (all exact in float32)
        Assert.Equal(new float[] { 4.0f, -4.25f }, linear.weight!.grad!.data<float>().ToArray());
        Assert.Equal(new float[] { 0.5f }, linear.bias!.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Frombuffer_aliases_a_pinned_array_both_ways()
    {
        float[] data = GC.AllocateUninitializedArray<float>(8, pinned: true);
        Array.Clear(data);
        using Tensor t = torch.frombuffer(data, ScalarType.Float32);
        Assert.Equal(new long[] { 8 }, t.shape);

        // array → tensor
        data[3] = 42.5f;
        Assert.Equal(42.5f, t[3].item<float>());

        // tensor → array (in place ops write the same memory)
        t.add_(1.0f);
        Assert.Equal(43.5f, data[3]);
        Assert.Equal(1.0f, data[0]);
        t[7] = torch.tensor(-3.0f);
        Assert.Equal(-3.0f, data[7]);
    }

    [Fact]
    public void Frombuffer_count_and_offset_are_in_elements()
    {
        long[] data = GC.AllocateUninitializedArray<long>(10, pinned: true);
        for (int i = 0; i < data.Length; i++) data[i] = i * 10;
        using Tensor t = torch.frombuffer(data, ScalarType.Int64, count: 4, offset: 3);
        Assert.Equal(new long[] { 30, 40, 50, 60 }, t.data<long>().ToArray());
        t.mul_(2);
        Assert.Equal(new long[] { 0, 10, 20, 60, 80, 100, 120, 70, 80, 90 }, data);
    }
}

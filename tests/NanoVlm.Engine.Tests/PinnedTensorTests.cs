using NanoVlm.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests;

public class PinnedTensorTests
{
    private sealed class Lease : IDisposable
    {
        public int Disposed;
        public void Dispose() => Disposed++;
    }

    [Fact]
    public void Allocate_gives_a_tensor_of_the_shape_over_its_span()
    {
        using var p = PinnedTensor<float>.Allocate(2, 3, 4);
        Assert.Equal(new long[] { 2, 3, 4 }, p.Tensor.shape);
        Assert.Equal(ScalarType.Float32, p.Tensor.dtype);
        Assert.Equal(DeviceType.CPU, p.Tensor.device_type);
        Assert.Equal(24, p.Span.Length);
        p.Span.Fill(0);
        p.Span[1 * 12 + 2 * 4 + 3] = 7; // row-major [1,2,3]
        Assert.Equal(7f, p.Tensor[1, 2, 3].item<float>());
        p.Tensor[0, 1, 0] = torch.tensor(5f);
        Assert.Equal(5f, p.Span[4]);
    }

    [Fact]
    public void Wrap_with_offset_aliases_a_slice_of_a_slab_and_disposes_the_owner_once()
    {
        int[] slab = GC.AllocateUninitializedArray<int>(100, pinned: true);
        for (int i = 0; i < slab.Length; i++) slab[i] = i;
        var lease = new Lease();
        var p = PinnedTensor<int>.Wrap(slab, 10, [3, 5], lease);
        Assert.Equal(new long[] { 3, 5 }, p.Tensor.shape);
        Assert.Equal(Enumerable.Range(10, 15).ToArray(), p.Tensor.data<int>().ToArray());
        Assert.Equal(12, p.Tensor[0, 2].item<int>());

        p.Tensor.mul_(-1);                       // tensor → slab, only inside the slice
        Assert.Equal(9, slab[9]);
        Assert.Equal(-10, slab[10]);
        Assert.Equal(-24, slab[24]);
        Assert.Equal(25, slab[25]);
        slab[11] = 1000;                         // slab → tensor
        Assert.Equal(1000, p.Tensor[0, 1].item<int>());

        p.Dispose();
        p.Dispose();
        Assert.Equal(1, lease.Disposed);
        Assert.Throws<ObjectDisposedException>(() => p.Tensor);
    }

    [Fact]
    public void Wrap_memory_slice_aliases_the_underlying_array()
    {
        long[] slab = GC.AllocateUninitializedArray<long>(64, pinned: true);
        Array.Clear(slab);
        Memory<long> slice = slab.AsMemory(16, 8);
        using var p = PinnedTensor<long>.Wrap(slice, [2, 4]);
        Assert.Equal(ScalarType.Int64, p.Tensor.dtype);
        p.Tensor.fill_(3);
        Assert.Equal(0, slab[15]);
        Assert.All(slab[16..24], v => Assert.Equal(3, v));
        Assert.Equal(0, slab[24]);
        slice.Span[7] = 9;
        Assert.Equal(9, p.Tensor[1, 3].item<long>());
    }

    [Fact]
    public void Tensor_keeps_the_memory_alive_after_the_wrapper_is_gone()
    {
        Tensor view = MakeView();
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, view.data<byte>().ToArray());
        view.Dispose();

        static Tensor MakeView()
        {
            var p = PinnedTensor<byte>.Wrap(new byte[] { 1, 2, 3, 4 }, [4]);
            return p.Tensor.view(2, 2).flatten();   // a second tensor on the same storage, the wrapper is dropped
        }
    }

    [Fact]
    public void Shapes_that_do_not_fit_are_rejected()
    {
        float[] a = new float[10];
        Assert.Throws<ArgumentOutOfRangeException>(() => PinnedTensor<float>.Wrap(a, [3, 4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PinnedTensor<float>.Wrap(a, 8, [3], null));
        Assert.Throws<ArgumentOutOfRangeException>(() => PinnedTensor<float>.Wrap(a.AsMemory(0, 5), [6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PinnedTensor<float>.Wrap(a, [-1]));
    }

    [Fact]
    public void Element_types_map_to_libtorch_dtypes()
    {
        Assert.Equal(ScalarType.Float32, PinnedTensor<float>.ElementType);
        Assert.Equal(ScalarType.Float64, PinnedTensor<double>.ElementType);
        Assert.Equal(ScalarType.Float16, PinnedTensor<Half>.ElementType);
        Assert.Equal(ScalarType.Byte, PinnedTensor<byte>.ElementType);
        Assert.Equal(ScalarType.Int64, PinnedTensor<long>.ElementType);
        Assert.Equal(ScalarType.Bool, PinnedTensor<bool>.ElementType);
        Assert.Throws<TypeInitializationException>(() => PinnedTensor<char>.ElementType);
    }
}

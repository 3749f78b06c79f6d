using NanoVlm.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests;

public class TorchRuntimeTests
{
    [Fact]
    public void Cpu_is_always_selectable()
    {
        Device d = TorchRuntime.SelectDevice("cpu");
        Assert.Equal(DeviceType.CPU, d.type);
        Assert.Equal(DeviceType.CPU, TorchRuntime.SelectDevice(" CPU ").type);
    }

    [Fact]
    public void Auto_picks_cuda_exactly_when_it_is_available()
    {
        DeviceType expected = TorchRuntime.IsCudaAvailable ? DeviceType.CUDA : DeviceType.CPU;
        Assert.Equal(expected, TorchRuntime.SelectDevice("auto").type);
        Assert.Equal(expected, TorchRuntime.SelectDevice(null).type);
        Assert.Equal(expected, TorchRuntime.DefaultDevice.type);
    }

    [Fact]
    public void Cuda_request_fails_clearly_without_cuda()
    {
        if (TorchRuntime.IsCudaAvailable)
        {
            Assert.Equal(DeviceType.CUDA, TorchRuntime.SelectDevice("cuda:0").type);
            Assert.Throws<InvalidOperationException>(() => TorchRuntime.SelectDevice($"cuda:{TorchRuntime.CudaDeviceCount}"));
        }
        else
        {
            Assert.Equal(0, TorchRuntime.CudaDeviceCount);
            var e = Assert.Throws<InvalidOperationException>(() => TorchRuntime.SelectDevice("cuda"));
            Assert.Contains("CUDA is not available", e.Message);
        }
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void Unknown_specifications_are_rejected(string spec)
        => Assert.Throws<ArgumentException>(() => TorchRuntime.SelectDevice(spec));
}

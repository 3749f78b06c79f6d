using System.Security.Cryptography;
using NanoVlm.Engine;
using NanoVlm.Engine.Distributed;
using NanoVlm.Engine.Training;
using static TorchSharp.torch;

/// <summary>One rank of the check that the device bucket path (<see cref="DeviceGradientReducer"/>, here on CPU
/// tensors with MPI as its collective) gives the host reducer's gradients bit for bit, with different gradients on
/// every rank, and the same gradients on every rank.</summary>
internal static class DeviceBucketsCheck
{
    public static int Run(ICommunicator communicator, VisionLanguageModel model, GradientObjective objective, int bucket)
    {
        using var recipe = new OptimizerRecipe(model, new GroupLearningRates(1e-3, 1e-3, 1e-3));
        var ps = recipe.Parameters;
        long tokens = 10 + 7 * communicator.Rank; // unequal token counts per rank
        void SetGradients()
        {
            manual_seed(100 + communicator.Rank); // every rank its own gradients
            foreach (var p in ps) p.grad = randn_like(p);
        }
        float[] Gradients() => [.. ps.SelectMany(p => p.grad!.data<float>().ToArray())];

        SetGradients();
        var host = new GradientReducer(communicator, ps, objective, bucket).Reduce(tokens);
        var expected = Gradients();
        SetGradients();
        var mine = Gradients();
        using var reducer = new DeviceGradientReducer(new HostTensorCollective(communicator), communicator, ps, objective, bucket);
        var device = reducer.Reduce(tokens);
        var actual = Gradients();

        int different = expected.Where((v, i) => BitConverter.SingleToInt32Bits(v) != BitConverter.SingleToInt32Bits(actual[i])).Count();
        int changed = mine.Where((v, i) => v != actual[i]).Count();
        string digest = Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(actual.AsSpan())))[..16];
        var digests = new DataParallel(communicator).Gather(digest);
        Console.WriteLine($"rank {communicator.Rank}: {reducer.Elements} elements in {reducer.Buckets} buckets, divisor {device.Divisor} (host {host.Divisor}), " +
            $"{different} differ from the host reducer, {changed} changed by the reduction, digest {digest}, ranks' digests {string.Join(",", digests)}");
        return different == 0 && changed > 0 && digests.Distinct().Count() == 1 && device.Divisor == host.Divisor ? 0 : 1;
    }
}

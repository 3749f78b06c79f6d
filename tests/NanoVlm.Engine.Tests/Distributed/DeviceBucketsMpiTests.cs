namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>The device bucket path in a real two-process MPI job (CPU tensors, MPI as the collective): each rank
/// starts from its own gradients and token count; the result equals the host reducer's bit for bit and is the same
/// on both ranks.</summary>
public sealed class DeviceBucketsMpiTests
{
    [SkippableTheory]
    [InlineData("micro")]
    [InlineData("tokens")]
    public void Two_ranks_get_the_host_reducers_gradients_through_the_device_buckets(string objective)
    {
        Skip.If(MpiJob.Mpiexec is null, MpiJob.NoMpiexec);
        using var job = MpiJob.Start(2, "device-buckets", "-", "-", $"objective={objective}", "bucket=1000");
        Assert.True(job.WaitForExit(TimeSpan.FromMinutes(4)), job.Output);
        Assert.True(job.ExitCode == 0, job.Output);
        var lines = job.Lines.Where(l => l.StartsWith("rank ", StringComparison.Ordinal) && l.Contains("buckets")).ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Contains(" 0 differ from the host reducer", l));
        Assert.All(lines, l => Assert.Contains(objective == "tokens" ? "divisor 27 (host 27)" : "divisor 2 (host 2)", l));
    }
}

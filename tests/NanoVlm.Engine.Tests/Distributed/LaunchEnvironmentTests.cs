using NanoVlm.Engine.Distributed;

namespace NanoVlm.Engine.Tests.Distributed;

public sealed class LaunchEnvironmentTests
{
    private static LaunchEnvironment Detect(params (string Name, string Value)[] vars)
        => LaunchEnvironment.Detect(name => vars.FirstOrDefault(v => v.Name == name).Value);

    [Fact]
    public void Nothing_set_is_a_single_process() => Assert.Equal(LaunchEnvironment.Single, Detect());

    [Fact]
    public void Mpich_hydra_variables_give_the_rank_size_and_local_rank()
    {
        // What MPICH 4.0.2's mpiexec -n 2 sets (checked with `mpiexec -n 2 env`).
        var e = Detect(("PMI_RANK", "1"), ("PMI_SIZE", "2"), ("MPI_LOCALRANKID", "1"), ("MPI_LOCALNRANKS", "2"), ("PMI_FD", "8"));
        Assert.Equal(new LaunchEnvironment(Launcher.Mpi, 1, 2, 1, null) { LocalWorldSize = 2 }, e);
        Assert.True(e.IsDistributed);
    }

    [Fact]
    public void Torchrun_variables_alone_are_recognised_as_torchrun()
    {
        var e = Detect(("RANK", "3"), ("WORLD_SIZE", "4"), ("LOCAL_RANK", "1"), ("LOCAL_WORLD_SIZE", "2"), ("MASTER_ADDR", "node0"), ("MASTER_PORT", "29501"));
        Assert.Equal(new LaunchEnvironment(Launcher.Torchrun, 3, 4, 1, "node0:29501") { LocalWorldSize = 2 }, e);
    }

    [Fact]
    public void A_world_size_of_one_from_torchrun_is_a_single_process()
        => Assert.Equal(Launcher.None, Detect(("RANK", "0"), ("WORLD_SIZE", "1")).Launcher);

    [Fact]
    public void Torchrun_and_mpi_variables_that_disagree_are_an_error_naming_both()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Detect(("PMI_RANK", "0"), ("PMI_SIZE", "2"), ("WORLD_SIZE", "4"), ("RANK", "0")));
        Assert.Contains("WORLD_SIZE=4", e.Message);
        Assert.Contains("PMI_SIZE=2", e.Message);
    }

    [Fact]
    public void Open_mpi_is_refused_by_name()
        => Assert.Contains("Open MPI", Assert.Throws<InvalidOperationException>(() => Detect(("OMPI_COMM_WORLD_SIZE", "2"), ("OMPI_COMM_WORLD_RANK", "0"))).Message);

    [Theory]
    [InlineData("PMI_RANK", "x", "PMI_SIZE", "2", "PMI_RANK='x' is not an integer")]
    [InlineData("PMI_RANK", "2", "PMI_SIZE", "2", "PMI_RANK=2 is outside [0, 2)")]
    [InlineData("RANK", "0", "WORLD_SIZE", "0", "world size is 0")]
    public void Bad_values_are_errors_naming_the_variable(string n1, string v1, string n2, string v2, string message)
        => Assert.Contains(message, Assert.Throws<InvalidOperationException>(() => Detect((n1, v1), (n2, v2))).Message);
}

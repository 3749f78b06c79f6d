using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NanoVlm.Engine.Distributed;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>The TCP communicator's collectives and rendezvous, with ranks as threads of the test process.</summary>
public sealed class TcpCommunicatorTests
{
    // Values whose float sum depends on the order (mixed magnitudes, both signs): ranks that each summed in their own
    // order would disagree in the last bits.
    private static float[] Values(int rank, int length)
    {
        var random = new Random(1000 + rank);
        return [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-3, 8))))];
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Sum_all_reduce_of_lengths_not_divisible_by_the_world_size_is_bitwise_the_same_on_every_rank(int size)
    {
        // 1 and 2 leave chunks empty; 3,500,003 floats span several 4 MB ring windows.
        int[] lengths = [1, 2, 7, 1000, 100_003, 3_500_003];
        var results = TcpRanks.RunAll(size, c => lengths.Select(n =>
        {
            var v = Values(c.Rank, n);
            c.AllReduce(v, ReduceOperation.Sum);
            return v;
        }).ToList());
        for (int i = 0; i < lengths.Length; i++)
        {
            var inputs = Enumerable.Range(0, size).Select(r => Values(r, lengths[i])).ToList();
            for (int r = 1; r < size; r++)
                Assert.True(results[0][i].AsSpan().SequenceEqual(results[r][i]), $"length {lengths[i]}: rank {r}'s sum differs from rank 0's");
            for (int k = 0; k < lengths[i]; k++)
            {
                double exact = inputs.Sum(x => (double)x[k]), scale = inputs.Sum(x => Math.Abs((double)x[k]));
                Assert.True(Math.Abs(results[0][i][k] - exact) <= 2e-7 * scale, $"length {lengths[i]} element {k}: {results[0][i][k]} vs {exact}");
            }
        }
    }

    [Fact]
    public void Min_and_max_of_floats_and_doubles_over_three_ranks_are_exact()
    {
        var results = TcpRanks.RunAll(3, c =>
        {
            float[] min = [c.Rank, -c.Rank, 5, c.Rank == 1 ? -7 : 9, 0.5f * c.Rank];
            float[] max = [.. min];
            double[] dmin = [c.Rank * 1e300, -c.Rank], dmax = [.. dmin];
            c.AllReduce(min, ReduceOperation.Min);
            c.AllReduce(max, ReduceOperation.Max);
            c.AllReduce(dmin, ReduceOperation.Min);
            c.AllReduce(dmax, ReduceOperation.Max);
            return (min, max, dmin, dmax);
        });
        foreach (var (min, max, dmin, dmax) in results)
        {
            Assert.Equal([0f, -2, 5, -7, 0], min);
            Assert.Equal([2f, 0, 5, 9, 1], max);
            Assert.Equal([0, -2], dmin);
            Assert.Equal([2e300, 0], dmax);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Broadcast_copies_the_roots_bytes_to_every_rank_from_any_root(int size)
    {
        // 128 bytes (an NCCL unique id) and 9 MB (several pieces of the pipelined chain).
        static byte[] Bytes(int seed, int n) { var b = new byte[n]; new Random(seed).NextBytes(b); return b; }
        var results = TcpRanks.RunAll(size, c => Enumerable.Range(0, size).SelectMany(root => new[] { 128, 9 << 20 }.Select(n =>
        {
            var buffer = c.Rank == root ? Bytes(root * 31 + n, n) : new byte[n];
            c.Broadcast(buffer, root);
            return buffer;
        })).ToList());
        int i = 0;
        foreach (int root in Enumerable.Range(0, size))
            foreach (int n in new[] { 128, 9 << 20 })
            {
                var expected = Bytes(root * 31 + n, n);
                for (int r = 0; r < size; r++) Assert.True(expected.AsSpan().SequenceEqual(results[r][i]), $"root {root}, {n} bytes: rank {r} differs");
                i++;
            }
    }

    [Fact]
    public void A_rank_with_another_world_size_is_refused_by_rank_0_and_both_say_why()
    {
        int port = TcpRanks.FreePort();
        var results = TcpRanks.Run([TcpRanks.Options(port, 0, 2), TcpRanks.Options(port, 1, 3)], c => 0);
        foreach (var (_, error) in results)
        {
            var e = Assert.IsType<InvalidOperationException>(error);
            Assert.Contains("was started with WORLD_SIZE=3, rank 0 with WORLD_SIZE=2", e.Message);
            Assert.Contains("rank 1 (pid", e.Message);
        }
    }

    [Fact]
    public void Two_processes_claiming_the_same_rank_are_refused()
    {
        int port = TcpRanks.FreePort();
        var results = TcpRanks.Run([TcpRanks.Options(port, 0, 3), TcpRanks.Options(port, 1, 3), TcpRanks.Options(port, 1, 3)], c => 0, TimeSpan.FromSeconds(60));
        Assert.Contains("two processes claim RANK=1", Assert.IsType<InvalidOperationException>(results[0].Error).Message);
        Assert.All(results, r => Assert.NotNull(r.Error));
    }

    [Fact]
    public void A_rank_of_another_run_is_refused()
    {
        int port = TcpRanks.FreePort();
        var results = TcpRanks.Run([TcpRanks.Options(port, 0, 2), TcpRanks.Options(port, 1, 2) with { RunId = "other" }], c => 0);
        Assert.Contains("belongs to run 'other', rank 0 to run 'test'", Assert.IsType<InvalidOperationException>(results[0].Error).Message);
    }

    [Fact]
    public void A_port_in_use_is_an_error_naming_the_port()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Any, 0));
        squatter.Listen();
        int port = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        var e = Assert.Throws<IOException>(() => TcpCommunicator.Connect(TcpRanks.Options(port, 0, 2)));
        Assert.Contains($"rank 0 cannot listen on port {port}, MASTER_PORT (MASTER_ADDR:port = 127.0.0.1:{port}): the port is in use", e.Message);
    }

    [Fact]
    public void An_unreachable_master_is_an_error_naming_the_address_after_the_timeout()
    {
        int port = TcpRanks.FreePort();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<IOException>(() => TcpCommunicator.Connect(TcpRanks.Options(port, 1, 2, timeoutSeconds: 2)));
        Assert.Contains($"rank 1 could not connect to rank 0 at MASTER_ADDR:MASTER_PORT = 127.0.0.1:{port} within 2 s", e.Message);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 20);
        var unknown = Assert.Throws<IOException>(() => TcpCommunicator.Connect(new TcpRendezvousOptions("no-such-host.invalid", port, 1, 2) { Timeout = TimeSpan.FromSeconds(2) }));
        Assert.Contains("MASTER_ADDR 'no-such-host.invalid' cannot be resolved", unknown.Message);
    }

    [Fact]
    public void Rank_0_names_the_ranks_that_never_came()
    {
        int port = TcpRanks.FreePort();
        var results = TcpRanks.Run([TcpRanks.Options(port, 0, 3, timeoutSeconds: 3), TcpRanks.Options(port, 2, 3, timeoutSeconds: 3)], c => 0);
        Assert.Contains($"rank 0 waited 3 s at 127.0.0.1:{port} for rank(s) 1 of 3", Assert.IsType<IOException>(results[0].Error).Message);
        Assert.NotNull(results[1].Error);
    }

    [Fact]
    public void A_rank_that_leaves_early_fails_the_others_collective_naming_it_instead_of_a_hang()
    {
        int port = TcpRanks.FreePort();
        var results = TcpRanks.Run([.. Enumerable.Range(0, 3).Select(r => TcpRanks.Options(port, r, 3))], c =>
        {
            float[] v = [1, 2, 3];
            c.AllReduce(v, ReduceOperation.Sum);
            if (c.Rank == 2) return "left";
            c.AllReduce(v, ReduceOperation.Sum); // rank 2 never comes
            return "reduced";
        }, TimeSpan.FromSeconds(60));
        Assert.Equal("left", results[2].Result);
        foreach (var (_, error) in results.Take(2))
            Assert.Contains("rank 2 (pid", Assert.IsType<IOException>(error).Message);
    }

    [Fact]
    public void A_rank_that_dies_is_named_to_every_other_rank_also_those_that_are_not_its_ring_neighbours()
    {
        int port = TcpRanks.FreePort();
        using var allDone = new Barrier(4); // rank 2 dies after every rank finished the first all-reduce
        var results = TcpRanks.Run([.. Enumerable.Range(0, 4).Select(r => TcpRanks.Options(port, r, 4))], c =>
        {
            float[] v = [1, 2, 3, 4, 5];
            c.AllReduce(v, ReduceOperation.Sum);
            Assert.True(allDone.SignalAndWait(TimeSpan.FromSeconds(30)));
            if (c.Rank == 2) { c.Sever(); return "died"; } // rank 0's ring neighbours are 1 and 3
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try { c.AllReduce(v, ReduceOperation.Sum); }
            catch (IOException e) { return $"{clock.Elapsed.TotalSeconds:F1} {e.Message}"; }
            return "reduced";
        }, TimeSpan.FromSeconds(60));
        Assert.Equal("died", results[2].Result);
        foreach (int r in new[] { 0, 1, 3 })
        {
            Assert.Null(results[r].Error);
            Assert.Matches(@"^\d+\.\d rank 2 \(pid \d+ on .+\) died or was killed: its connection to rank 0 closed without a goodbye", results[r].Result);
            Assert.True(double.Parse(results[r].Result!.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) < 10, results[r].Result);
        }
    }

    [Fact]
    public void Ranks_whose_calls_diverge_fail_naming_both_collectives()
    {
        int port = TcpRanks.FreePort();
        var results = TcpRanks.Run([TcpRanks.Options(port, 0, 2), TcpRanks.Options(port, 1, 2)], c =>
        {
            float[] v = new float[c.Rank == 0 ? 10 : 11];
            c.AllReduce(v, ReduceOperation.Sum);
            return 0;
        }, TimeSpan.FromSeconds(60));
        var e = Assert.IsType<InvalidOperationException>(results[0].Error);
        Assert.Contains("the ranks' collectives diverged: rank 1 (pid", e.Message);
        Assert.Contains("is in collective #1: all-reduce (Sum) of 11 floats, rank 0 in collective #1: all-reduce (Sum) of 10 floats", e.Message);
    }

    [Fact]
    public void The_master_port_is_free_again_right_after_a_job_ends()
    {
        int port = TcpRanks.FreePort();
        for (int job = 0; job < 2; job++)
        {
            var results = TcpRanks.Run([TcpRanks.Options(port, 0, 2), TcpRanks.Options(port, 1, 2)], c =>
            {
                double[] v = [c.Rank + 1];
                c.AllReduce(v, ReduceOperation.Sum);
                return v[0];
            });
            Assert.All(results, r => Assert.Equal(3.0, r.Result));
        }
    }

    [Theory]
    [InlineData("node0:29501", "node0", 29501)]
    [InlineData("[::1]:29500", "::1", 29500)]
    public void Torchrun_variables_give_the_rendezvous_options(string master, string host, int port)
    {
        var launch = new LaunchEnvironment(Launcher.Torchrun, 1, 2, 1, master);
        var o = TcpRendezvousOptions.FromLaunch(launch, TimeSpan.FromSeconds(9), n => n == "TORCHELASTIC_RUN_ID" ? "job7" : null);
        Assert.Equal(new TcpRendezvousOptions(host, port, 1, 2) { RunId = "job7", Timeout = TimeSpan.FromSeconds(9) }, o);
    }

    [Theory]
    [InlineData("True", null, 29501, "MASTER_PORT + 1 (torchrun's store holds MASTER_PORT)")]
    [InlineData("False", null, 29500, "MASTER_PORT")]
    [InlineData("True", "31000", 31000, "NANOVLM_MASTER_PORT")]
    public void Under_torchruns_agent_store_the_ranks_meet_on_the_next_port_unless_told(string agentStore, string? own, int port, string variable)
    {
        var o = TcpRendezvousOptions.FromLaunch(new LaunchEnvironment(Launcher.Torchrun, 0, 2, 0, "127.0.0.1:29500"), TimeSpan.FromSeconds(1),
            n => n switch { "TORCHELASTIC_USE_AGENT_STORE" => agentStore, "NANOVLM_MASTER_PORT" => own, _ => null });
        Assert.Equal((port, variable), (o.MasterPort, o.PortVariable));
    }

    [Theory]
    [InlineData(null, "MASTER_ADDR is not")]
    [InlineData("node0:http", "MASTER_PORT='http' is not a port number")]
    [InlineData("node0:70000", "MASTER_PORT='70000' is not a port number")]
    public void Missing_or_bad_master_variables_are_errors_naming_them(string? master, string message)
        => Assert.Contains(message, Assert.Throws<InvalidOperationException>(
            () => TcpRendezvousOptions.FromLaunch(new LaunchEnvironment(Launcher.Torchrun, 0, 2, 0, master), TimeSpan.FromSeconds(1), _ => null)).Message);
}

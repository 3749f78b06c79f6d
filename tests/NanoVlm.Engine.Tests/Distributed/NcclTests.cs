using System.Runtime.InteropServices;
using NanoVlm.Engine.Distributed;

namespace NanoVlm.Engine.Tests.Distributed;

/// <summary>What of the NCCL path runs without a GPU: finding the library (and the error when there is none), the
/// unique id's broadcast, and the refusal of a CUDA run without NCCL before any rank waits for another.</summary>
public sealed class NcclTests
{
    /// <summary>Rank 0 or rank 1 of two; broadcasts go through a shared wire (rank 0 runs first).</summary>
    private sealed class WiredRank(int rank, byte[][] wire) : ICommunicator
    {
        public List<(int Length, int Root)> Broadcasts { get; } = [];
        public int Rank => rank;
        public int Size => 2;
        public void AllReduce(Span<float> values, ReduceOperation operation) => throw new InvalidOperationException("no all-reduce expected");
        public void AllReduce(Span<double> values, ReduceOperation operation) => throw new InvalidOperationException("no all-reduce expected");
        public void Broadcast(Span<byte> bytes, int root)
        {
            Broadcasts.Add((bytes.Length, root));
            if (rank == root) wire[0] = bytes.ToArray();
            else wire[0].CopyTo(bytes);
        }
        public void Abort(int exitCode) => throw new InvalidOperationException();
        public void Dispose() { }
    }

    // A shared library every .NET runtime has, which is not NCCL.
    private static string NotNccl => Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "libSystem.Native.so");

    [Fact]
    public void An_explicit_path_to_a_missing_file_is_named_with_what_to_do()
    {
        var e = Assert.Throws<DllNotFoundException>(() => NcclLibrary.Find("/nonexistent/libnccl.so.2", ["libtorch_cuda.so"], "libnccl.so.2"));
        Assert.Contains("NANOVLM_NCCL_LIBRARY=/nonexistent/libnccl.so.2", e.Message);
        Assert.Contains("/nonexistent/libnccl.so.2: no such file", e.Message);
        Assert.Contains("unset it", e.Message);
        Assert.DoesNotContain("libtorch_cuda.so:", e.Message); // the explicit path is the only place tried
    }

    [Fact]
    public void An_explicit_path_to_a_library_that_is_not_nccl_names_the_missing_functions()
    {
        Assert.True(File.Exists(NotNccl), NotNccl);
        var e = Assert.Throws<DllNotFoundException>(() => NcclLibrary.Find(NotNccl, [], "libnccl.so.2"));
        Assert.Contains($"{NotNccl}: loads but does not export ncclGetVersion, ncclGetUniqueId, ncclCommInitRank, ncclAllReduce", e.Message);
        Assert.Contains("not an NCCL library", e.Message);
    }

    [Fact]
    public void An_explicit_path_to_a_file_that_is_no_library_cannot_be_loaded()
    {
        string text = Path.Combine(Path.GetTempPath(), $"not-a-library-{Guid.NewGuid():N}.so");
        File.WriteAllText(text, "not ELF");
        try
        {
            var e = Assert.Throws<DllNotFoundException>(() => NcclLibrary.Find(text, [], "libnccl.so.2"));
            Assert.Contains($"{text}: cannot be loaded", e.Message);
        }
        finally { File.Delete(text); }
    }

    [Fact]
    public void Without_an_explicit_path_every_place_tried_is_named_with_what_to_install()
    {
        var e = Assert.Throws<DllNotFoundException>(() => NcclLibrary.Find(null, ["libtorch_cuda-absent.so", "/absent/libtorch_cuda.so"], "libnccl-absent.so.2"));
        Assert.Contains("libtorch_cuda-absent.so: not loaded and not found by the loader", e.Message);
        Assert.Contains("/absent/libtorch_cuda.so: not loaded", e.Message);
        Assert.Contains("libnccl-absent.so.2: not loaded and not found by the loader", e.Message);
        Assert.Contains("apt-get install libnccl2", e.Message);
        Assert.Contains("NANOVLM_NCCL_LIBRARY", e.Message);
        Assert.Contains("nvidia-nccl-cu12", e.Message);
    }

    [Fact]
    public void A_library_found_by_soname_that_is_not_nccl_is_passed_over()
    {
        // libSystem.Native is on the loader's path of this process only by full path; libc is found by soname.
        var e = Assert.Throws<DllNotFoundException>(() => NcclLibrary.Find(null, ["libc.so.6"], "libnccl-absent.so.2"));
        Assert.Contains("libc.so.6: loads but does not export ncclGetVersion", e.Message);
        Assert.Contains("or one that hides NCCL's symbols", e.Message);
    }

    [SkippableFact]
    public void On_this_machine_the_default_search_names_libtorch_cuda_and_libnccl()
    {
        Skip.If(Environment.GetEnvironmentVariable(NcclLibrary.PathVariable) is { Length: > 0 }, "NANOVLM_NCCL_LIBRARY is set");
        Skip.If(NativeLibrary.TryLoad(NcclLibrary.SystemName, out _), "this machine has libnccl.so.2");
        Skip.If(NcclLibrary.LibtorchCudaCandidates().Any(c => NativeLibrary.TryLoad(c, out _)), "this machine has libtorch_cuda.so");
        var e = Assert.Throws<DllNotFoundException>(() => NcclLibrary.Find());
        Assert.Contains("libtorch_cuda.so: not loaded and not found by the loader", e.Message);
        Assert.Contains("libnccl.so.2: not loaded and not found by the loader", e.Message);
    }

    [Fact]
    public void A_cuda_run_without_nccl_is_refused_before_any_rank_waits()
    {
        var wire = new byte[1][];
        var rank0 = new WiredRank(0, wire);
        var e = Assert.Throws<DllNotFoundException>(() =>
            NcclCommunicator.Create(rank0, 0, () => NcclLibrary.Find(null, ["libtorch_cuda-absent.so"], "libnccl-absent.so.2")));
        Assert.Contains("NCCL was not found, and data-parallel training on CUDA all-reduces the gradients with it", e.Message);
        Assert.Empty(rank0.Broadcasts); // no rank was left waiting for the unique id
    }

    [Fact]
    public unsafe void The_unique_id_is_made_on_rank_0_only_and_reaches_the_other_ranks()
    {
        Assert.Equal(128, sizeof(NcclUniqueId));
        Assert.Equal(128, Marshal.SizeOf<NcclUniqueId>());
        var wire = new byte[1][];
        int made = 0;
        NcclUniqueId Make()
        {
            made++;
            NcclUniqueId id;
            for (int i = 0; i < NcclUniqueId.Bytes; i++) id.Internal[i] = (byte)(i * 7 + 3);
            return id;
        }
        var rank0 = new WiredRank(0, wire);
        var rank1 = new WiredRank(1, wire);
        var sent = NcclCommunicator.ShareUniqueId(rank0, Make);
        var received = NcclCommunicator.ShareUniqueId(rank1, () => throw new InvalidOperationException("only rank 0 makes the id"));
        Assert.Equal(1, made);
        Assert.Equal([(128, 0)], rank0.Broadcasts);
        Assert.Equal([(128, 0)], rank1.Broadcasts);
        Assert.Equal(new Span<byte>(sent.Internal, 128).ToArray(), new Span<byte>(received.Internal, 128).ToArray());
        Assert.Equal(unchecked((byte)(127 * 7 + 3)), received.Internal[127]);
    }

    [Theory]
    [InlineData(2804, "2.8.4")]
    [InlineData(21803, "2.18.3")]
    [InlineData(22703, "2.27.3")]
    public void Version_codes_decode_both_layouts(int code, string version) => Assert.Equal(version, NcclNative.FormatVersion(code));
}

using System.Runtime.InteropServices;
using NanoVlm.Engine.Runtime;
using TorchSharp;
using static NanoVlm.Engine.Tests.GlibcxxFixTests;

namespace NanoVlm.Engine.Tests;

/// <summary>
/// The patched TorchSharp at run time: the process loads the output copy, runs an op, and libtorch writes through
/// std::cout and std::cerr (which, with a libstdc++ older than 13, only work when something constructed them).
/// </summary>
public class GlibcxxFixRuntimeTests
{
    [DllImport("libc", SetLastError = true)] private static extern int dup(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int dup2(int fd, int fd2);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);

    /// <summary>Runs <paramref name="action"/> with file descriptor <paramref name="fd"/> sent to a file; returns what was written.</summary>
    private static string Capture(int fd, Action action)
    {
        string path = Path.GetTempFileName();
        int saved = dup(fd);
        Assert.True(saved >= 0, $"dup({fd}) failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
            {
                Assert.True(dup2((int)file.SafeFileHandle.DangerousGetHandle(), fd) == fd, $"dup2 failed: errno {Marshal.GetLastPInvokeError()}");
                try { action(); }
                finally { dup2(saved, fd); }
            }
            return File.ReadAllText(path);
        }
        finally
        {
            close(saved);
            File.Delete(path);
        }
    }

    [Fact]
    public void Patched_torchsharp_loads_runs_an_op_and_libtorch_prints_through_cout_and_cerr()
    {
        TorchRuntime.EnsureLoaded();
        string maps = File.ReadAllText("/proc/self/maps");
        Assert.Contains(OutputLibrary, maps);
        Assert.DoesNotContain(PackageLibrary, maps);

        using var a = torch.arange(4, dtype: torch.ScalarType.Float32).reshape(2, 2);
        using var b = a.matmul(a);                         // [[0,1],[2,3]]² = [[2,3],[6,11]]
        Assert.Equal(new float[] { 2, 3, 6, 11 }, b.data<float>().ToArray());

        IntPtr libtorch = NativeLibrary.Load(Path.Combine(NativeDir, "libtorch_cpu.so"));
        IntPtr libstdcxx = NativeLibrary.Load("libstdc++.so.6");
        IntPtr cout = NativeLibrary.GetExport(libstdcxx, "_ZSt4cout");
        string stdout, stderr;
        unsafe
        {
            // at::print(const Tensor&, int64_t) writes to std::cout; TensorBase::print() to std::cerr. A TorchSharp
            // tensor handle is an at::Tensor*, i.e. exactly the reference / `this` these functions take.
            var printToCout = (delegate* unmanaged<IntPtr, long, void>)NativeLibrary.GetExport(libtorch, "_ZN2at5printERKNS_6TensorEl");
            var printToCerr = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(libtorch, "_ZNK2at10TensorBase5printEv");
            var flush = (delegate* unmanaged<IntPtr, IntPtr>)NativeLibrary.GetExport(libstdcxx, "_ZNSo5flushEv");
            stdout = Capture(1, () => { printToCout(b.Handle, 80); Assert.Equal(cout, flush(cout)); });
            stderr = Capture(2, () => printToCerr(b.Handle));
        }
        Assert.Matches(@"\s2\s+3\s*\n\s*6\s+11\s*\n\[ CPUFloatType\{2,2\} \]", stdout);
        Assert.Contains("[CPUFloatType [2, 2]]", stderr);
    }

    [Fact]
    public void The_unpatched_package_library_is_what_fails_to_load_here()
    {
        if (!FixExpected())
        {
            // This machine's libstdc++ defines GLIBCXX_3.4.32: the package's file is used as is (see the other tests).
            Assert.Equal(File.ReadAllBytes(PackageLibrary), File.ReadAllBytes(OutputLibrary));
            return;
        }
        TorchRuntime.EnsureLoaded();   // its dependencies (libtorch.so, libc10.so...) are then found by soname
        string dir = Directory.CreateTempSubdirectory("nanovlm-unpatched").FullName;
        try
        {
            string copy = Path.Combine(dir, "libunpatched_torchsharp.so");
            File.Copy(PackageLibrary, copy);
            var e = Assert.ThrowsAny<Exception>(() => NativeLibrary.Load(copy));
            Assert.Contains("GLIBCXX_3.4.32", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

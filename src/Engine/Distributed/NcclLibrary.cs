using System.Runtime.InteropServices;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// Finds the NCCL library of this process. In order: the file named by <c>NANOVLM_NCCL_LIBRARY</c> (then nothing
/// else); libtorch's own copy, when TorchSharp's CUDA libtorch is loaded and <c>libtorch_cuda.so</c> exports NCCL's C
/// API (PyTorch's libtorch downloads, which TorchSharp-cuda repackages, link <c>libnccl_static.a</c> into it; pip's
/// torch instead depends on a separate <c>libnccl.so.2</c>); then <c>libnccl.so.2</c> by the loader's search
/// (LD_LIBRARY_PATH, the cache of ldconfig: Debian/Ubuntu's <c>libnccl2</c>, NVIDIA's CUDA repositories). Using
/// libtorch's copy keeps one NCCL in the process, built for libtorch's CUDA. A library that loads but lacks one of the
/// functions used is not taken. Not a DllImport resolver: an assembly has one, and MpiNative's owns it; the functions
/// are bound as function pointers of the chosen handle instead (<see cref="NcclNative"/>).
/// </summary>
internal static partial class NcclLibrary
{
    /// <summary>The environment variable naming the NCCL library file to use.</summary>
    public const string PathVariable = "NANOVLM_NCCL_LIBRARY";

    /// <summary>The soname of NCCL 2.</summary>
    public const string SystemName = "libnccl.so.2";

    /// <summary>The functions used, all of which the chosen library must export.</summary>
    public static readonly string[] Functions =
    [
        "ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRank", "ncclAllReduce", "ncclCommDestroy",
        "ncclCommAbort", "ncclCommGetAsyncError", "ncclGetErrorString",
    ];

    /// <summary>The libtorch CUDA library names tried (loaded already when TorchSharp's CUDA backend is).</summary>
    public static IEnumerable<string> LibtorchCudaCandidates()
    {
        yield return "libtorch_cuda.so"; // the soname: dlopen returns the loaded copy, whatever folder it came from
        foreach (var dir in new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") })
            yield return Path.Combine(dir, "libtorch_cuda.so");
    }

    /// <summary>A loaded NCCL: the handle to bind, the file the functions live in, and how it was found.</summary>
    /// <param name="Handle">The dlopen handle the functions are looked up in.</param>
    /// <param name="Origin">How it was found (the variable, libtorch_cuda.so, or the soname).</param>
    /// <param name="File">The file that holds <c>ncclAllReduce</c> (from dladdr), or the name when unknown.</param>
    public readonly record struct Loaded(nint Handle, string Origin, string File);

    /// <summary>Finds NCCL as described on the class, reading <see cref="PathVariable"/>.</summary>
    /// <exception cref="DllNotFoundException">No NCCL anywhere; the message names every place tried and what to do.</exception>
    public static Loaded Find() => Find(Environment.GetEnvironmentVariable(PathVariable), LibtorchCudaCandidates(), SystemName);

    /// <summary>Finds NCCL: <paramref name="explicitPath"/> alone when given, else the libtorch candidates and then
    /// <paramref name="systemName"/>.</summary>
    /// <param name="explicitPath">The file the user named, or null/empty.</param>
    /// <param name="libtorchCandidates">Names or paths of libtorch_cuda.so to look in.</param>
    /// <param name="systemName">The soname searched by the loader.</param>
    /// <returns>The library.</returns>
    /// <exception cref="DllNotFoundException">Nothing usable; the message names every place tried and why each failed.</exception>
    public static Loaded Find(string? explicitPath, IEnumerable<string> libtorchCandidates, string systemName)
    {
        var tried = new List<string>();
        if (explicitPath is { Length: > 0 })
        {
            if (TryUse(explicitPath, $"{PathVariable}={explicitPath}", tried, requireFile: true) is { } chosen) return chosen;
            throw new DllNotFoundException($"{PathVariable}={explicitPath} cannot be used as NCCL: {string.Join("; ", tried)}. " +
                $"Point {PathVariable} at NCCL 2's libnccl.so.2 (e.g. /usr/lib/x86_64-linux-gnu/libnccl.so.2), or unset it to search " +
                $"libtorch_cuda.so and {systemName}.");
        }
        foreach (var candidate in libtorchCandidates)
            if (TryUse(candidate, "libtorch_cuda.so (libtorch's own NCCL)", tried, requireFile: false) is { } chosen) return chosen;
        if (TryUse(systemName, $"{systemName} (the loader's search)", tried, requireFile: false) is { } system) return system;
        throw new DllNotFoundException("NCCL was not found, and data-parallel training on CUDA all-reduces the gradients with it. Tried: " +
            string.Join("; ", tried) + ". Install NCCL 2 (Debian/Ubuntu with NVIDIA's CUDA repository: apt-get install libnccl2; " +
            $"or NVIDIA's NCCL tarball, adding its lib folder to LD_LIBRARY_PATH), or set {PathVariable} to the full path of a libnccl.so.2 " +
            "(pip's nvidia-nccl-cu12 has one under site-packages/nvidia/nccl/lib).");
    }

    private static Loaded? TryUse(string name, string origin, List<string> tried, bool requireFile)
    {
        if (requireFile && !System.IO.File.Exists(name))
        {
            tried.Add($"{name}: no such file");
            return null;
        }
        // Only absolute paths and bare sonames are handed to dlopen (a relative path would resolve against the cwd).
        if (!NativeLibrary.TryLoad(name, out nint handle))
        {
            tried.Add($"{name}: {(requireFile ? "cannot be loaded (not a shared library for this machine, or its dependencies are missing)" : "not loaded and not found by the loader")}");
            return null;
        }
        var missing = Functions.Where(f => !NativeLibrary.TryGetExport(handle, f, out _)).ToList();
        if (missing.Count > 0)
        {
            tried.Add($"{name}: loads but does not export {string.Join(", ", missing)} (not an NCCL library{(requireFile ? "" : ", or one that hides NCCL's symbols")})");
            NativeLibrary.Free(handle);
            return null;
        }
        return new Loaded(handle, origin, FileOf(NativeLibrary.GetExport(handle, "ncclAllReduce")) ?? name);
    }

    /// <summary>The file a loaded function lives in (dladdr), or null.</summary>
    /// <param name="function">The function's address.</param>
    /// <returns>The path of the shared object.</returns>
    public static unsafe string? FileOf(nint function)
    {
        DlInfo info;
        try
        {
            return DlAddr(function, &info) != 0 && info.FileName != 0 ? Marshal.PtrToStringUTF8(info.FileName) : null;
        }
        catch (EntryPointNotFoundException)
        {
            return null; // glibc before 2.34 keeps dladdr in libdl
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct DlInfo
    {
        public nint FileName;
        public nint Base;
        public nint SymbolName;
        public nint SymbolAddress;
    }

    // glibc 2.34+ has dladdr in libc itself (earlier in libdl, which libc's soname then does not name).
    [LibraryImport("libc", EntryPoint = "dladdr")]
    private static unsafe partial int DlAddr(nint address, DlInfo* info);
}

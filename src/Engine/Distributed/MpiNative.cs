using System.Reflection;
using System.Runtime.InteropServices;

namespace NanoVlm.Engine.Distributed;

/// <summary>
/// The few MPI functions data-parallel training calls, bound directly to MPICH's C library. MPICH's handles are plain
/// ints with fixed values (mpi.h of MPICH 4: <c>MPI_COMM_WORLD 0x44000000</c>, <c>MPI_FLOAT 0x4c00040a</c>, …), shared
/// by the MPICH ABI family (MPICH, Intel MPI, MVAPICH, Cray MPICH), so no C shim is needed. Open MPI's handles are
/// pointers to its own globals: it is not supported.
/// </summary>
internal static partial class MpiNative
{
    public const string Library = "mpich";

    public const int Success = 0;
    public const int ThreadFunneled = 1;
    public const int CommWorld = 0x44000000;
    public const int Float = 0x4c00040a;
    public const int Double = 0x4c00080b;
    public const int Byte = 0x4c00010d;
    public const int OpMax = 0x58000001;
    public const int OpMin = 0x58000002;
    public const int OpSum = 0x58000003;
    public const int ErrorsReturn = 0x54000001;
    public static readonly nint InPlace = -1; // MPICH: #define MPI_IN_PLACE (void *) -1

    // Candidates in order: an explicit path, MPICH's soname, the MPICH-ABI soname of Intel MPI/MVAPICH/Cray.
    private static readonly string[] Candidates = ["libmpich.so.12", "libmpi.so.12", "libmpich.so"];

    static MpiNative() => NativeLibrary.SetDllImportResolver(typeof(MpiNative).Assembly, Resolve);

    /// <summary>Loads the library now, so a missing MPI is one clear error instead of a DllNotFoundException later.</summary>
    public static void EnsureLoaded() => _ = Handle.Value;

    private static readonly Lazy<nint> Handle = new(() =>
    {
        string? explicitPath = Environment.GetEnvironmentVariable("NANOVLM_MPI_LIBRARY");
        foreach (string name in explicitPath is { Length: > 0 } ? [explicitPath] : Candidates)
            if (NativeLibrary.TryLoad(name, out nint h)) return h;
        throw new DllNotFoundException(explicitPath is { Length: > 0 }
            ? $"NANOVLM_MPI_LIBRARY={explicitPath} cannot be loaded."
            : $"No MPICH library found ({string.Join(", ", Candidates)}). Install MPICH (Debian/Ubuntu: apt-get install mpich) or set NANOVLM_MPI_LIBRARY to an MPICH-ABI libmpi.so.");
    });

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
        => name == Library ? Handle.Value : 0;

    [LibraryImport(Library, EntryPoint = "MPI_Initialized")]
    public static partial int Initialized(out int flag);

    [LibraryImport(Library, EntryPoint = "MPI_Init_thread")]
    public static partial int InitThread(nint argc, nint argv, int required, out int provided);

    [LibraryImport(Library, EntryPoint = "MPI_Comm_set_errhandler")]
    public static partial int CommSetErrhandler(int comm, int handler);

    [LibraryImport(Library, EntryPoint = "MPI_Comm_rank")]
    public static partial int CommRank(int comm, out int rank);

    [LibraryImport(Library, EntryPoint = "MPI_Comm_size")]
    public static partial int CommSize(int comm, out int size);

    [LibraryImport(Library, EntryPoint = "MPI_Allreduce")]
    public static partial int Allreduce(nint sendBuffer, nint receiveBuffer, int count, int datatype, int op, int comm);

    [LibraryImport(Library, EntryPoint = "MPI_Bcast")]
    public static partial int Bcast(nint buffer, int count, int datatype, int root, int comm);

    [LibraryImport(Library, EntryPoint = "MPI_Abort")]
    public static partial int Abort(int comm, int errorCode);

    [LibraryImport(Library, EntryPoint = "MPI_Finalize")]
    public static partial int Finalize();

    [LibraryImport(Library, EntryPoint = "MPI_Error_string")]
    public static unsafe partial int ErrorString(int code, byte* text, out int length);

    /// <summary>MPICH's text for an error code.</summary>
    public static unsafe string Describe(int code)
    {
        byte* text = stackalloc byte[1024]; // MPI_MAX_ERROR_STRING is 1024 in MPICH
        return ErrorString(code, text, out int length) == Success ? Marshal.PtrToStringUTF8((nint)text, length) : $"MPI error {code}";
    }
}

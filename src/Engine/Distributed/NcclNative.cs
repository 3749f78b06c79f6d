using System.Runtime.InteropServices;

namespace NanoVlm.Engine.Distributed;

/// <summary>NCCL's <c>ncclUniqueId</c>: 128 opaque bytes (<c>NCCL_UNIQUE_ID_BYTES</c> of nccl.h), passed by value.</summary>
[StructLayout(LayoutKind.Sequential, Size = Bytes)]
internal unsafe struct NcclUniqueId
{
    public const int Bytes = 128;

    public fixed byte Internal[Bytes];
}

/// <summary>
/// The NCCL functions the device gradient all-reduce calls, bound as unmanaged function pointers of the library
/// <see cref="NcclLibrary"/> found. Signatures and values from NCCL's src/nccl.h.in: every call returns
/// <c>ncclResult_t</c> (an int, <c>ncclSuccess = 0</c>); <c>ncclComm_t</c> and <c>cudaStream_t</c> are pointers;
/// <c>ncclDataType_t</c> and <c>ncclRedOp_t</c> are int enums (<c>ncclFloat32 = 7</c>, <c>ncclSum = 0</c>).
/// <c>cudaSetDevice</c> (NCCL uses the calling thread's current device) comes from the CUDA runtime libtorch loaded.
/// </summary>
internal sealed unsafe class NcclNative
{
    public const int Success = 0;
    public const int InProgress = 7;
    public const int Float32 = 7;
    public const int Sum = 0;

    /// <summary>CUDA's legacy default stream (handle 0), where libtorch runs its kernels while no stream is set.</summary>
    public static readonly nint DefaultStream = 0;

    private static readonly string[] ResultNames =
        ["ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError", "ncclInternalError", "ncclInvalidArgument",
         "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress", "ncclTimeout"];

    private readonly delegate* unmanaged<int*, int> _getVersion;
    private readonly delegate* unmanaged<NcclUniqueId*, int> _getUniqueId;
    private readonly delegate* unmanaged<nint*, int, NcclUniqueId, int, int> _commInitRank;
    private readonly delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int> _allReduce;
    private readonly delegate* unmanaged<nint, int> _commDestroy;
    private readonly delegate* unmanaged<nint, int> _commAbort;
    private readonly delegate* unmanaged<nint, int*, int> _commGetAsyncError;
    private readonly delegate* unmanaged<int, byte*> _getErrorString;
    private delegate* unmanaged<int, int> _cudaSetDevice;

    private NcclNative(NcclLibrary.Loaded library)
    {
        Library = library;
        nint h = library.Handle;
        _getVersion = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(h, "ncclGetVersion");
        _getUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)NativeLibrary.GetExport(h, "ncclGetUniqueId");
        _commInitRank = (delegate* unmanaged<nint*, int, NcclUniqueId, int, int>)NativeLibrary.GetExport(h, "ncclCommInitRank");
        _allReduce = (delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int>)NativeLibrary.GetExport(h, "ncclAllReduce");
        _commDestroy = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(h, "ncclCommDestroy");
        _commAbort = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(h, "ncclCommAbort");
        _commGetAsyncError = (delegate* unmanaged<nint, int*, int>)NativeLibrary.GetExport(h, "ncclCommGetAsyncError");
        _getErrorString = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(h, "ncclGetErrorString");
    }

    /// <summary>The library the functions are bound to.</summary>
    public NcclLibrary.Loaded Library { get; }

    /// <summary>Binds the library <see cref="NcclLibrary.Find()"/> finds.</summary>
    /// <exception cref="DllNotFoundException">No NCCL (the message names every place tried).</exception>
    public static NcclNative Load() => new(NcclLibrary.Find());

    /// <summary>Binds <paramref name="library"/> (which exports every function of <see cref="NcclLibrary.Functions"/>).</summary>
    public static NcclNative Bind(NcclLibrary.Loaded library) => new(library);

    /// <summary>NCCL's version as text, e.g. 2.27.3 (decoded from ncclGetVersion's code, see NCCL_VERSION in nccl.h).</summary>
    public string Version()
    {
        int code;
        Check(_getVersion(&code), "ncclGetVersion");
        return FormatVersion(code);
    }

    /// <summary>Decodes <c>NCCL_VERSION_CODE</c>: X*1000+Y*100+Z up to 2.8, X*10000+Y*100+Z from 2.9 on.</summary>
    public static string FormatVersion(int code)
        => code >= 10000 ? $"{code / 10000}.{code % 10000 / 100}.{code % 100}" : $"{code / 1000}.{code % 1000 / 100}.{code % 100}";

    public NcclUniqueId GetUniqueId()
    {
        NcclUniqueId id;
        Check(_getUniqueId(&id), "ncclGetUniqueId");
        return id;
    }

    public nint CommInitRank(int ranks, NcclUniqueId id, int rank)
    {
        nint comm;
        Check(_commInitRank(&comm, ranks, id, rank), $"ncclCommInitRank(rank {rank} of {ranks})");
        return comm;
    }

    public void AllReduceSumFloat32InPlace(nint buffer, long count, nint comm)
        => Check(_allReduce(buffer, buffer, (nuint)count, Float32, Sum, comm, DefaultStream), $"ncclAllReduce({count} floats)");

    /// <summary>ncclCommDestroy (finalizes, then frees; may wait for the other ranks).</summary>
    public void CommDestroy(nint comm) => Check(_commDestroy(comm), "ncclCommDestroy");

    public int CommAbort(nint comm) => _commAbort(comm);

    /// <summary>The communicator's asynchronous error (a peer that failed, a network error), or ncclSuccess.</summary>
    public int CommGetAsyncError(nint comm)
    {
        int error;
        Check(_commGetAsyncError(comm, &error), "ncclCommGetAsyncError");
        return error;
    }

    /// <summary>Makes <paramref name="device"/> the calling thread's current CUDA device (cudaSetDevice).</summary>
    public void SetCudaDevice(int device)
    {
        if (_cudaSetDevice == null) _cudaSetDevice = (delegate* unmanaged<int, int>)FindCudaSetDevice();
        int code = _cudaSetDevice(device);
        if (code != 0) throw new InvalidOperationException($"cudaSetDevice({device}) failed with CUDA error {code}.");
    }

    /// <summary>NCCL's text for a result code, with the code's name.</summary>
    public string Describe(int result)
    {
        string name = result >= 0 && result < ResultNames.Length ? ResultNames[result] : $"ncclResult {result}";
        byte* text = _getErrorString(result);
        return text == null ? name : $"{name}: {Marshal.PtrToStringUTF8((nint)text)}";
    }

    private void Check(int result, string call)
    {
        if (result != Success) throw new InvalidOperationException($"{call} failed: {Describe(result)} (NCCL from {Library.File}; NCCL_DEBUG=WARN tells more).");
    }

    // The CUDA runtime libtorch loaded (dlsym on a handle also searches that library's dependencies), else the
    // loader's libcudart.so.12. A libnccl.so.2 links the CUDA runtime statically and hides it, but the current device
    // is the driver's per-thread context, shared by every copy of the runtime.
    private nint FindCudaSetDevice()
    {
        var tried = new List<string>();
        foreach (var name in NcclLibrary.LibtorchCudaCandidates().Prepend(Library.File).Append("libcudart.so.12"))
        {
            if (NativeLibrary.TryLoad(name, out nint h) && NativeLibrary.TryGetExport(h, "cudaSetDevice", out nint f)) return f;
            tried.Add(name);
        }
        throw new DllNotFoundException($"cudaSetDevice was not found in {string.Join(", ", tried)}: is TorchSharp's CUDA backend loaded?");
    }
}

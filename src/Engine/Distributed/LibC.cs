using System.Runtime.InteropServices;

namespace NanoVlm.Engine.Distributed;

/// <summary>The C library calls the distributed code needs: <c>setenv</c> (Environment.SetEnvironmentVariable does not
/// reach native getenv on Linux, and MPI/UCX read their settings with getenv) and <c>_exit</c> (leave now, from any
/// thread, without running managed shutdown that may wait on a thread blocked in a collective).</summary>
internal static partial class LibC
{
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "_exit")]
    public static partial void Exit(int status);
}

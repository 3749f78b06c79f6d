using System.Reflection;
using System.Runtime.InteropServices;
using NanoVlm.Engine.Runtime;

namespace NanoVlm.Engine.Tests;

/// <summary>
/// The build-time fix for TorchSharp's libstdc++ requirement (src/Engine/build, README "Linux: libstdc++ older than
/// GCC 13"): the ELF facts it relies on, and that this test run's own output folder got the right library.
/// </summary>
public class GlibcxxFixTests
{
    private const string Shim = "libnanovlm_glibcxx_compat.so";

    private static string Meta(string key) => typeof(GlibcxxFixTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value ?? "";

    /// <summary>The package's (unpatched) libLibTorchSharp.so, as resolved by the build.</summary>
    private static string PackageLibrary => Meta("TorchSharpNativeSource");

    /// <summary>The libLibTorchSharp.so copied next to the tests.</summary>
    private static string OutputLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private static bool FixExpected()
    {
        string libstdcxx = Meta("SystemLibStdCxx");
        return Meta("GlibcxxFixMode") == "always"
            || (Meta("GlibcxxFixMode") == "auto" && libstdcxx != ""
                && NanoVlmElf.Check(PackageLibrary, libstdcxx, []).Fixable);
    }

    [Fact]
    public void Package_library_needs_glibcxx_3_4_32_only_for_ios_base_library_init()
    {
        Assert.True(OperatingSystem.IsLinux(), "TorchSharp-cpu here is the linux-x64 build");
        Assert.True(File.Exists(PackageLibrary), PackageLibrary);
        var needs = NanoVlmElf.Read(PackageLibrary).VersionNeeds();
        var v32 = Assert.Single(needs, n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", v32.File);
        Assert.False(v32.IsWeak);

        // Treat 3.4.32 as missing: exactly one symbol is bound to it, the one the shim provides.
        var r = NanoVlmElf.Check(PackageLibrary, null, ["GLIBCXX_3.4.32"]);
        Assert.Equal(["GLIBCXX_3.4.32"], r.MissingVersions);
        Assert.True(r.Fixable);
        Assert.Equal([NanoVlmElf.IosBaseLibraryInit], r.Symbols.Distinct());
    }

    [Fact]
    public void Check_against_the_system_libstdcxx_matches_its_version_definitions()
    {
        string libstdcxx = Meta("SystemLibStdCxx");
        Assert.True(File.Exists(libstdcxx), $"no libstdc++ found by the build: '{libstdcxx}'");
        var defined = NanoVlmElf.Read(libstdcxx).VersionDefinitions();
        Assert.Contains("GLIBCXX_3.4", defined);
        Assert.Contains("CXXABI_1.3", defined);
        var r = NanoVlmElf.Check(PackageLibrary, libstdcxx, []);
        Assert.Equal(!defined.Contains("GLIBCXX_3.4.32"), r.MissingVersions.Contains("GLIBCXX_3.4.32"));
        Assert.All(r.MissingVersions, v => Assert.DoesNotContain(v, defined));
    }

    [Fact]
    public void MarkWeak_sets_ver_flg_weak_on_that_entry_only()
    {
        string tmp = Path.Combine(Path.GetTempPath(), $"nanovlm-elf-{Guid.NewGuid():N}.so");
        File.Copy(PackageLibrary, tmp);
        try
        {
            var before = NanoVlmElf.Read(tmp).VersionNeeds();
            Assert.Equal(1, NanoVlmElf.MarkWeak(tmp, ["GLIBCXX_3.4.32"]));
            Assert.Equal(0, NanoVlmElf.MarkWeak(tmp, ["GLIBCXX_3.4.32"]));   // idempotent
            var after = NanoVlmElf.Read(tmp).VersionNeeds();
            Assert.Equal(before.Count, after.Count);
            for (int i = 0; i < before.Count; i++)
            {
                Assert.Equal(before[i].Version, after[i].Version);
                bool target = before[i].Version == "GLIBCXX_3.4.32";
                Assert.Equal(target ? before[i].Flags | NanoVlmElf.VerFlgWeak : before[i].Flags, after[i].Flags);
            }
            // A weak need is never reported as missing; the other bytes are untouched.
            Assert.Empty(NanoVlmElf.Check(tmp, null, ["GLIBCXX_3.4.32"]).MissingVersions);
            byte[] a = File.ReadAllBytes(PackageLibrary), b = File.ReadAllBytes(tmp);
            Assert.Equal(a.Length, b.Length);
            Assert.Equal(1, Enumerable.Range(0, a.Length).Count(i => a[i] != b[i])); // the flags byte
        }
        finally { File.Delete(tmp); }
    }

    [Fact]
    public void Output_folder_has_the_patched_library_exactly_when_the_system_needs_it()
    {
        Assert.True(File.Exists(OutputLibrary), OutputLibrary);
        string shimPath = Path.Combine(Path.GetDirectoryName(OutputLibrary)!, Shim);
        if (FixExpected())
        {
            Assert.True(File.Exists(shimPath), shimPath);
            Assert.Equal("", NanoVlmElf.VerifyPatched(OutputLibrary, ["GLIBCXX_3.4.32"], [NanoVlmElf.IosBaseLibraryInit], Shim));
            var syms = NanoVlmElf.Read(shimPath).DynamicSymbolVersions();
            Assert.Contains(syms, s => s.Key == NanoVlmElf.IosBaseLibraryInit);
        }
        else
        {
            Assert.False(File.Exists(shimPath), shimPath);
            Assert.Equal(File.ReadAllBytes(PackageLibrary), File.ReadAllBytes(OutputLibrary));
        }
    }

    [Fact]
    public void Loaded_native_library_is_the_output_copy_and_iostreams_work()
    {
        TorchRuntime.EnsureLoaded();
        string maps = File.ReadAllText("/proc/self/maps");
        Assert.Contains(OutputLibrary, maps);
        Assert.Equal(FixExpected(), maps.Contains(Shim));

        // std::cout must be constructed (vtable set) and usable: flush it through libstdc++.
        IntPtr libstdcxx = NativeLibrary.Load("libstdc++.so.6");
        IntPtr cout = NativeLibrary.GetExport(libstdcxx, "_ZSt4cout");
        Assert.NotEqual(IntPtr.Zero, Marshal.ReadIntPtr(cout));
        unsafe
        {
            var flush = (delegate* unmanaged<IntPtr, IntPtr>)NativeLibrary.GetExport(libstdcxx, "_ZNSo5flushEv");
            Assert.Equal(cout, flush(cout));
        }

        if (FixExpected())
        {
            IntPtr shim = NativeLibrary.Load(Path.Combine(Path.GetDirectoryName(OutputLibrary)!, Shim));
            unsafe
            {
                var version = (delegate* unmanaged<int>)NativeLibrary.GetExport(shim, "nanovlm_glibcxx_compat_version");
                Assert.Equal(1, version());
                var init = (delegate* unmanaged<void>)NativeLibrary.GetExport(shim, NanoVlmElf.IosBaseLibraryInit);
                init(); // a no-op, as in libstdc++ 13
            }
        }
    }

    /// <summary>A C program (no std::ios_base::Init of its own) that reports whether std::cout is constructed before and after dlopen(argv[1]).</summary>
    private const string StreamProbe = """
        #include <dlfcn.h>
        #include <stdio.h>
        int main(int argc, char** argv) {
          void* so = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
          void** cout = (void**)dlsym(so, "_ZSt4cout");
          int before = *cout != 0;
          if (!dlopen(argv[1], RTLD_NOW)) { printf("dlopen failed: %s\n", dlerror()); return 2; }
          void* (*write)(void*, const char*, long) = (void* (*)(void*, const char*, long))dlsym(so, "_ZNSo5writeEPKcl");
          void* (*flush)(void*) = (void* (*)(void*))dlsym(so, "_ZNSo5flushEv");
          fflush(stdout);
          if (*cout) { write(cout, "cout-ok\n", 8); flush(cout); }
          printf("before=%d after=%d\n", before, *cout != 0);
          return 0;
        }
        """;

    [Fact]
    public void Shim_constructs_the_standard_streams_that_libstdcxx_13_would()
    {
        string shimPath = Path.Combine(Path.GetDirectoryName(OutputLibrary)!, Shim);
        if (!FixExpected())
        {
            // No shim: the system libstdc++ is GCC 13+ and constructs the standard streams itself.
            Assert.Contains("GLIBCXX_3.4.32", NanoVlmElf.Read(Meta("SystemLibStdCxx")).VersionDefinitions());
            return;
        }
        string dir = Directory.CreateTempSubdirectory("nanovlm-stream-probe").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "probe.c"), StreamProbe);
            Assert.Equal("", Run("gcc", $"-o probe probe.c -ldl", dir).Trim());
            string output = Run(Path.Combine(dir, "probe"), $"\"{shimPath}\"", dir);
            // With libstdc++ < 13 nothing constructs cout until someone owns a std::ios_base::Init: the shim does.
            Assert.Equal("cout-ok\nbefore=0 after=1\n", output);
            // The patched library brings the shim in by itself (DT_NEEDED) and loads in a plain C process.
            Assert.Equal("cout-ok\nbefore=0 after=1\n", Run(Path.Combine(dir, "probe"), $"\"{OutputLibrary}\"", dir));
        }
        finally { Directory.Delete(dir, recursive: true); }

        static string Run(string file, string args, string cwd)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(file, args)
            {
                WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var p = System.Diagnostics.Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"{file} {args}: exit {p.ExitCode}: {stdout}{stderr}");
            return stdout + stderr;
        }
    }
}

using System.Reflection;

namespace NanoVlm.Engine.Tests;

/// <summary>
/// The build-time fix for TorchSharp's libstdc++ requirement (build/glibcxx/README.md): the ELF facts it relies on
/// (checked on the package's real library), the ELF editor itself, and that this test run's own output folder got
/// the right library.
/// </summary>
public class GlibcxxFixTests
{
    internal static string Meta(string key) => typeof(GlibcxxFixTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value ?? "";

    /// <summary>The package's (unpatched) libLibTorchSharp.so, as resolved by the build.</summary>
    internal static string PackageLibrary => Meta("TorchSharpNativeSource");

    /// <summary>The folder TorchSharp's native libraries are copied to next to the tests.</summary>
    internal static string NativeDir => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");

    /// <summary>The libLibTorchSharp.so copied next to the tests.</summary>
    internal static string OutputLibrary => Path.Combine(NativeDir, "libLibTorchSharp.so");

    /// <summary>True when the build was expected to patch (the system libstdc++ lacks GLIBCXX_3.4.32, or mode always).</summary>
    internal static bool FixExpected()
    {
        string libstdcxx = Meta("SystemLibStdCxx");
        return Meta("GlibcxxFixMode") == "always"
            || (Meta("GlibcxxFixMode") == "auto" && libstdcxx != ""
                && NanoVlmElf.Check(PackageLibrary, libstdcxx, []).Fixable);
    }

    private static string TempCopy(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"nanovlm-elf-{Guid.NewGuid():N}.so");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Package_library_needs_glibcxx_3_4_32_only_for_an_unrelocated_ios_base_library_init()
    {
        Assert.True(OperatingSystem.IsLinux(), "TorchSharp-cpu here is the linux-x64 build");
        Assert.True(File.Exists(PackageLibrary), PackageLibrary);
        var elf = NanoVlmElf.Read(PackageLibrary);
        var v32 = Assert.Single(elf.VersionNeeds(), n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", v32.File);
        Assert.False(v32.IsWeak);

        // Exactly one symbol is bound to 3.4.32, undefined and used by no relocation: ld.so never looks it up.
        var bound = Assert.Single(elf.DynamicSymbols(), s => s.VersionIndex == v32.Index);
        Assert.Equal(NanoVlmElf.IosBaseLibraryInit, bound.Name);
        Assert.True(bound.IsUndefined);
        Assert.False(bound.IsRelocated);
        // The relocation scan does see the symbols the library really uses (operator new, from libstdc++).
        Assert.Contains(elf.DynamicSymbols(), s => s.Name == "_Znwm" && s.IsUndefined && s.IsRelocated);

        var r = NanoVlmElf.Check(PackageLibrary, null, ["GLIBCXX_3.4.32"]);
        Assert.Equal(["GLIBCXX_3.4.32"], r.MissingVersions);
        Assert.Equal([NanoVlmElf.IosBaseLibraryInit], r.Symbols);
        Assert.True(r.Fixable, r.Details);
    }

    [Fact]
    public void A_missing_version_whose_symbols_are_relocated_is_not_fixable()
    {
        // GLIBCXX_3.4.30 binds functions the library really calls: weakening it would only move the failure to the
        // first call, so the build must refuse (NVLM1002) instead of patching.
        var r = NanoVlmElf.Check(PackageLibrary, null, ["GLIBCXX_3.4.30"]);
        Assert.Equal(["GLIBCXX_3.4.30"], r.MissingVersions);
        Assert.NotEmpty(r.Symbols);
        Assert.False(r.Fixable);
        Assert.Contains("; relocations use ", r.Details);
    }

    [Fact]
    public void Standard_streams_are_set_up_by_libtorchs_own_dependencies_loaded_before_libtorchsharp()
    {
        // What libstdc++ 13 does by itself (construct cout/cerr/...), an older libstdc++ leaves to std::ios_base::Init
        // objects. libc10.so and libtorch_cpu.so, built with an older GCC, own such objects, and as DT_NEEDED
        // dependencies of libLibTorchSharp.so their initializers run before any of its code: no shim is needed.
        var needed = NanoVlmElf.Read(PackageLibrary).Needed();
        foreach (string dependency in new[] { "libc10.so", "libtorch_cpu.so" })
        {
            Assert.Contains(dependency, needed);
            var symbols = NanoVlmElf.Read(Path.Combine(NativeDir, dependency)).DynamicSymbols();
            Assert.Contains(symbols, s => s.Name == "_ZNSt8ios_base4InitC1Ev" && s.IsUndefined && s.IsRelocated);
        }
        // And libLibTorchSharp.so itself neither constructs nor names the standard streams.
        Assert.DoesNotContain(NanoVlmElf.Read(PackageLibrary).DynamicSymbols(),
            s => s.Name is "_ZNSt8ios_base4InitC1Ev" or "_ZSt4cout" or "_ZSt4cerr");
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
    public void MarkWeak_changes_one_flag_byte_of_the_real_library_and_is_idempotent()
    {
        byte[] original = File.ReadAllBytes(PackageLibrary);
        string tmp = TempCopy(original);
        try
        {
            var before = NanoVlmElf.Read(tmp).VersionNeeds();
            Assert.NotEqual("", NanoVlmElf.VerifyWeak(tmp, ["GLIBCXX_3.4.32"]));
            Assert.Equal(1, NanoVlmElf.MarkWeak(tmp, ["GLIBCXX_3.4.32"]));
            byte[] once = File.ReadAllBytes(tmp);
            Assert.Equal(0, NanoVlmElf.MarkWeak(tmp, ["GLIBCXX_3.4.32"]));   // idempotent: nothing left to change
            Assert.Equal(once, File.ReadAllBytes(tmp));

            var after = NanoVlmElf.Read(tmp).VersionNeeds();
            Assert.Equal(before.Count, after.Count);
            for (int i = 0; i < before.Count; i++)
            {
                Assert.Equal(before[i].Version, after[i].Version);
                bool target = before[i].Version == "GLIBCXX_3.4.32";
                Assert.Equal(target ? before[i].Flags | NanoVlmElf.VerFlgWeak : before[i].Flags, after[i].Flags);
            }
            Assert.Equal("", NanoVlmElf.VerifyWeak(tmp, ["GLIBCXX_3.4.32"]));
            // A weak need is never reported as missing.
            Assert.Empty(NanoVlmElf.Check(tmp, null, ["GLIBCXX_3.4.32"]).MissingVersions);

            // Every other byte is untouched: the only difference is vna_flags of that entry.
            var v32 = before.Single(n => n.Version == "GLIBCXX_3.4.32");
            Assert.Equal(original.Length, once.Length);
            int[] diff = Enumerable.Range(0, original.Length).Where(i => original[i] != once[i]).ToArray();
            Assert.Equal([(int)v32.AuxOffset + 4], diff);
            Assert.Equal(original[diff[0]] | NanoVlmElf.VerFlgWeak, once[diff[0]]);
        }
        finally { File.Delete(tmp); }
    }

    [Fact]
    public void Reader_refuses_a_non_elf_file_naming_it()
    {
        string tmp = TempCopy("#!/bin/sh\necho not a library\n"u8.ToArray());
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => NanoVlmElf.Read(tmp));
            Assert.Equal($"{tmp}: not an ELF file (no \\x7fELF magic at offset 0)", e.Message);
            Assert.Throws<InvalidDataException>(() => NanoVlmElf.MarkWeak(tmp, ["GLIBCXX_3.4.32"]));
        }
        finally { File.Delete(tmp); }
    }

    [Fact]
    public void Reader_refuses_a_32_bit_elf()
    {
        byte[] elf32 = File.ReadAllBytes(PackageLibrary)[..64];
        elf32[4] = 1; // EI_CLASS = ELFCLASS32
        string tmp = TempCopy(elf32);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => NanoVlmElf.Read(tmp));
            Assert.Equal($"{tmp}: only 64-bit little-endian ELF is supported (EI_CLASS 1, EI_DATA 1)", e.Message);
        }
        finally { File.Delete(tmp); }
    }

    [Theory]
    [InlineData(40, "shorter than the 64-byte ELF header")]
    [InlineData(4096, "the section header table")]      // the headers sit at the end of the file
    [InlineData(-100, "the section header table")]      // cut inside the section header table itself
    public void Reader_refuses_a_truncated_library_and_MarkWeak_leaves_it_unchanged(int keep, string what)
    {
        byte[] original = File.ReadAllBytes(PackageLibrary);
        byte[] cut = original[..(keep > 0 ? keep : original.Length + keep)];
        string tmp = TempCopy(cut);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => NanoVlmElf.Read(tmp));
            Assert.StartsWith($"{tmp}: truncated: ", e.Message);
            Assert.Contains(what, e.Message);
            Assert.Contains($"({cut.Length} bytes)", e.Message);
            Assert.Throws<InvalidDataException>(() => NanoVlmElf.MarkWeak(tmp, ["GLIBCXX_3.4.32"]));
            Assert.Equal(cut, File.ReadAllBytes(tmp));
        }
        finally { File.Delete(tmp); }
    }

    [Fact]
    public void Reader_refuses_a_library_whose_section_data_is_cut_off()
    {
        // Keep the section header table (moved to the front) but drop the bytes of the sections it describes.
        byte[] original = File.ReadAllBytes(PackageLibrary);
        long shoff = BitConverter.ToInt64(original, 0x28);
        int shnum = BitConverter.ToUInt16(original, 0x3C), shentsize = BitConverter.ToUInt16(original, 0x3A);
        byte[] damaged = new byte[64 + shnum * shentsize];
        Array.Copy(original, damaged, 64);
        Array.Copy(original, shoff, damaged, 64, shnum * shentsize);
        BitConverter.TryWriteBytes(damaged.AsSpan(0x28), 64L);
        string tmp = TempCopy(damaged);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => NanoVlmElf.Read(tmp));
            Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(tmp)}: truncated: section \d+ \(type 0x[0-9a-f]+, offset \d+, \d+ bytes\) ends past the end of the file \({damaged.Length} bytes\)$", e.Message);
        }
        finally { File.Delete(tmp); }
    }

    [Fact]
    public void Output_folder_has_the_patched_library_exactly_when_the_system_needs_it()
    {
        Assert.True(File.Exists(OutputLibrary), OutputLibrary);
        byte[] package = File.ReadAllBytes(PackageLibrary), output = File.ReadAllBytes(OutputLibrary);
        if (FixExpected())
        {
            Assert.Equal("", NanoVlmElf.VerifyWeak(OutputLibrary, ["GLIBCXX_3.4.32"]));
            Assert.Equal(package.Length, output.Length);
            Assert.Equal(1, Enumerable.Range(0, package.Length).Count(i => package[i] != output[i]));
            Assert.Equal(NanoVlmElf.Read(PackageLibrary).Needed(), NanoVlmElf.Read(OutputLibrary).Needed());
        }
        else
        {
            Assert.Equal(package, output);
        }
    }
}

// ELF inspection and the one edit patchelf cannot do, for NanoVlm.Engine.targets (TorchSharp glibcxx fix).
// Compiled by MSBuild's RoslynCodeTaskFactory (an inline task: no tool to install, no python needed) and, with
// NANOVLM_ELF_ONLY defined, by tests/NanoVlm.Engine.Tests. Kept to C# 7.3 and netstandard2.0 APIs on purpose.
// See src/Engine/README.md for what the fix does and why.
#if NANOVLM_ELF_ONLY
#nullable disable
#endif
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
#if !NANOVLM_ELF_ONLY
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
#endif

/// <summary>One entry of an ELF object's version needs (.gnu.version_r): version <see cref="Version"/> of <see cref="File"/>.</summary>
public sealed class NanoVlmElfVersionNeed
{
    /// <summary>The needed library's soname, e.g. libstdc++.so.6.</summary>
    public string File = "";
    /// <summary>The version name, e.g. GLIBCXX_3.4.32.</summary>
    public string Version = "";
    /// <summary>vna_flags; bit 2 (VER_FLG_WEAK) makes a missing version non-fatal for the dynamic linker.</summary>
    public int Flags;
    /// <summary>vna_other: the version index that .gnu.version entries use to refer to this version.</summary>
    public int Index;
    /// <summary>File offset of the Elf64_Vernaux record.</summary>
    public long AuxOffset;
    /// <summary>True when VER_FLG_WEAK is set.</summary>
    public bool IsWeak { get { return (Flags & NanoVlmElf.VerFlgWeak) != 0; } }
}

/// <summary>A minimal reader (and one in-place writer) of 64-bit little-endian ELF dynamic-linking metadata.</summary>
public sealed class NanoVlmElf
{
    /// <summary>VER_FLG_WEAK from elf.h.</summary>
    public const int VerFlgWeak = 0x2;
    const uint ShtDynsym = 11, ShtDynamic = 6, ShtVerdef = 0x6ffffffd, ShtVerneed = 0x6ffffffe, ShtVersym = 0x6fffffff;

    sealed class Section { public uint Type; public long Offset; public long Size; public int Link; public int Info; }

    readonly byte[] data;
    readonly List<Section> sections = new List<Section>();

    /// <summary>The path the object was read from.</summary>
    public string Path { get; private set; }

    NanoVlmElf(string path, byte[] bytes)
    {
        Path = path;
        data = bytes;
        if (data.Length < 64 || data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
            throw new InvalidDataException(path + ": not an ELF file");
        if (data[4] != 2 || data[5] != 1)
            throw new InvalidDataException(path + ": only 64-bit little-endian ELF is supported");
        long shoff = I64(0x28);
        int shentsize = U16(0x3A), shnum = U16(0x3C);
        if (shoff == 0 || shnum == 0)
            throw new InvalidDataException(path + ": no section headers (stripped of them?)");
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            sections.Add(new Section
            {
                Type = U32(h + 4), Offset = I64(h + 24), Size = I64(h + 32), Link = (int)U32(h + 40), Info = (int)U32(h + 44),
            });
        }
    }

    /// <summary>Reads the whole file.</summary>
    public static NanoVlmElf Read(string path) { return new NanoVlmElf(path, File.ReadAllBytes(path)); }

    int U16(long o) { return data[o] | (data[o + 1] << 8); }
    uint U32(long o) { return (uint)(data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) | (data[o + 3] << 24)); }
    long I64(long o) { return (long)U32(o) | ((long)U32(o + 4) << 32); }

    string Str(Section strtab, long index)
    {
        long start = strtab.Offset + index, end = start;
        while (end < data.Length && data[end] != 0) end++;
        return Encoding.ASCII.GetString(data, (int)start, (int)(end - start));
    }

    Section Find(uint type) { return sections.FirstOrDefault(s => s.Type == type); }

    /// <summary>All (library, version) pairs this object needs, from .gnu.version_r.</summary>
    public List<NanoVlmElfVersionNeed> VersionNeeds()
    {
        var result = new List<NanoVlmElfVersionNeed>();
        var sec = Find(ShtVerneed);
        if (sec == null) return result;
        var strtab = sections[sec.Link];
        long vn = sec.Offset;
        for (int i = 0; i < sec.Info; i++)
        {
            int cnt = U16(vn + 2);
            string file = Str(strtab, U32(vn + 4));
            long aux = vn + U32(vn + 8);
            for (int j = 0; j < cnt; j++)
            {
                result.Add(new NanoVlmElfVersionNeed
                {
                    File = file, Flags = U16(aux + 4), Index = U16(aux + 6), Version = Str(strtab, U32(aux + 8)), AuxOffset = aux,
                });
                aux += U32(aux + 12);
            }
            uint next = U32(vn + 12);
            if (next == 0) break;
            vn += next;
        }
        return result;
    }

    /// <summary>The version names this object defines (.gnu.version_d), e.g. every GLIBCXX_* of a libstdc++.</summary>
    public HashSet<string> VersionDefinitions()
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        var sec = Find(ShtVerdef);
        if (sec == null) return result;
        var strtab = sections[sec.Link];
        long vd = sec.Offset;
        for (int i = 0; i < sec.Info; i++)
        {
            int cnt = U16(vd + 6);
            long aux = vd + U32(vd + 12);
            for (int j = 0; j < cnt; j++)
            {
                result.Add(Str(strtab, U32(aux)));
                uint anext = U32(aux + 4);
                if (anext == 0) break;
                aux += anext;
            }
            uint next = U32(vd + 16);
            if (next == 0) break;
            vd += next;
        }
        return result;
    }

    /// <summary>Dynamic symbols with their .gnu.version index (low 15 bits; 0 local, 1 global/unversioned).</summary>
    public List<KeyValuePair<string, int>> DynamicSymbolVersions()
    {
        var result = new List<KeyValuePair<string, int>>();
        var dynsym = Find(ShtDynsym);
        var versym = Find(ShtVersym);
        if (dynsym == null) return result;
        var strtab = sections[dynsym.Link];
        long count = dynsym.Size / 24;
        for (long i = 0; i < count; i++)
        {
            long s = dynsym.Offset + i * 24;
            int ver = versym == null ? 1 : U16(versym.Offset + i * 2) & 0x7fff;
            result.Add(new KeyValuePair<string, int>(Str(strtab, U32(s)), ver));
        }
        return result;
    }

    /// <summary>DT_NEEDED entries, in order.</summary>
    public List<string> Needed()
    {
        var result = new List<string>();
        var dyn = Find(ShtDynamic);
        if (dyn == null) return result;
        var strtab = sections[dyn.Link];
        for (long o = dyn.Offset; o + 16 <= dyn.Offset + dyn.Size; o += 16)
        {
            long tag = I64(o);
            if (tag == 0) break;
            if (tag == 1) result.Add(Str(strtab, I64(o + 8)));
        }
        return result;
    }

    /// <summary>Libraries matched by name: libstdc++.so.6 needs are what the fix is about.</summary>
    public static bool IsLibStdCxx(string soname) { return soname.StartsWith("libstdc++.so", StringComparison.Ordinal); }

    /// <summary>The symbol that GCC 13's &lt;iostream&gt; references to demand GLIBCXX_3.4.32; the only one the shim provides.</summary>
    public const string IosBaseLibraryInit = "_ZSt21ios_base_library_initv";

    /// <summary>Result of <see cref="Check"/>.</summary>
    public sealed class CheckResult
    {
        /// <summary>libstdc++ versions the library needs (non-weak) that the system libstdc++ lacks.</summary>
        public List<string> MissingVersions = new List<string>();
        /// <summary>Dynamic symbols bound to one of the missing versions.</summary>
        public List<string> Symbols = new List<string>();
        /// <summary>True when every such symbol is one the shim provides, i.e. patching makes the library load.</summary>
        public bool Fixable;
        /// <summary>Human-readable summary for build logs.</summary>
        public string Details = "";
    }

    /// <summary>
    /// Compares the libstdc++ versions <paramref name="library"/> needs with those <paramref name="libStdCxx"/> defines.
    /// <paramref name="assumeMissing"/> names versions to treat as missing regardless (to patch for an older target system).
    /// </summary>
    public static CheckResult Check(string library, string libStdCxx, IEnumerable<string> assumeMissing)
    {
        var lib = Read(library);
        // Without a libstdc++ to compare with, only the forced versions count as missing.
        var defined = libStdCxx == null ? null : Read(libStdCxx).VersionDefinitions();
        var forced = new HashSet<string>(assumeMissing ?? Enumerable.Empty<string>(), StringComparer.Ordinal);
        var result = new CheckResult();
        var indexes = new HashSet<int>();
        foreach (var need in lib.VersionNeeds())
        {
            if (!IsLibStdCxx(need.File) || need.IsWeak) continue;
            if (forced.Contains(need.Version) || (defined != null && !defined.Contains(need.Version)))
            {
                result.MissingVersions.Add(need.Version);
                indexes.Add(need.Index);
            }
        }
        foreach (var sym in lib.DynamicSymbolVersions())
            if (indexes.Contains(sym.Value)) result.Symbols.Add(sym.Key);
        result.Fixable = result.MissingVersions.Count > 0 && result.Symbols.All(s => s == IosBaseLibraryInit);
        result.Details = result.MissingVersions.Count == 0
            ? "every libstdc++ version needed by " + System.IO.Path.GetFileName(library) + " is provided by " + libStdCxx
            : System.IO.Path.GetFileName(library) + " needs " + string.Join(", ", result.MissingVersions) + " (for "
              + (result.Symbols.Count == 0 ? "no symbol" : string.Join(", ", result.Symbols)) + ") which " + libStdCxx + " lacks";
        return result;
    }

    /// <summary>Sets VER_FLG_WEAK on the libstdc++ version needs named in <paramref name="versions"/>; returns how many changed.</summary>
    public static int MarkWeak(string library, IEnumerable<string> versions)
    {
        var names = new HashSet<string>(versions, StringComparer.Ordinal);
        var elf = Read(library);
        int changed = 0;
        foreach (var need in elf.VersionNeeds())
        {
            if (!IsLibStdCxx(need.File) || !names.Contains(need.Version) || need.IsWeak) continue;
            int flags = need.Flags | VerFlgWeak;
            elf.data[need.AuxOffset + 4] = (byte)(flags & 0xff);
            elf.data[need.AuxOffset + 5] = (byte)(flags >> 8);
            changed++;
        }
        if (changed > 0) File.WriteAllBytes(library, elf.data);
        return changed;
    }

    /// <summary>
    /// Checks a patched library: the named versions are weak, the named symbols unversioned, <paramref name="shim"/> is
    /// DT_NEEDED. Returns an empty string when all holds, else what is wrong.
    /// </summary>
    public static string VerifyPatched(string library, IEnumerable<string> versions, IEnumerable<string> symbols, string shim)
    {
        var elf = Read(library);
        var problems = new List<string>();
        var needs = elf.VersionNeeds();
        foreach (var v in versions)
        {
            var need = needs.FirstOrDefault(n => IsLibStdCxx(n.File) && n.Version == v);
            if (need != null && !need.IsWeak) problems.Add(v + " is still a hard requirement");
        }
        var syms = elf.DynamicSymbolVersions();
        foreach (var s in symbols)
            foreach (var sym in syms.Where(p => p.Key == s && p.Value > 1))
                problems.Add(s + " still has version index " + sym.Value);
        if (!elf.Needed().Contains(shim)) problems.Add(shim + " is not DT_NEEDED");
        return string.Join("; ", problems);
    }
}

#if !NANOVLM_ELF_ONLY
/// <summary>MSBuild entry point: Action=Check (decide) or Action=Finish (mark weak and verify after patchelf).</summary>
public class NanoVlmGlibcxxFixTask : Task
{
    /// <summary>Check or Finish.</summary>
    [Required] public string Action { get; set; }
    /// <summary>libLibTorchSharp.so (the package's for Check, the patched copy for Finish).</summary>
    [Required] public string Library { get; set; }
    /// <summary>The system libstdc++.so.6 (Check).</summary>
    public string LibStdCxx { get; set; }
    /// <summary>Semicolon-separated versions to treat as missing (Check) or to mark weak (Finish).</summary>
    public string Versions { get; set; }
    /// <summary>Semicolon-separated symbols whose version was cleared (Finish).</summary>
    public string Symbols { get; set; }
    /// <summary>Soname of the shim that must be DT_NEEDED (Finish).</summary>
    public string Shim { get; set; }

    /// <summary>True when the library needs a libstdc++ version the system lacks.</summary>
    [Output] public bool NeedsFix { get; set; }
    /// <summary>True when the fix can make it load.</summary>
    [Output] public bool Fixable { get; set; }
    /// <summary>Missing versions, semicolon-separated.</summary>
    [Output] public string MissingVersions { get; set; }
    /// <summary>Symbols bound to the missing versions, semicolon-separated.</summary>
    [Output] public string MissingSymbols { get; set; }
    /// <summary>Summary for the build log.</summary>
    [Output] public string Details { get; set; }

    static string[] Split(string s)
    {
        return (s ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(x => x.Trim()).Where(x => x.Length > 0).ToArray();
    }

    /// <inheritdoc />
    public override bool Execute()
    {
        try
        {
            if (Action == "Check")
            {
                var r = NanoVlmElf.Check(Library, string.IsNullOrEmpty(LibStdCxx) ? null : LibStdCxx, Split(Versions));
                NeedsFix = r.MissingVersions.Count > 0;
                Fixable = r.Fixable;
                MissingVersions = string.Join(";", r.MissingVersions);
                MissingSymbols = string.Join(";", r.Symbols);
                Details = r.Details;
                return true;
            }
            if (Action == "Finish")
            {
                NanoVlmElf.MarkWeak(Library, Split(Versions));
                string problems = NanoVlmElf.VerifyPatched(Library, Split(Versions), Split(Symbols), Shim);
                if (problems.Length > 0)
                {
                    Log.LogError(null, "NVLM1003", null, Library, 0, 0, 0, 0, "Patching TorchSharp's native library failed: {0}", problems);
                    return false;
                }
                return true;
            }
            Log.LogError("Unknown Action '{0}'", Action);
            return false;
        }
        catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
        {
            Log.LogError(null, "NVLM1004", null, Library, 0, 0, 0, 0, "Inspecting ELF files for the libstdc++ fix failed: {0}", e.Message);
            return false;
        }
    }
}
#endif

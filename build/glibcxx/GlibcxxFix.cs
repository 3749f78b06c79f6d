// The TorchSharp libstdc++ fix (TorchSharpGlibcxxFix.targets): an ELF reader, the one-byte edit, and the MSBuild task.
// Compiled by MSBuild's RoslynCodeTaskFactory (an inline task takes exactly one source file, hence reader and task
// together; no tool to install) and, with NANOVLM_ELF_ONLY defined, by tests/NanoVlm.Engine.Tests.
// Kept to C# 7.3 and netstandard2.0 APIs on purpose. See build/glibcxx/README.md for what the fix does and why.
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
    /// <summary>vna_flags; VER_FLG_WEAK makes a missing version non-fatal for glibc's dynamic linker.</summary>
    public int Flags;
    /// <summary>vna_other: the version index that .gnu.version entries use to refer to this version.</summary>
    public int Index;
    /// <summary>File offset of the Elf64_Vernaux record.</summary>
    public long AuxOffset;
    /// <summary>True when VER_FLG_WEAK is set.</summary>
    public bool IsWeak { get { return (Flags & NanoVlmElf.VerFlgWeak) != 0; } }
}

/// <summary>A dynamic symbol: name, .gnu.version index, whether it is defined here, whether a relocation uses it.</summary>
public sealed class NanoVlmElfSymbol
{
    /// <summary>The symbol name, e.g. _ZSt21ios_base_library_initv.</summary>
    public string Name = "";
    /// <summary>The .gnu.version index (low 15 bits; 0 local, 1 global/unversioned, else a version need or definition).</summary>
    public int VersionIndex;
    /// <summary>True when st_shndx is SHN_UNDEF (the symbol comes from another object).</summary>
    public bool IsUndefined;
    /// <summary>True when a relocation of this object refers to the symbol, i.e. the dynamic linker will look it up.</summary>
    public bool IsRelocated;
}

/// <summary>
/// A minimal, bounds-checked reader of 64-bit little-endian ELF dynamic-linking metadata, with one in-place edit:
/// setting VER_FLG_WEAK on a version need. Damaged input raises <see cref="InvalidDataException"/> naming the file.
/// </summary>
public sealed class NanoVlmElf
{
    /// <summary>VER_FLG_WEAK from elf.h.</summary>
    public const int VerFlgWeak = 0x2;
    /// <summary>The symbol GCC 13's &lt;iostream&gt; references only to demand GLIBCXX_3.4.32 (libstdc++ 13).</summary>
    public const string IosBaseLibraryInit = "_ZSt21ios_base_library_initv";
    const uint ShtRela = 4, ShtDynamic = 6, ShtNobits = 8, ShtRel = 9, ShtDynsym = 11;
    const uint ShtVerdef = 0x6ffffffd, ShtVerneed = 0x6ffffffe, ShtVersym = 0x6fffffff;

    sealed class Section { public uint Type; public long Offset; public long Size; public int Link; public int Info; }

    readonly byte[] data;
    readonly List<Section> sections = new List<Section>();

    /// <summary>The path the object was read from.</summary>
    public string Path { get; private set; }

    NanoVlmElf(string path, byte[] bytes)
    {
        Path = path;
        data = bytes;
        if (data.Length < 4 || data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
            throw Bad("not an ELF file (no \\x7fELF magic at offset 0)");
        if (data.Length < 64)
            throw Bad("truncated: shorter than the 64-byte ELF header (" + data.Length + " bytes)");
        if (data[4] != 2 || data[5] != 1)
            throw Bad("only 64-bit little-endian ELF is supported (EI_CLASS " + data[4] + ", EI_DATA " + data[5] + ")");
        long shoff = I64(0x28);
        int shentsize = U16(0x3A), shnum = U16(0x3C);
        if (shoff == 0 || shnum == 0)
            throw Bad("no section headers (stripped of them?)");
        if (shentsize < 64)
            throw Bad("section header size " + shentsize + " is smaller than Elf64_Shdr (64)");
        if (shoff < 0 || shoff + (long)shnum * shentsize > data.Length)
            throw Bad("truncated: the section header table (offset " + shoff + ", " + shnum + " x " + shentsize
                      + " bytes) ends past the end of the file (" + data.Length + " bytes)");
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            var s = new Section { Type = U32(h + 4), Offset = I64(h + 24), Size = I64(h + 32), Link = (int)U32(h + 40), Info = (int)U32(h + 44) };
            if (s.Type != ShtNobits && s.Type != 0 && (s.Offset < 0 || s.Size < 0 || s.Offset + s.Size > data.Length))
                throw Bad("truncated: section " + i + " (type 0x" + s.Type.ToString("x") + ", offset " + s.Offset + ", "
                          + s.Size + " bytes) ends past the end of the file (" + data.Length + " bytes)");
            sections.Add(s);
        }
    }

    /// <summary>Reads the whole file.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed 64-bit little-endian ELF object.</exception>
    public static NanoVlmElf Read(string path) { return new NanoVlmElf(path, File.ReadAllBytes(path)); }

    InvalidDataException Bad(string what) { return new InvalidDataException(Path + ": " + what); }

    void Need(long o, int n)
    {
        if (o < 0 || o + n > data.Length)
            throw Bad("corrupt: a " + n + "-byte read at offset " + o + " is past the end of the file (" + data.Length + " bytes)");
    }

    int U16(long o) { Need(o, 2); return data[o] | (data[o + 1] << 8); }
    uint U32(long o) { Need(o, 4); return (uint)(data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) | (data[o + 3] << 24)); }
    long I64(long o) { Need(o, 8); return (long)U32(o) | ((long)U32(o + 4) << 32); }

    Section Linked(Section sec)
    {
        if (sec.Link <= 0 || sec.Link >= sections.Count) throw Bad("corrupt: section link " + sec.Link + " out of range");
        return sections[sec.Link];
    }

    string Str(Section strtab, long index)
    {
        long start = strtab.Offset + index, end = start;
        if (index < 0 || index >= strtab.Size) throw Bad("corrupt: string index " + index + " outside its string table");
        while (end < strtab.Offset + strtab.Size && data[end] != 0) end++;
        if (end == strtab.Offset + strtab.Size) throw Bad("corrupt: unterminated string at offset " + start);
        return Encoding.ASCII.GetString(data, (int)start, (int)(end - start));
    }

    Section Find(uint type) { return sections.FirstOrDefault(s => s.Type == type); }

    /// <summary>All (library, version) pairs this object needs, from .gnu.version_r.</summary>
    public List<NanoVlmElfVersionNeed> VersionNeeds()
    {
        var result = new List<NanoVlmElfVersionNeed>();
        var sec = Find(ShtVerneed);
        if (sec == null) return result;
        var strtab = Linked(sec);
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
        var strtab = Linked(sec);
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

    /// <summary>The dynamic symbols (.dynsym) with their version index and whether a relocation refers to them.</summary>
    public List<NanoVlmElfSymbol> DynamicSymbols()
    {
        var result = new List<NanoVlmElfSymbol>();
        int dynsymIndex = sections.FindIndex(s => s.Type == ShtDynsym);
        if (dynsymIndex < 0) return result;
        var dynsym = sections[dynsymIndex];
        var versym = Find(ShtVersym);
        var strtab = Linked(dynsym);
        long count = dynsym.Size / 24;
        for (long i = 0; i < count; i++)
        {
            long s = dynsym.Offset + i * 24;
            result.Add(new NanoVlmElfSymbol
            {
                Name = Str(strtab, U32(s)),
                VersionIndex = versym == null ? 1 : U16(versym.Offset + i * 2) & 0x7fff,
                IsUndefined = U16(s + 6) == 0,
            });
        }
        // r_info's high 32 bits are the symbol index, in the relocation sections linked to .dynsym (.rela.dyn, .rela.plt).
        foreach (var rel in sections.Where(r => (r.Type == ShtRela || r.Type == ShtRel) && r.Link == dynsymIndex))
        {
            int size = rel.Type == ShtRela ? 24 : 16;
            for (long o = rel.Offset; o + size <= rel.Offset + rel.Size; o += size)
            {
                long sym = (long)U32(o + 12);
                if (sym >= result.Count) throw Bad("corrupt: relocation at offset " + o + " names symbol " + sym + " of " + result.Count);
                result[(int)sym].IsRelocated = true;
            }
        }
        return result;
    }

    /// <summary>DT_NEEDED entries, in order.</summary>
    public List<string> Needed()
    {
        var result = new List<string>();
        var dyn = Find(ShtDynamic);
        if (dyn == null) return result;
        var strtab = Linked(dyn);
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

    /// <summary>Result of <see cref="Check"/>.</summary>
    public sealed class CheckResult
    {
        /// <summary>libstdc++ versions the library needs (non-weak) that the system libstdc++ lacks.</summary>
        public List<string> MissingVersions = new List<string>();
        /// <summary>Dynamic symbols bound to one of the missing versions.</summary>
        public List<string> Symbols = new List<string>();
        /// <summary>
        /// True when no relocation refers to any of those symbols: the dynamic linker never looks them up, so a weak
        /// version need (which it accepts when the version is missing) makes the library load unchanged otherwise.
        /// </summary>
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
        var bound = lib.DynamicSymbols().Where(s => indexes.Contains(s.VersionIndex)).ToList();
        result.Symbols = bound.Select(s => s.Name).Distinct().ToList();
        var relocated = bound.Where(s => s.IsRelocated || !s.IsUndefined).Select(s => s.Name).Distinct().ToList();
        result.Fixable = result.MissingVersions.Count > 0 && relocated.Count == 0;
        string name = System.IO.Path.GetFileName(library);
        result.Details = result.MissingVersions.Count == 0
            ? "every libstdc++ version needed by " + name + " is provided by " + libStdCxx
            : name + " needs " + string.Join(", ", result.MissingVersions) + " (for "
              + (result.Symbols.Count == 0 ? "no symbol" : string.Join(", ", result.Symbols)) + ") which "
              + (libStdCxx ?? "the target system") + " lacks"
              + (relocated.Count == 0 ? "" : "; relocations use " + string.Join(", ", relocated));
        return result;
    }

    /// <summary>
    /// Sets VER_FLG_WEAK on the libstdc++ version needs named in <paramref name="versions"/>, writing only their flag
    /// bytes in place; returns how many changed (0 when already weak: the edit is idempotent).
    /// </summary>
    public static int MarkWeak(string library, IEnumerable<string> versions)
    {
        var names = new HashSet<string>(versions, StringComparer.Ordinal);
        var targets = Read(library).VersionNeeds().Where(n => IsLibStdCxx(n.File) && names.Contains(n.Version) && !n.IsWeak).ToList();
        if (targets.Count == 0) return 0;
        using (var file = new FileStream(library, FileMode.Open, FileAccess.Write, FileShare.None))
        {
            foreach (var need in targets)
            {
                int flags = need.Flags | VerFlgWeak;
                file.Position = need.AuxOffset + 4;   // Elf64_Vernaux.vna_flags (Elf64_Half)
                file.Write(new[] { (byte)(flags & 0xff), (byte)(flags >> 8) }, 0, 2);
            }
        }
        return targets.Count;
    }

    /// <summary>Returns an empty string when every named libstdc++ version need of the library is weak, else what is not.</summary>
    public static string VerifyWeak(string library, IEnumerable<string> versions)
    {
        var needs = Read(library).VersionNeeds();
        var problems = new List<string>();
        foreach (var v in versions)
            foreach (var need in needs.Where(n => IsLibStdCxx(n.File) && n.Version == v && !n.IsWeak))
                problems.Add(v + " is still a hard requirement");
        return string.Join("; ", problems);
    }
}

#if !NANOVLM_ELF_ONLY
/// <summary>MSBuild entry point: Action=Check (decide) or Action=Patch (mark the missing versions weak in a copy, verify).</summary>
public class NanoVlmGlibcxxFixTask : Task
{
    /// <summary>Check or Patch.</summary>
    [Required] public string Action { get; set; }
    /// <summary>libLibTorchSharp.so (the package's for Check, the copy to edit for Patch).</summary>
    [Required] public string Library { get; set; }
    /// <summary>The system libstdc++.so.6 (Check).</summary>
    public string LibStdCxx { get; set; }
    /// <summary>Semicolon-separated versions to treat as missing (Check) or to mark weak (Patch).</summary>
    public string Versions { get; set; }

    /// <summary>True when the library needs a libstdc++ version the system lacks.</summary>
    [Output] public bool NeedsFix { get; set; }
    /// <summary>True when the fix can make it load.</summary>
    [Output] public bool Fixable { get; set; }
    /// <summary>Missing versions, semicolon-separated.</summary>
    [Output] public string MissingVersions { get; set; }
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
                Details = r.Details;
                return true;
            }
            if (Action == "Patch")
            {
                // A copy of a read-only package file is read-only too.
                var attributes = File.GetAttributes(Library);
                if ((attributes & FileAttributes.ReadOnly) != 0) File.SetAttributes(Library, attributes & ~FileAttributes.ReadOnly);
                NanoVlmElf.MarkWeak(Library, Split(Versions));
                string problems = NanoVlmElf.VerifyWeak(Library, Split(Versions));
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

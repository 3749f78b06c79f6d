using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests;

/// <summary>
/// The examples of the READMEs of the projects this test project builds on (Packing, Kernels, Loader and its folders,
/// SampleData; the Engine's need TorchSharp) compile and run. An example is a complete program when its first line
/// is a <c>using</c> directive (the convention of these READMEs); blocks without one are fragments of a larger
/// program and are only shown. Each complete example is compiled with Roslyn against the packages (top-level
/// statements, the SDK's implicit usings) and run; it must finish without an exception.
/// </summary>
public sealed partial class ReadmeExampleTests
{
    private static readonly string SrcDir = Path.GetFullPath(Path.Combine(Fixtures.Dir, "..", "..", "src"));
#if NANOVLM_ENGINE_README
    // Compiled into the Engine's tests too (they have TorchSharp): there it runs the Engine README's examples.
    private static readonly string[] Projects = ["Engine"];
#else
    private static readonly string[] Projects = ["Packing", "Kernels", "Loader", "SampleData"];
#endif

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex(@"^using [A-Za-z][A-Za-z0-9.]*;\s*$")]
    private static partial Regex UsingDirective();

    public static TheoryData<string, int> Examples()
    {
        var data = new TheoryData<string, int>();
        foreach (var readme in Projects.SelectMany(p => Directory.EnumerateFiles(Path.Combine(SrcDir, p), "README.md", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal))
        {
            if (readme.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || readme.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
            var blocks = Blocks(readme);
            for (var i = 0; i < blocks.Count; i++)
                if (IsProgram(blocks[i])) data.Add(Path.GetRelativePath(SrcDir, readme), i);
        }
        return data;
    }

    [Fact]
    public void TheReadmesHaveCompleteExamples()
    {
        var examples = Examples().Select(row => (string)row[0]).Distinct().ToList();
#if NANOVLM_ENGINE_README
        Assert.Contains(Path.Combine("Engine", "README.md"), examples);
#else
        Assert.Contains(Path.Combine("Loader", "README.md"), examples);
        Assert.Contains(Path.Combine("SampleData", "README.md"), examples);
        Assert.Contains(Path.Combine("Packing", "README.md"), examples);
#endif
    }

    [Theory(Timeout = 300_000)]
    [MemberData(nameof(Examples))]
    public async Task TheExampleCompilesAndRuns(string readme, int block)
    {
        var code = Blocks(Path.Combine(SrcDir, readme))[block];
        var assembly = Compile(code, $"{readme} example {block}");
        var entry = assembly.EntryPoint!;
        var result = entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        if (result is Task task) await task;
    }

    [Fact]
    public void ABrokenExampleFailsToCompileWithTheCompilersMessage()
    {
        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Compile("using NanoVlm.Loader.Pipeline;\nvar o = new DataLoaderOptions { NoSuchOption = 1 };", "broken"));
        Assert.Contains("NoSuchOption", e.Message);
    }

    private static List<string> Blocks(string readme)
        => [.. CodeBlock().Matches(File.ReadAllText(readme).ReplaceLineEndings("\n")).Select(m => m.Groups[1].Value)];

    private static bool IsProgram(string block) => UsingDirective().IsMatch(block.Split('\n')[0]);

    private static readonly Lazy<MetadataReference[]> s_references = new(() =>
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var names = platform.Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        var local = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll").Where(p => !names.Contains(Path.GetFileName(p)));
        return [.. platform.Concat(local).Where(IsManaged).Select(p => MetadataReference.CreateFromFile(p))];
    });

    private static bool IsManaged(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static Assembly Compile(string code, string name)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create($"ReadmeExample{Guid.NewGuid():N}",
            [CSharpSyntaxTree.ParseText(ImplicitUsings, parse), CSharpSyntaxTree.ParseText(code, parse, path: name)],
            s_references.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var pe = new MemoryStream();
        var emitted = compilation.Emit(pe);
        if (!emitted.Success)
            Assert.Fail($"{name} does not compile:\n" + string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return Assembly.Load(pe.ToArray());
    }
}

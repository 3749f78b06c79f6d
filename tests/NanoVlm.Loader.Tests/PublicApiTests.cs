using System.Reflection;
using System.Text;
using NanoVlm.Loader.Pipeline;
using NanoVlm.SampleData;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests;

/// <summary>
/// The public surface of the Loader and SampleData packages, held by a committed listing (tests/fixtures/api/): a
/// change to what embedders can call shows up in review as a change of that file. After an intended change, run the
/// tests with <c>NANOVLM_UPDATE_API=1</c> to rewrite the listing, and commit it.
/// </summary>
public sealed class PublicApiTests
{
    [Theory]
#if NANOVLM_ENGINE_README
    // Compiled into the Engine's tests too: there it holds the Engine's listing.
    [InlineData("NanoVlm.Engine")]
#else
    [InlineData("NanoVlm.Loader")]
    [InlineData("NanoVlm.SampleData")]
#endif
    public void ThePublicSurfaceIsTheCommittedListing(string assemblyName)
    {
        _ = typeof(SampleDataWriter); // referenced, so loadable by name
        var assembly = Assembly.Load(new AssemblyName(assemblyName));
        var actual = Listing(assembly);
        var path = Fixtures.Path("api", assemblyName + ".txt");
        if (Environment.GetEnvironmentVariable("NANOVLM_UPDATE_API") == "1") File.WriteAllText(path, actual);
        Assert.True(File.Exists(path), $"{path} is missing; run with NANOVLM_UPDATE_API=1 to write it.");
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        if (expected != actual)
        {
            var got = Path.Combine(Path.GetTempPath(), assemblyName + ".api.txt");
            File.WriteAllText(got, actual);
            var e = expected.Split('\n');
            var a = actual.Split('\n');
            Assert.Fail($"The public API of {assemblyName} changed. Removed: {string.Join("; ", e.Except(a).Take(10))}. " +
                $"Added: {string.Join("; ", a.Except(e).Take(10))}. Full listing: {got}; NANOVLM_UPDATE_API=1 rewrites {path}.");
        }
    }

    [Fact]
    public void TheListingSeesMembersAndLeavesInternalsOut()
    {
        var listing = Listing(typeof(DataLoader).Assembly);
        Assert.Contains("sealed class NanoVlm.Loader.Pipeline.DataLoader : IAsyncDisposable, IAsyncEnumerable<Batch>, IDisposable, IEnumerable, IEnumerable<Batch>\n", listing);
        Assert.Contains("  method ValueTask<Batch> ReadNextAsync(CancellationToken cancellationToken)", listing);
        Assert.DoesNotContain("Internal", listing);
        Assert.DoesNotContain("MaterializeStage", listing);
    }

    /// <summary>One line per public type (kind, full name, base and interfaces) and one per public or protected
    /// member under it, sorted, so the text is stable across builds.</summary>
    public static string Listing(Assembly assembly)
    {
        var sb = new StringBuilder();
        foreach (var t in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            var bases = new List<string>();
            if (t.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum)) bases.Add(Name(b));
            if (!t.IsEnum)
                bases.AddRange(t.GetInterfaces().Where(i => !i.Name.StartsWith("IEquatable", StringComparison.Ordinal)).Select(Name).Order(StringComparer.Ordinal));
            sb.Append(Kind(t)).Append(' ').Append(t.FullName).Append(bases.Count > 0 ? " : " + string.Join(", ", bases) : "").Append('\n');
            const BindingFlags Flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var members = new List<string>();
            foreach (var m in t.GetMembers(Flags))
            {
                if (m.Name.Contains('<')) continue; // compiler-generated (a record's <Clone>$)
                switch (m)
                {
                    case ConstructorInfo c when Visible(c):
                        members.Add($"ctor({Params(c)})");
                        break;
                    case MethodInfo mi when Visible(mi) && (!mi.IsSpecialName || mi.Name.StartsWith("op_", StringComparison.Ordinal)):
                        members.Add($"method {(mi.IsStatic ? "static " : "")}{Name(mi.ReturnType)} {mi.Name}({Params(mi)})");
                        break;
                    case PropertyInfo p when (p.GetMethod is { } g && Visible(g)) || (p.SetMethod is { } s && Visible(s)):
                        var accessors = (p.GetMethod is { } pg && Visible(pg) ? "get; " : "") +
                            (p.SetMethod is { } ps && Visible(ps) ? (ps.ReturnParameter.GetRequiredCustomModifiers().Any(x => x.Name == "IsExternalInit") ? "init; " : "set; ") : "");
                        members.Add($"property {Name(p.PropertyType)} {p.Name} {{ {accessors}}}");
                        break;
                    case FieldInfo f when (f.IsPublic || f.IsFamily) && !f.IsSpecialName:
                        members.Add(t.IsEnum ? $"value {f.Name} = {Convert.ToInt64(f.GetRawConstantValue())}" : $"field {(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}");
                        break;
                    case EventInfo ev:
                        members.Add($"event {Name(ev.EventHandlerType!)} {ev.Name}");
                        break;
                }
            }
            foreach (var m in members.Order(StringComparer.Ordinal)) sb.Append("  ").Append(m).Append('\n');
        }
        return sb.ToString();
    }

    private static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    private static string Kind(Type t) => t.IsEnum ? "enum" : t.IsInterface ? "interface" : t.IsValueType ? "struct"
        : t.IsAbstract && t.IsSealed ? "static class" : t.IsAbstract ? "abstract class" : t.IsSealed ? "sealed class" : "class";

    private static string Params(MethodBase m) => string.Join(", ", m.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}"));

    private static string Name(Type t)
    {
        if (t.IsByRef) return "ref " + Name(t.GetElementType()!);
        if (t.IsArray) return Name(t.GetElementType()!) + "[" + new string(',', t.GetArrayRank() - 1) + "]";
        if (Nullable.GetUnderlyingType(t) is { } u) return Name(u) + "?";
        if (!t.IsGenericType) return t.Name;
        var name = t.Name[..t.Name.IndexOf('`')];
        return $"{name}<{string.Join(", ", t.GetGenericArguments().Select(Name))}>";
    }
}

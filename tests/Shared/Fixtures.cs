using System.Reflection;

namespace NanoVlm.Testing;

/// <summary>Locates committed fixtures under tests/fixtures (compiled into every test project).</summary>
internal static class Fixtures
{
    public static string Dir { get; } = typeof(Fixtures).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FixturesDir").Value!;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Dir, .. parts]);
}

using System.Text.Json;
using NanoVlm.Testing;

namespace NanoVlm.Evaluation.Tests;

/// <summary>Reads tests/fixtures/eval/*.jsonl (written by tools/make_metric_fixtures.py from lmms-eval's own functions).</summary>
internal static class FixtureRows
{
    public static IReadOnlyList<JsonElement> Read(string name)
    {
        var path = Fixtures.Path("eval", name + ".jsonl");
        return File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    public static string Str(this JsonElement e, string key) => e.GetProperty(key).GetString()!;

    public static double Num(this JsonElement e, string key) => e.GetProperty(key).GetDouble();

    /// <summary>A field that lmms-eval's documents hold as a string or a list of strings.</summary>
    public static IReadOnlyList<string> Strings(this JsonElement e, string key)
    {
        var v = e.GetProperty(key);
        return v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(x => x.GetString()!).ToList() : [v.GetString()!];
    }

    /// <summary>Collects mismatches and fails with the first few, so one run shows every kind of divergence.</summary>
    public static void AssertAll<T>(IEnumerable<T> rows, Func<T, string?> mismatch, int minimumRows)
    {
        int n = 0;
        var failures = new List<string>();
        foreach (var r in rows)
        {
            n++;
            var m = mismatch(r);
            if (m is not null) failures.Add(m);
        }
        Assert.True(n >= minimumRows, $"only {n} fixture rows");
        Assert.True(failures.Count == 0, $"{failures.Count} of {n} differ from lmms-eval:\n" + string.Join("\n", failures.Take(25)));
    }

    public static string Show(string s) => JsonSerializer.Serialize(s);
}

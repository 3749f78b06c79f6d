using System.Text.Json;
using NanoVlm.Testing;
using Parquet.Schema;

namespace NanoVlm.Cli.Tests;

/// <summary>
/// tests/fixtures/eval_e2e, made by tools/eval_reference/make_eval_e2e_fixtures.py: a tiny checkpoint saved by nanoVLM,
/// documents of eight task layouts (docs.json) and what nanoVLM's lmms-eval wrapper and lmms-eval's scoring made of
/// them (expected.json). <see cref="WriteParquet"/> writes the documents as the tasks' parquet files.
/// </summary>
internal static class EvalReferenceFixture
{
    public static string Checkpoint => Fixtures.Path("eval_e2e", "ckpt");

    public static JsonElement Expected { get; } = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("eval_e2e", "expected.json"))).RootElement;

    private static JsonElement Docs { get; } = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("eval_e2e", "docs.json"))).RootElement;

    /// <summary>The first document's image (base64 PNG).</summary>
    public static string FirstImageBase64 => Docs.GetProperty("docvqa_val").GetProperty("rows")[0].GetProperty("image").GetProperty("bytes").GetString()!;

    /// <summary>The tasks, in the fixture's order.</summary>
    public static IReadOnlyList<string> Tasks { get; } = [.. Docs.EnumerateObject().Select(p => p.Name)];

    /// <summary>DATA_DIR/&lt;task&gt;/data.parquet for every task, column types as the layout in docs.json says.</summary>
    public static void WriteParquet(string dataDir)
    {
        foreach (var task in Docs.EnumerateObject())
        {
            var layout = task.Value.GetProperty("layout").EnumerateArray().Select(c => (Name: c[0].GetString()!, Kind: c[1].GetString()!)).ToList();
            var schema = new ParquetSchema(layout.Select(c => Field(c.Name, c.Kind)).ToArray());
            var rows = task.Value.GetProperty("rows").EnumerateArray().Select(row => layout.ToDictionary(c => c.Name, c => Value(row.GetProperty(c.Name), c.Kind)!)).ToList();
            EvalTestData.Write(Path.Combine(dataDir, task.Name, "data.parquet"), schema, rows);
        }
    }

    private static Field Field(string name, string kind) => kind switch
    {
        "string" => new DataField<string>(name),
        "int64" => new DataField<long>(name),
        "int8" => new DataField<sbyte>(name),
        "strings" => new ListField(name, new DataField<string>("element")),
        "image" => new StructField(name, new DataField<byte[]>("bytes"), new DataField<string>("path")),
        _ => throw new InvalidDataException($"docs.json: unknown column type '{kind}' of '{name}'"),
    };

    private static object? Value(JsonElement v, string kind) => v.ValueKind == JsonValueKind.Null ? null : kind switch
    {
        "string" => v.GetString(),
        "int64" => v.GetInt64(),
        "int8" => (sbyte)v.GetInt32(),
        "strings" => v.EnumerateArray().Select(s => s.GetString()!).ToList(),
        "image" => new Dictionary<string, object> { ["bytes"] = v.GetProperty("bytes").GetBytesFromBase64(), ["path"] = v.GetProperty("path").GetString()! },
        _ => throw new InvalidDataException(kind),
    };
}

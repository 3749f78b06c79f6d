using NanoVlm.Testing;
using Parquet.Schema;
using Parquet.Serialization;

namespace NanoVlm.Cli.Tests;

/// <summary>Small benchmark files in the lmms-lab parquet layouts (docvqa_val, mmstar, scienceqa) with real images.</summary>
internal static class EvalTestData
{
    private static readonly string[] ImageFiles = ["png_gama_chrm_37x23.png", "png_1bit_21x5.png", "png_l_33x17.png", "png_p_31x19.png"];

    private static StructField ImageField() => new("image", new DataField<byte[]>("bytes"), new DataField<string>("path"));

    private static Dictionary<string, object> Image(int k)
    {
        string name = ImageFiles[k % ImageFiles.Length];
        return new() { ["bytes"] = File.ReadAllBytes(Fixtures.Path("decode", name)), ["path"] = name };
    }

    /// <summary>DATA_DIR/docvqa_val/validation-00000-of-00001.parquet: 5 questions of different lengths.</summary>
    public static void WriteDocVqa(string dataDir, int rows = 5)
    {
        var schema = new ParquetSchema(new DataField<string>("questionId"), new DataField<string>("question"),
            new ListField("answers", new DataField<string>("element")), ImageField());
        string[] questions = ["What is the date?", "Who signed the letter at the bottom of the page?", "Total?", "What is the name of the company?", "Which year is shown in the top right corner of the form?"];
        var data = Enumerable.Range(0, rows).Select(i => new Dictionary<string, object>
        {
            ["questionId"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["question"] = questions[i % questions.Length],
            ["answers"] = new List<string> { $"answer {i}", "May 1" },
            ["image"] = Image(i),
        }).ToList();
        Write(Path.Combine(dataDir, "docvqa_val", "validation-00000-of-00001.parquet"), schema, data);
    }

    /// <summary>DATA_DIR/mmstar.parquet (a single file instead of a folder): 4 multiple-choice questions.</summary>
    public static void WriteMmstar(string dataDir)
    {
        var schema = new ParquetSchema(new DataField<long>("index"), new DataField<string>("question"), ImageField(),
            new DataField<string>("answer"), new DataField<string>("category"), new DataField<string>("l2_category"));
        string[] categories = ["coarse perception", "math", "science & technology", "logical reasoning"];
        var data = Enumerable.Range(0, 4).Select(i => new Dictionary<string, object>
        {
            ["index"] = (long)i,
            ["question"] = $"Which shape is shown{new string('?', i + 1)}\nOptions: A: circle, B: square, C: star, D: line",
            ["image"] = Image(i + 1),
            ["answer"] = "ABCD"[i].ToString(),
            ["category"] = categories[i],
            ["l2_category"] = categories[i] + " detail",
        }).ToList();
        Write(Path.Combine(dataDir, "mmstar.parquet"), schema, data);
    }

    /// <summary>DATA_DIR/scienceqa/test.parquet: 3 questions, the second without an image.</summary>
    public static void WriteScienceQa(string dataDir)
    {
        var schema = new ParquetSchema(ImageField(), new DataField<string>("question"),
            new ListField("choices", new DataField<string>("element")), new DataField<sbyte>("answer"), new DataField<string>("hint"));
        var data = new List<Dictionary<string, object>>
        {
            new() { ["image"] = Image(0), ["question"] = "Which is warmer?", ["choices"] = new List<string> { "ice", "fire" }, ["answer"] = (sbyte)1, ["hint"] = "" },
            new() { ["image"] = null!, ["question"] = "Which is a mammal?", ["choices"] = new List<string> { "cat", "trout", "frog" }, ["answer"] = (sbyte)0, ["hint"] = "Look at the list." },
            new() { ["image"] = Image(3), ["question"] = "What colour is it?", ["choices"] = new List<string> { "red", "blue" }, ["answer"] = (sbyte)0, ["hint"] = "" },
        };
        Write(Path.Combine(dataDir, "scienceqa", "test.parquet"), schema, data);
    }

    /// <summary>A parquet file with the given schema and rows (Parquet.Net's untyped serializer).</summary>
    public static void Write(string path, ParquetSchema schema, List<Dictionary<string, object>> rows)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var data = rows.Select(r => (IDictionary<string, object?>)r.ToDictionary(kv => kv.Key, kv => ToParquetNet(kv.Value))).ToList();
        using var stream = File.Create(path);
        ParquetSerializer.SerializeUntypedAsync(data, schema, stream).GetAwaiter().GetResult();
    }

    // Parquet.Net 6's untyped serializer takes strings and binaries as ReadOnlyMemory.
    private static object? ToParquetNet(object? value) => value switch
    {
        string s => (ReadOnlyMemory<char>?)s.AsMemory(),
        byte[] b => (ReadOnlyMemory<byte>?)b,
        List<string> list => list.Select(s => (ReadOnlyMemory<char>?)s.AsMemory()).ToList(),
        Dictionary<string, object> d => d.ToDictionary(kv => kv.Key, kv => ToParquetNet(kv.Value)),
        List<Dictionary<string, object>> structs => structs.Select(d => (IDictionary<string, object?>)d.ToDictionary(kv => kv.Key, kv => ToParquetNet(kv.Value))).ToList(),
        _ => value,
    };
}

using Parquet.Schema;
using Parquet.Serialization;

namespace NanoVlm.Evaluation.Tests;

/// <summary>Documents read from parquet files in the lmms-lab layouts (schemas as the data sets' cards describe them).</summary>
public sealed class DatasetReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-eval-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly StructField Image = new("image", new DataField<byte[]>("bytes"), new DataField<string>("path"));

    private static Dictionary<string, object> ImageValue(byte seed) => new() { ["bytes"] = new byte[] { 0xFF, 0xD8, seed }, ["path"] = $"{seed}.jpg" };

    private string Write(string name, ParquetSchema schema, List<IDictionary<string, object>> rows)
    {
        var path = Path.Combine(_dir, name);
        var data = rows.Select(r => (IDictionary<string, object?>)r.ToDictionary(kv => kv.Key, kv => ToParquetNet(kv.Value))).ToList();
        using (var stream = File.Create(path))
            ParquetSerializer.SerializeUntypedAsync(data, schema, stream).GetAwaiter().GetResult();
        return path;
    }

    // Parquet.Net 6's untyped serializer takes strings and binaries as ReadOnlyMemory.
    private static object? ToParquetNet(object? value) => value switch
    {
        string s => (ReadOnlyMemory<char>?)s.AsMemory(),
        byte[] b => (ReadOnlyMemory<byte>?)b,
        List<string> list => list.Select(s => (ReadOnlyMemory<char>?)s.AsMemory()).ToList(),
        Dictionary<string, object> d => d.ToDictionary(kv => kv.Key, kv => ToParquetNet(kv.Value)),
        _ => value,
    };

    [Fact]
    public void DocVqaLayoutReadsScoresAndYieldsImages()
    {
        var schema = new ParquetSchema(new DataField<string>("questionId"), new DataField<string>("question"),
            new ListField("answers", new DataField<string>("element")), Image, new DataField<string>("data_split"));
        var path = Write("validation-00000-of-00001.parquet", schema,
        [
            new Dictionary<string, object> { ["questionId"] = "1", ["question"] = "What is the date?", ["answers"] = new List<string> { "1 May", "May 1" }, ["image"] = ImageValue(1), ["data_split"] = "val" },
            new Dictionary<string, object> { ["questionId"] = "2", ["question"] = "Who signed?", ["answers"] = new List<string> { "Straße" }, ["image"] = ImageValue(2), ["data_split"] = "val" },
        ]);
        var task = EvalTasks.Get("docvqa_val");
        var docs = EvalDatasets.ReadParquet("docvqa_val", path).ToList();
        Assert.Equal(2, docs.Count);
        Assert.Equal("What is the date?\nAnswer the question using a single word or phrase.", task.DocToText(docs[0]));
        Assert.Equal(new byte[] { 0xFF, 0xD8, 2 }, EvalDatasets.ImageBytes(docs[1], "image"));
        Assert.Contains("row 1", docs[1].Source);
        var scores = task.Score(docs, [" 1 May\n", "STRASSE"]);
        double expected = LmmsAggregation.Mean([AnlsMetric.Score("1 May", ["1 May", "May 1"]), AnlsMetric.Score("STRASSE", ["Straße"])]);
        Assert.Equal(expected, scores["anls"]);
        Assert.Single(EvalDatasets.ReadParquet("docvqa_val", _dir, limit: 1));
    }

    [Fact]
    public void ScienceQaAndMmmuLayouts()
    {
        var sqa = Write("sqa.parquet", new ParquetSchema(Image, new DataField<string>("question"),
                new ListField("choices", new DataField<string>("element")), new DataField<sbyte>("answer"), new DataField<string>("hint")),
        [
            new Dictionary<string, object> { ["image"] = ImageValue(3), ["question"] = "Which?", ["choices"] = new List<string> { "x", "y" }, ["answer"] = (sbyte)1, ["hint"] = "" },
            new Dictionary<string, object> { ["image"] = null!, ["question"] = "No image?", ["choices"] = new List<string> { "x", "y", "z" }, ["answer"] = (sbyte)2, ["hint"] = "Look." },
        ]);
        var task = EvalTasks.Get("scienceqa");
        var docs = EvalDatasets.ReadParquet("scienceqa", sqa).ToList();
        Assert.Equal(["image"], task.ImageColumns(docs[0]));
        Assert.Empty(task.ImageColumns(docs[1]));
        Assert.StartsWith("Context: Look.\nNo image?\nA. x", task.DocToText(docs[1]));
        Assert.Equal(1.0, task.Score(docs, ["B", "C."])["exact_match"]);

        var mmmu = Write("mmmu.parquet", new ParquetSchema(new DataField<string>("id"), new DataField<string>("question"),
                new DataField<string>("options"), new DataField<string>("question_type"), new DataField<string>("answer"),
                new StructField("image_1", new DataField<byte[]>("bytes"), new DataField<string>("path")),
                new StructField("image_2", new DataField<byte[]>("bytes"), new DataField<string>("path"))),
        [
            new Dictionary<string, object> { ["id"] = "validation_Art_1", ["question"] = "<image 1> Which?", ["options"] = "['cat', \"it's\"]",
                ["question_type"] = "multiple-choice", ["answer"] = "B", ["image_1"] = ImageValue(4), ["image_2"] = null! },
        ]);
        var doc = Assert.Single(EvalDatasets.ReadParquet("mmmu_val", mmmu));
        var mmmuTask = EvalTasks.Get("mmmu_val");
        Assert.Equal("<image 1> Which?\nA. cat\nB. it's\n\nAnswer with the option's letter from the given choices directly.", mmmuTask.DocToText(doc));
        Assert.Equal(["image_1"], mmmuTask.ImageColumns(doc));
        Assert.Equal(new byte[] { 0xFF, 0xD8, 4 }, EvalDatasets.ImageBytes(doc, "image_1"));
        var nullImage = Assert.Throws<InvalidDataException>(() => EvalDatasets.ImageBytes(doc, "image_2")).Message;
        Assert.True(nullImage.Contains("image column 'image_2' is null"), nullImage);
        Assert.Equal(1.0, mmmuTask.Score([doc], ["(B)"])["mmmu_acc"]);
    }

    [Fact]
    public void LayoutErrorsNameTaskFileAndColumn()
    {
        var path = Write("bad.parquet", new ParquetSchema(new DataField<string>("question"), Image),
            [new Dictionary<string, object> { ["question"] = "q", ["image"] = ImageValue(5) }]);
        var e = Assert.Throws<InvalidDataException>(() => EvalDatasets.ReadParquet("textvqa_val", path).ToList());
        Assert.Contains("task 'textvqa_val'", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("column 'answers'", e.Message);

        var notParquet = Path.Combine(_dir, "notes.parquet");
        File.WriteAllText(notParquet, "not parquet");
        var n = Assert.Throws<InvalidDataException>(() => EvalDatasets.ReadParquet("mme", notParquet).ToList());
        Assert.Contains(notParquet, n.Message);
        Assert.Throws<FileNotFoundException>(() => EvalDatasets.ReadParquet("mme", Path.Combine(_dir, "missing")).ToList());
        Assert.Equal("lmms-lab/DocVQA", EvalDatasets.Layout("infovqa_val").Dataset);
        Assert.Equal("InfographicVQA", EvalDatasets.Layout("infovqa_val").Config);
        Assert.Equal(EvalTasks.Names.Order(), EvalTasks.Names.Select(t => EvalDatasets.Layout(t).Task).Order());
    }
}

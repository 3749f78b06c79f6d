using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>The three sources over the same generated rows: identical content, positions and resume behaviour.</summary>
[Collection(GeneratedDataCollection.Name)]
public sealed class SourceEquivalenceTests(GeneratedData data)
{
    public static TheoryData<string> Formats => ["parquet", "jsonl", "webdataset"];

    private IRowSource Open(string format) => format switch
    {
        "parquet" => RowSources.Open(data.ParquetDir),
        "jsonl" => RowSources.Open(data.JsonlDir),
        _ => RowSources.Open(data.TarDir),
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void EverySource_YieldsTheGeneratedRows(string format)
    {
        using var source = Open(format);
        Assert.Equal(2, source.Shards.Count);
        var rows = RowAssert.ReadAll(source);
        Assert.Equal(GeneratedData.Rows, rows.Count);
        for (var i = 0; i < rows.Count; i++) RowAssert.Equal(data.Expected[i], rows[i]);
        // Positions restart at 0 in each shard and name their shard.
        var firstOfShard1 = rows.FindIndex(r => r.Position.Shard == 1);
        Assert.True(firstOfShard1 > 0);
        Assert.Equal(0, rows[firstOfShard1].Position.Row);
        Assert.All(rows, r => Assert.Equal(source.Shards[r.Position.Shard], r.ShardName));
    }

    [Fact]
    public void OpenPicksTheFormatFromTheExtension()
    {
        using (var p = RowSources.Open(data.ParquetDir)) Assert.IsType<ParquetRowSource>(p);
        using (var j = RowSources.Open(Path.Combine(data.JsonlDir, "*.jsonl"))) Assert.IsType<JsonlRowSource>(j);
        using (var t = RowSources.Open(Path.Combine(data.TarDir, "sample-00001-of-00002.tar")))
        {
            Assert.IsType<WebDatasetRowSource>(t);
            Assert.Single(t.Shards);
        }
        Assert.Throws<ArgumentException>(() => RowSources.Open(Path.Combine(data.Dir, "x.csv")));
        Assert.Throws<FileNotFoundException>(() => RowSources.Open(Path.Combine(data.Dir, "nothing-*.parquet")));
    }

    [Fact]
    public void FolderWithSeveralKinds_IsRejected()
    {
        var dir = Directory.CreateTempSubdirectory("nanovlm-mixed-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "a.jsonl"), "");
            File.WriteAllText(Path.Combine(dir, "b.tar"), "");
            var e = Assert.Throws<ArgumentException>(() => RowSources.Open(dir));
            Assert.Contains(".jsonl and .tar", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void GlobsAndFolders_ListShardsInOrdinalPathOrder()
    {
        var dir = Directory.CreateTempSubdirectory("nanovlm-glob-").FullName;
        try
        {
            foreach (var name in new[] { "train-2.parquet", "train-10.parquet", "valid-1.parquet", "train-1.jsonl" })
                File.WriteAllText(Path.Combine(dir, name), "");
            using var glob = RowSources.Open(Path.Combine(dir, "train-*.parquet"));
            Assert.Equal(["train-10.parquet", "train-2.parquet"], glob.Shards.Select(Path.GetFileName));
            using var single = RowSources.Open(Path.Combine(dir, "*.jsonl"));
            Assert.Equal(["train-1.jsonl"], single.Shards.Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ResumeFromStartRow_EqualsSkipping(string format)
    {
        using var source = Open(format);
        var all = source.ReadShard(0).Select(RowAssert.Copy).ToList();
        // Row group size is 32: cover the first row, inside the first group, a group boundary, inside a later group,
        // the last row and past the end.
        foreach (var start in new long[] { 0, 5, 32, 33, 70, all.Count - 1, all.Count, all.Count + 10 })
        {
            var resumed = source.ReadShard(0, start).Select(RowAssert.Copy).ToList();
            var expected = all.Skip((int)Math.Min(start, all.Count)).ToList();
            Assert.Equal(expected.Count, resumed.Count);
            for (var i = 0; i < expected.Count; i++) RowAssert.Equal(expected[i], resumed[i]);
        }
    }

    [Fact]
    public void ParquetPositions_NameTheRowGroup()
    {
        using var source = ParquetRowSource.Open(data.ParquetDir);
        var rows = source.ReadShard(0).Select(RowAssert.Copy).ToList();
        Assert.All(rows, r => Assert.Equal(r.Position.Row / 32, r.Position.RowGroup));
    }
}

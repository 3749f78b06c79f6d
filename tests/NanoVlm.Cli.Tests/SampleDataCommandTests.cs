using System.CommandLine;
using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;

using static NanoVlm.Cli.Tests.CliRunner;

namespace NanoVlm.Cli.Tests;

/// <summary><c>nanovlm sample-data</c> in-process.</summary>
public sealed class SampleDataCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-sample-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WritesParquetShardsThatReadBackAsTheGeneratedRows()
    {
        var (code, stdout, stderr) = Invoke("sample-data", "--out", _dir, "--rows", "40", "--seed", "3", "--shards", "2");
        Assert.True(code == 0, stderr);
        var files = Directory.GetFiles(_dir, "*.parquet").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(2, files.Length);
        Assert.All(files, f => Assert.Contains(f, stdout));
        Assert.Contains("40 rows", stdout);

        using var source = RowSources.Open(_dir);
        var rows = Enumerable.Range(0, source.Shards.Count).SelectMany(s => source.ReadShard(s)).Select(r => r.Copy()).ToList();
        var expected = SyntheticSampleGenerator.Generate(0, 40, seed: 3);
        Assert.Equal(expected.Length, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(expected[i].Text.Texts, rows[i].Text.Texts);
            Assert.Equal(expected[i].Images.Count, rows[i].Images.Count);
        }
        var images = expected.Sum(e => e.Images.Count);
        Assert.Contains($"{images} images", stdout);
    }

    [Fact]
    public void AllFormats_WritesParquetJsonlAndTar_AndTheSameSeedWritesIdenticalFiles()
    {
        var second = Path.Combine(_dir, "again");
        Assert.Equal(0, Invoke("sample-data", "--out", _dir, "--rows", "12", "--format", "all").Code);
        Assert.Equal(0, Invoke("sample-data", "--out", second, "--rows", "12", "--format", "all").Code);
        Assert.Single(Directory.GetFiles(_dir, "*.parquet"));
        Assert.Single(Directory.GetFiles(Path.Combine(_dir, "jsonl"), "*.jsonl"));
        Assert.Single(Directory.GetFiles(Path.Combine(_dir, "webdataset"), "*.tar"));
        foreach (var rel in new[] { "sample-00000-of-00001.parquet", "jsonl/sample-00000-of-00001.jsonl", "webdataset/sample-00000-of-00001.tar" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, rel)), File.ReadAllBytes(Path.Combine(second, rel)));
    }

    [Fact]
    public void BadArguments_FailWithoutWriting()
    {
        var (code, _, stderr) = Invoke("sample-data", "--out", _dir, "--shards", "0");
        Assert.Equal(2, code);
        Assert.Contains("shards", stderr);
        Assert.NotEqual(0, Invoke("sample-data", "--out", _dir, "--format", "csv").Code);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }
}

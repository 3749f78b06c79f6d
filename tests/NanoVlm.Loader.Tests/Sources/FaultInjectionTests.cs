using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;
using Parquet;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>
/// Corrupt, truncated and mistyped shards end in a <see cref="DataSourceException"/> that names the shard (and row
/// group, row, column where they are known): never another exception type, never a hang.
/// </summary>
public sealed class FaultInjectionTests : IDisposable
{
    private const int Rows = 24;
    private const int RowGroupSize = 8;
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-faults-").FullName;

    public FaultInjectionTests() =>
        SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = Rows, Seed = 5, RowGroupSize = RowGroupSize, Formats = SampleDataFormats.All });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ParquetFile => Path.Combine(_dir, "sample-00000-of-00001.parquet");

    private string TarFile => Path.Combine(_dir, "webdataset", "sample-00000-of-00001.tar");

    private string JsonlFile => Path.Combine(_dir, "jsonl", "sample-00000-of-00001.jsonl");

    private string Variant(string original, string name, byte[] bytes)
    {
        var path = Path.Combine(Path.GetDirectoryName(original)!, name + Path.GetExtension(original));
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Reads every row of <paramref name="path"/> on a worker thread (so a hang fails the test's timeout)
    /// and returns the DataSourceException it raised, or null when it read cleanly.</summary>
    private static async Task<DataSourceException?> ReadAllAsync(string path)
    {
        return await Task.Run(() =>
        {
            try
            {
                using var source = RowSources.Open(path);
                foreach (var row in source.ReadShard(0))
                    foreach (var image in row.Images)
                        _ = image.Length;
                return null;
            }
            catch (DataSourceException e)
            {
                return e;
            }
        });
    }

    private static async Task<DataSourceException> FailsAsync(string path)
    {
        var e = await ReadAllAsync(path);
        Assert.NotNull(e);
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.Shard);
        return e;
    }

    [Fact(Timeout = 20_000)]
    public async Task Parquet_RandomBytes_IsNotAParquetFile()
    {
        var bytes = new byte[5000];
        new Random(1).NextBytes(bytes);
        var e = await FailsAsync(Variant(ParquetFile, "random", bytes));
        Assert.Contains("not a readable parquet file", e.Message);
        Assert.Null(e.RowGroup);
    }

    [Fact(Timeout = 20_000)]
    public async Task Parquet_TruncatedAnywhere_Fails()
    {
        var bytes = File.ReadAllBytes(ParquetFile);
        foreach (var cut in new[] { 0, 3, 100, bytes.Length / 3, bytes.Length / 2, bytes.Length - 9, bytes.Length - 1 })
            await FailsAsync(Variant(ParquetFile, $"cut{cut}", bytes[..cut]));
    }

    // A copy of the parquet shard with the first page header of texts.user in row group `group` overwritten.
    private async Task<string> DamageFirstPage(int group)
    {
        long offset;
        await using (var file = File.OpenRead(ParquetFile))
        await using (var reader = await ParquetReader.CreateAsync(file))
        {
            var field = reader.Schema.DataFields.Single(f => f.Name == "user");
            var meta = reader.OpenRowGroupReader(group).GetMetadata(field)!.MetaData!;
            offset = Math.Min(meta.DictionaryPageOffset is { } d and > 0 ? d : long.MaxValue, meta.DataPageOffset);
        }
        var bytes = await File.ReadAllBytesAsync(ParquetFile);
        bytes.AsSpan((int)offset, 16).Fill(0xFF);
        return Variant(ParquetFile, $"damaged{group}", bytes);
    }

    [Fact(Timeout = 20_000)]
    public async Task Parquet_DamagedPageHeader_NamesRowGroupAndColumn()
    {
        var path = await DamageFirstPage(1);
        var e = await FailsAsync(path);
        Assert.Equal(1, e.RowGroup);
        Assert.Equal("texts.user", e.Column);
        Assert.Contains("row group 1", e.Message);
        Assert.Contains($"rows {RowGroupSize}..{2 * RowGroupSize - 1}", e.Message);

        // The rows of row group 0 came out before the failure, and resuming past the damage still works.
        using var source = new ParquetRowSource([path]);
        Assert.All(source.ReadShard(0).Take(RowGroupSize).Select(RowAssert.Copy).ToList(), r => Assert.Equal(0, r.Position.RowGroup));
        Assert.Equal(Rows - 2 * RowGroupSize, source.ReadShard(0, startRow: 2 * RowGroupSize).Count());
    }

    [Fact(Timeout = 20_000)]
    public async Task Parquet_StartRowSkipsWholeRowGroupsWithoutDecodingThem()
    {
        // Row group 0 cannot be decoded; starting at its last row must decode it, starting after it must not.
        using var source = new ParquetRowSource([await DamageFirstPage(0)]);
        Assert.Throws<DataSourceException>(() => source.ReadShard(0, startRow: RowGroupSize - 1).First());
        var rows = source.ReadShard(0, startRow: RowGroupSize).Select(RowAssert.Copy).ToList();
        Assert.Equal(Enumerable.Range(RowGroupSize, Rows - RowGroupSize).Select(i => (long)i), rows.Select(r => r.Position.Row));
    }

    [Fact(Timeout = 20_000)]
    public async Task Parquet_Cancellation_StopsReading()
    {
        using var cts = new CancellationTokenSource();
        using var source = new ParquetRowSource([ParquetFile]);
        await Task.Run(() =>
        {
            using var rows = source.ReadShard(0, 0, cts.Token).GetEnumerator();
            Assert.True(rows.MoveNext());
            cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => rows.MoveNext());
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task Parquet_RandomByteFlips_ReadOrFailCleanly()
    {
        var original = File.ReadAllBytes(ParquetFile);
        var failures = 0;
        for (var trial = 0; trial < 40; trial++)
        {
            var rng = new Random(trial);
            var bytes = (byte[])original.Clone();
            // Half the trials hit the footer region, where every byte matters.
            for (var k = 0; k < 4; k++)
            {
                var at = trial % 2 == 0 ? rng.Next(bytes.Length) : bytes.Length - 1 - rng.Next(Math.Min(600, bytes.Length));
                bytes[at] ^= (byte)rng.Next(1, 256);
            }
            var path = Variant(ParquetFile, $"flip{trial}", bytes);
            if (await ReadAllAsync(path) is { } e)
            {
                Assert.Equal(path, e.Shard);
                failures++;
            }
        }
        Assert.True(failures > 0, "no corruption was detected at all");
    }

    [Fact(Timeout = 20_000)]
    public async Task Tar_RandomBytes_BadHeader()
    {
        var bytes = new byte[4096];
        new Random(2).NextBytes(bytes);
        var e = await FailsAsync(Variant(TarFile, "random", bytes));
        Assert.Contains("checksum", e.Message);
    }

    [Fact(Timeout = 20_000)]
    public async Task Tar_TruncatedAnywhere_NamesTheMember()
    {
        var bytes = File.ReadAllBytes(TarFile);
        // The archive ends with two zero blocks; every cut before them loses data or the end marker.
        var end = bytes.Length - 1024;
        foreach (var cut in new[] { 0, 100, 512, 700, end / 3, end / 2, end - 513, end - 512, end - 1, end })
        {
            var e = await FailsAsync(Variant(TarFile, $"cut{cut}", bytes[..cut]));
            Assert.NotNull(e.Column);
            Assert.Contains(e.Column, e.Message);
        }
    }

    [Fact(Timeout = 20_000)]
    public async Task Tar_MemberWithoutJson_NamesTheKey()
    {
        // Rewrite the archive without the first .json member: the first key then has images only.
        var bytes = File.ReadAllBytes(TarFile);
        var size = Convert.ToInt64(System.Text.Encoding.ASCII.GetString(bytes, 124, 11), 8);
        var skip = 512 + (size + 511) / 512 * 512;
        var e = await FailsAsync(Variant(TarFile, "nojson", bytes[(int)skip..]));
        Assert.Equal("0000000.json", e.Column);
        Assert.Equal(0, e.Row);
    }

    [Fact(Timeout = 20_000)]
    public async Task Jsonl_BadLine_NamesLineAndRow()
    {
        var lines = File.ReadAllLines(JsonlFile).ToList();
        lines.Insert(3, "");                          // blank lines are skipped and not counted as rows
        lines[5] = lines[5][..(lines[5].Length / 2)];  // line 6 = row 4 is cut in half
        var path = Path.Combine(Path.GetDirectoryName(JsonlFile)!, "bad.jsonl");
        File.WriteAllLines(path, lines);
        var e = await FailsAsync(path);
        Assert.Equal(4, e.Row);
        Assert.Contains("line 6", e.Message);
        Assert.Contains("invalid JSON", e.Message);

        // A consumer can skip the bad row by resuming after it.
        using var source = new JsonlRowSource([path]);
        Assert.Equal(Rows - 5, source.ReadShard(0, e.Row!.Value + 1).Count());
    }

    [Theory(Timeout = 20_000)]
    [InlineData("{\"images\": [], \"texts\": \"just a string\"}", "texts")]
    [InlineData("{\"images\": []}", "texts")]
    [InlineData("{\"texts\": [{\"user\": 1, \"assistant\": \"a\"}]}", "texts[0].user")]
    [InlineData("{\"texts\": [], \"relevance_ratings\": [\"high\"]}", "relevance_ratings[0]")]
    [InlineData("{\"texts\": [], \"images\": [\"missing.jpg\"]}", "images[0]")]
    [InlineData("[1, 2]", null)]
    public async Task Jsonl_WrongFieldTypes_NameTheField(string line, string? column)
    {
        var path = Path.Combine(Path.GetDirectoryName(JsonlFile)!, "typed.jsonl");
        await File.WriteAllTextAsync(path, "{\"texts\": []}\n" + line + "\n");
        var e = await FailsAsync(path);
        Assert.Equal(1, e.Row);
        Assert.Equal(column, e.Column);
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void Jsonl_AbsentOptionalFields_AreNull()
    {
        var path = Path.Combine(_dir, "minimal.jsonl");
        File.WriteAllText(path, "{\"texts\": [{\"user\": \"q\", \"assistant\": \"a\"}], \"formatting_ratings\": [null, 3]}\n");
        using var source = new JsonlRowSource([path]);
        var row = Assert.Single(source.ReadShard(0));
        Assert.Empty(row.Images);
        Assert.Null(row.Source);
        Assert.Null(row.Text.RelevanceRatings);
        Assert.Equal([null, 3L], row.Text.FormattingRatings!);
    }
}

using System.Buffers.Binary;
using NanoVlm.Loader.Sources;
using NanoVlm.Testing;
using Parquet;
using Xunit.Abstractions;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>
/// Damaged copies of the independent writers' fixtures (truncated footer, truncated page, wrong magic) and a file
/// with a column of the wrong type: a <see cref="DataSourceException"/> that names the file, and the row group and
/// column where the damage is inside one; the rows before the damage come out first.
/// </summary>
public sealed class ParquetDamageTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-parquet-damage-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Files => ParquetWriterFixtureTests.Files;

    private string Damaged(string file, string what, byte[] bytes)
    {
        var path = Path.Combine(_dir, $"{Path.GetFileNameWithoutExtension(file)}.{what}.parquet");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Original(string file) => File.ReadAllBytes(Fixtures.Path("parquet", file));

    /// <summary>Reads every row; returns the rows read (images copied) and the exception that ended the read.</summary>
    private (List<SourceRow> Rows, DataSourceException Error) ReadUntilFailure(string path)
    {
        var rows = new List<SourceRow>();
        using var source = new ParquetRowSource([path]);
        var e = Assert.Throws<DataSourceException>(() =>
        {
            foreach (var row in source.ReadShard(0)) rows.Add(RowAssert.Copy(row));
        });
        Assert.Equal(path, e.Shard);
        Assert.StartsWith(path, e.Message);
        output.WriteLine($"{rows.Count} rows, then: {e.Message}");
        return (rows, e);
    }

    // The footer: thrift metadata, its 4-byte little-endian length, "PAR1".
    private static int FooterLength(byte[] bytes) => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 8)) + 8;

    [Theory]
    [MemberData(nameof(Files))]
    public void TruncatedFooter_NamesTheFile(string file)
    {
        var bytes = Original(file);
        var footer = FooterLength(bytes);
        // The file cut inside its footer, and a footer whose metadata lost its second half (length and magic intact).
        var cut = Damaged(file, "cut", bytes[..^(footer / 2)]);
        var half = (footer - 8) / 2;
        var shortened = bytes[..^footer].Concat(bytes[^footer..^(footer - half)]).Concat(new byte[4]).Concat("PAR1"u8.ToArray()).ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(shortened.AsSpan(shortened.Length - 8), half);
        foreach (var path in new[] { cut, Damaged(file, "short-footer", shortened) })
        {
            var (rows, e) = ReadUntilFailure(path);
            Assert.Empty(rows);
            Assert.Contains("not a readable parquet file", e.Message);
            Assert.Null(e.RowGroup);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void WrongMagic_AtEitherEnd_NamesTheFile(string file)
    {
        var head = Original(file);
        head[3] = (byte)'2';
        var (_, e) = ReadUntilFailure(Damaged(file, "head-magic", head));
        Assert.Contains("does not start with the parquet magic PAR1 (found 50415232", e.Message);

        var tail = Original(file);
        tail[^1] = (byte)'X';
        (_, e) = ReadUntilFailure(Damaged(file, "tail-magic", tail));
        Assert.Contains("not a readable parquet file", e.Message);
        Assert.Contains("magic", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The file cut in the middle of row group 1's first <c>texts.user</c> page, its footer re-attached (a
    /// copy that lost its tail): row group 0 comes out whole, then the error names row group 1 and the column.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public async Task TruncatedPage_KeepsTheRowsBefore_AndNamesRowGroupAndColumn(string file)
    {
        var bytes = Original(file);
        long start, size;
        await using (var stream = new MemoryStream(bytes))
        await using (var reader = await ParquetReader.CreateAsync(stream))
        {
            var user = reader.Schema.DataFields.Single(f => f.Path.ToList().Last() == "user");
            var meta = reader.OpenRowGroupReader(1).GetMetadata(user)!.MetaData!;
            start = Math.Min(meta.DictionaryPageOffset is { } d and > 0 ? d : long.MaxValue, meta.DataPageOffset);
            size = meta.TotalCompressedSize;
        }
        var footer = FooterLength(bytes);
        var cut = (int)(start + size / 2);
        var (rows, e) = ReadUntilFailure(Damaged(file, "cut-page", [.. bytes[..cut], .. bytes[^footer..]]));

        Assert.Equal(100, rows.Count);
        for (var i = 0; i < rows.Count; i++) ParquetWriterFixtureTests.AssertRow(ParquetWriterFixtureTests.Expected.Value[i], rows[i], i);
        Assert.Equal(1, e.RowGroup);
        Assert.Equal("texts.user", e.Column);
        Assert.Contains("row group 1, column 'texts.user'", e.Message);
        Assert.Contains("rows 100..199", e.Message);
    }

    [Fact]
    public void ColumnOfTheWrongType_NamesTheColumnAndBothTypes()
    {
        var path = Fixtures.Path("parquet", "duckdb_wrong_type.parquet");
        var (rows, e) = ReadUntilFailure(path);
        Assert.Empty(rows);
        Assert.Equal("images", e.Column);
        Assert.Contains("expected list<struct<bytes: binary, path: string>>, found list<struct<bytes: string, path: string>>", e.Message);
    }
}

using System.Formats.Tar;
using System.Text;
using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>Tar shards written by .NET's own <see cref="TarWriter"/> (independent of our writer) in the GNU, pax and
/// ustar formats: long names, pax paths, directories, unknown members and multi-image keys.</summary>
public sealed class WebDatasetFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-tar-formats-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string LongDir = "shard/" + new string('d', 120) + "/";

    private static IEnumerable<(string Name, byte[] Data)> Members()
    {
        yield return (LongDir + "a.json", Encoding.UTF8.GetBytes("{\"texts\": [{\"user\": \"q1\", \"assistant\": \"a1\"}], \"source\": \"s\"}"));
        yield return (LongDir + "a.jpg", [1, 1, 1]);
        yield return (LongDir + "a.txt", [9, 9]);                    // unknown member: ignored
        yield return ("b.1.png", [2, 2]);                           // several images: in index order, not member order
        yield return ("b.json", Encoding.UTF8.GetBytes("{\"texts\": [], \"relevance_ratings\": [null, 4]}"));
        yield return ("b.0.webp", [3]);
        yield return ("c.json", Encoding.UTF8.GetBytes("{\"texts\": null}"));
    }

    private string Write(TarEntryFormat format) => Write(format, Members(), "");

    private string Write(TarEntryFormat format, IEnumerable<(string Name, byte[] Data)> members, string suffix)
    {
        var path = Path.Combine(_dir, $"{format}{suffix}.tar");
        using var file = File.Create(path);
        using var tar = new TarWriter(file, format);
        TarEntry Entry(TarEntryType type, string name) => format switch
        {
            TarEntryFormat.Gnu => new GnuTarEntry(type, name),
            TarEntryFormat.Pax => new PaxTarEntry(type, name),
            _ => new UstarTarEntry(type, name),
        };
        tar.WriteEntry(Entry(TarEntryType.Directory, "shard/"));
        foreach (var (name, data) in members)
        {
            var entry = Entry(TarEntryType.RegularFile, name);
            entry.DataStream = new MemoryStream(data);
            tar.WriteEntry(entry);
        }
        return path;
    }

    [Theory]
    [InlineData(TarEntryFormat.Gnu)]
    [InlineData(TarEntryFormat.Pax)]
    public void LongNamesAndGrouping(TarEntryFormat format)
    {
        using var source = new WebDatasetRowSource([Write(format)]);
        var rows = RowAssert.ReadAll(source);
        Assert.Equal(3, rows.Count);
        Assert.Equal([0L, 1L, 2L], rows.Select(r => r.Position.Row));

        Assert.Equal("s", rows[0].Source);
        Assert.Equal([new("q1", "a1")], rows[0].Text.Texts!);
        Assert.Equal([1, 1, 1], Assert.Single(rows[0].Images).ToArray());

        Assert.Equal([[3], [2, 2]], rows[1].Images.Select(i => i.ToArray()));
        Assert.Equal([null, 4L], rows[1].Text.RelevanceRatings!);
        Assert.Empty(rows[1].Text.Texts!);

        Assert.Null(rows[2].Text.Texts);
        Assert.Empty(rows[2].Images);
    }

    [Theory]
    [InlineData(TarEntryFormat.Ustar)]
    [InlineData(TarEntryFormat.Gnu)]
    [InlineData(TarEntryFormat.Pax)]
    public void KeysInLongFolders_AreTheFullPath(TarEntryFormat format)
    {
        // Two keys with the same file name in folders that differ only at the start of a long path: reading only the
        // 100-byte name field (dropping the ustar prefix, GNU long name or pax path) would merge them into one row.
        var tail = "/" + new string('f', 110) + "/k";
        (string, byte[])[] members =
        [
            ("one" + tail + ".json", "{\"texts\": [], \"source\": \"one\"}"u8.ToArray()), ("one" + tail + ".jpg", [1]),
            ("two" + tail + ".json", "{\"texts\": [], \"source\": \"two\"}"u8.ToArray()), ("two" + tail + ".png", [2]),
        ];
        using var source = new WebDatasetRowSource([Write(format, members, "-long")]);
        var rows = RowAssert.ReadAll(source);
        Assert.Equal(["one", "two"], rows.Select(r => r.Source));
        Assert.Equal([[1], [2]], rows.Select(r => Assert.Single(r.Images).ToArray()));
    }

    [Fact]
    public void Cancellation_StopsReading()
    {
        using var cts = new CancellationTokenSource();
        using var source = new WebDatasetRowSource([Write(TarEntryFormat.Gnu)]);
        using var rows = source.ReadShard(0, 0, cts.Token).GetEnumerator();
        Assert.True(rows.MoveNext());
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => rows.MoveNext());
    }
}

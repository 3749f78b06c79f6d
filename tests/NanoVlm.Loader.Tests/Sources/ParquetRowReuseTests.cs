using System.Text;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Tests.Pipeline;
using NanoVlm.Loader.Text;
using Parquet;
using Parquet.Serialization;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>
/// The parquet source hands out one reused row per enumeration and allocates nothing per row; the loader copies what
/// it keeps, so its samples still carry each row's own text.
/// </summary>
[Collection(GeneratedDataCollection.Name)]
public sealed class ParquetRowReuseTests(GeneratedData data)
{
    private string Shard0 => Directory.GetFiles(data.ParquetDir, "*.parquet").Order(StringComparer.Ordinal).First();

    [Fact]
    public void ConsecutiveRows_ShareTheReusedObjects()
    {
        using var source = new ParquetRowSource([Shard0]);
        using var rows = source.ReadShard(0).GetEnumerator();
        Assert.True(rows.MoveNext());
        var first = rows.Current;
        var firstText = first.Text;
        var firstTurns = first.Text.Texts;
        var firstUser = first.Text.Texts![0].User.ToString();
        Assert.True(rows.MoveNext());
        var second = rows.Current;
        Assert.Same(first, second);
        Assert.Same(firstText, second.Text);
        Assert.Same(firstTurns, second.Text.Texts);
        Assert.Equal(1, second.Position.Row);
        // The expectation is the generator's, not the reader's: row 1's text replaced row 0's in the shared object.
        Assert.Equal(data.Expected[1].Text.Texts, second.Text.Texts);
        Assert.Equal(data.Expected[0].Text.Texts![0].User.ToString(), firstUser);
    }

    [Fact]
    public void Copy_OutlivesTheEnumerator()
    {
        using var source = new ParquetRowSource([Shard0]);
        var copies = source.ReadShard(0).Select(r => r.Copy()).ToList();
        Assert.True(copies.Count > 64, "the shard spans several row groups");
        for (var i = 0; i < copies.Count; i++) RowAssert.Equal(data.Expected[i], copies[i]);
    }

    /// <summary>A warm enumeration allocates nothing from one row to the next within a row group (texts, ratings,
    /// image slices all come from reused buffers), and only Arrow's column reader wrappers per row group.</summary>
    [Fact]
    public void SteadyRead_AllocatesNothingPerRow()
    {
        using var source = new ParquetRowSource([Shard0]);
        // Warm-up: JIT, and the source's buffers grown to the shard's row groups (kept for the next enumeration).
        Assert.True(Touch(source.ReadShard(0)) > 0);

        var perRow = new List<long>();
        var perGroup = new List<long>();
        long rows = 0, opening = -1;
        var lastGroup = -1;
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var row in source.ReadShard(0))
        {
            var cost = GC.GetAllocatedBytesForCurrentThread() - before;
            // The first row of a row group pays for decoding the group (the first one also for opening the shard).
            if (row.Position.RowGroup == lastGroup) perRow.Add(cost);
            else if (lastGroup < 0) opening = cost;
            else perGroup.Add(cost);
            lastGroup = row.Position.RowGroup;
            TouchRow(row);
            rows++;
            before = GC.GetAllocatedBytesForCurrentThread();
        }
        Assert.True(rows > 64 && perGroup.Count >= 2, $"{rows} rows in {perGroup.Count + 1} row groups");
        Assert.All(perRow, b => Assert.Equal(0, b));
        // Measured: ~1.6 KB per row group (ParquetSharp's column reader and chunk metadata objects, 8 columns) and
        // ~10 KB to open the shard (footer, schema nodes); the rows cost ~0.7 KB each when they were allocated.
        Assert.All(perGroup, b => Assert.InRange(b, 0, 4096));
        Assert.InRange(opening, 0, 32_768);
    }

    /// <summary>Two workers over a parquet source: every emitted sample's tokens and labels equal a fresh
    /// tokenization of its own row, read independently (a sample that kept a reference to the reader's reused row
    /// would carry a later row's text).</summary>
    [Fact(Timeout = 60_000)]
    public async Task LoaderSamples_CarryTheirOwnRowsText()
    {
        var expected = new Dictionary<(int Shard, long Row), SourceRow>();
        using (var reference = ParquetRowSource.Open(data.ParquetDir))
            for (var s = 0; s < reference.Shards.Count; s++)
                foreach (var row in reference.ReadShard(s))
                    expected[(s, row.Position.Row)] = row.Copy();

        var o = PipelineFixtures.Tiny with { Workers = 2, Epochs = 1 };
        await using var loader = new DataLoader(ParquetRowSource.Open(data.ParquetDir), o);
        using var prep = new SamplePreparer(VlmTokenizer.LoadDefault(),
            new SamplePreparerOptions { QualityFilter = o.QualityFilter, ImageTokenLength = o.ImageTokenLength });
        var pre = new ImagePreprocessor(o.Images);
        var samples = 0;
        await PipelineFixtures.ReadAll(loader, batch =>
        {
            foreach (var pack in batch.Packs)
            {
                var cu = pack.CuSeqlens.ToArray();
                for (var k = 0; k < pack.Origins.Count; k++)
                {
                    var row = expected[(pack.Origins[k].Position.Shard, pack.Origins[k].Position.Row)];
                    var grids = row.Images.Select(i => pre.Plan(i.Span, "x").Grid).Select(g => new ImageGrid(g.Rows, g.Cols)).ToArray();
                    var r = prep.Prepare(row.Text, grids);
                    Assert.True(r.Ok);
                    // The sample's tokens are followed by one pad in the pack.
                    Assert.Equal(r.Length + 1, cu[k + 1] - cu[k]);
                    Assert.Equal(prep.Current.InputIds.ToArray(), pack.InputIds[cu[k]..(cu[k] + r.Length)].ToArray());
                    Assert.Equal(prep.Current.Labels.ToArray(), pack.Labels[cu[k]..(cu[k] + r.Length)].ToArray());
                    samples++;
                }
            }
        });
        Assert.True(samples > expected.Count / 2, $"{samples} of {expected.Count} rows emitted");
    }

    /// <summary>Invalid UTF-8 in a text is decoded as <see cref="Encoding.UTF8"/> decodes it (U+FFFD per bad
    /// sequence), as the reader did when it made a string per text; the rows around it are unaffected.</summary>
    [Fact]
    public async Task InvalidUtf8_BecomesReplacementCharacters()
    {
        var dir = Directory.CreateTempSubdirectory("nanovlm-parquet-utf8-").FullName;
        try
        {
            var path = Path.Combine(dir, "bad.parquet");
            // Same-length marker and payload, so patching the uncompressed file keeps every offset.
            const string marker = "@@MARK@";
            byte[] bad = [(byte)'@', 0xFF, 0xFE, (byte)'@', 0xC3, (byte)'(', 0xE2];
            Assert.Equal(marker.Length, bad.Length);
            var rows = new[]
            {
                new Utf8Row { Texts = [new Turn { User = "before", Assistant = "ok" }] },
                new Utf8Row { Texts = [new Turn { User = "x" + marker + "y", Assistant = "é" }] },
                new Utf8Row { Texts = [new Turn { User = "after", Assistant = "ok" }] },
            };
            await ParquetSerializer.SerializeAsync(rows, path,
                new ParquetOptions { CompressionMethod = CompressionMethod.None });
            var bytes = File.ReadAllBytes(path);
            var patched = 0;
            for (var at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker)); at >= 0;
                 at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker)))
            {
                bad.CopyTo(bytes, at);
                patched++;
            }
            Assert.True(patched >= 1);
            File.WriteAllBytes(path, bytes);

            using var source = new ParquetRowSource([path]);
            var read = source.ReadShard(0).Select(r => r.Copy()).ToList();
            Assert.Equal(3, read.Count);
            var expectedUser = "x" + Encoding.UTF8.GetString(bad) + "y";
            Assert.Contains('\uFFFD', expectedUser);
            Assert.Equal([new ChatTurn(expectedUser, "é")], read[1].Text.Texts!);
            Assert.Equal([new ChatTurn("before", "ok")], read[0].Text.Texts!);
            Assert.Equal([new ChatTurn("after", "ok")], read[2].Text.Texts!);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public sealed class Turn
    {
        [System.Text.Json.Serialization.JsonPropertyName("user")] public string? User { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("assistant")] public string? Assistant { get; set; }
    }

    public sealed class Utf8Row
    {
        [System.Text.Json.Serialization.JsonPropertyName("texts")] public List<Turn>? Texts { get; set; }
    }

    private static long Touch(IEnumerable<SourceRow> rows)
    {
        long n = 0;
        foreach (var row in rows) n += TouchRow(row);
        return n;
    }

    // Reads every text, rating and image byte the way the loader does (indexed loops: no boxed enumerators).
    private static long TouchRow(SourceRow row)
    {
        long n = row.Position.Row;
        var texts = row.Text.Texts;
        for (var t = 0; texts is not null && t < texts.Count; t++)
        {
            var turn = texts[t];
            n += turn.User.Span.Length + turn.Assistant.Span.Length;
            if (!turn.User.IsEmpty) n += turn.User.Span[^1];
        }
        for (var list = 0; list < 4; list++)
        {
            var ratings = list switch
            {
                0 => row.Text.RelevanceRatings,
                1 => row.Text.ImageCorrespondenceRatings,
                2 => row.Text.VisualDependencyRatings,
                _ => row.Text.FormattingRatings,
            };
            for (var k = 0; ratings is not null && k < ratings.Count; k++) n += ratings[k] ?? 0;
        }
        for (var i = 0; i < row.Images.Count; i++)
        {
            var span = row.Images[i].Span;
            n += span.Length + (span.Length > 0 ? span[^1] : 0);
        }
        return n + (row.Source?.Length ?? 0);
    }
}

using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;
using NanoVlm.SampleData;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>One synthetic data set written once in all three formats, shared by the source tests.</summary>
public sealed class GeneratedData : IDisposable
{
    public const int Rows = 150;
    public const int Seed = 11;

    public GeneratedData()
    {
        Dir = Directory.CreateTempSubdirectory("nanovlm-sources-").FullName;
        Result = SampleDataWriter.Write(Dir, new SampleDataOptions
        {
            Rows = Rows, Seed = Seed, Shards = 2, RowGroupSize = 32, Formats = SampleDataFormats.All,
        });
        Expected = SyntheticSampleGenerator.Generate(0, Rows, Seed);
    }

    public string Dir { get; }

    public SampleDataResult Result { get; }

    /// <summary>The rows as the generator made them (the expectation every source must reproduce).</summary>
    public SyntheticSample[] Expected { get; }

    public string ParquetDir => Dir;

    public string JsonlDir => Path.Combine(Dir, "jsonl");

    public string TarDir => Path.Combine(Dir, "webdataset");

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class GeneratedDataCollection : ICollectionFixture<GeneratedData>
{
    public const string Name = "generated sample data";
}

/// <summary>Comparisons of source rows with generated samples.</summary>
internal static class RowAssert
{
    public static List<SourceRow> ReadAll(IRowSource source, CancellationToken cancellationToken = default)
    {
        var rows = new List<SourceRow>();
        for (var s = 0; s < source.Shards.Count; s++)
            foreach (var row in source.ReadShard(s, 0, cancellationToken))
                rows.Add(Copy(row));
        return rows;
    }

    /// <summary>Copies the row, since a row is only valid until its enumerator moves on.</summary>
    public static SourceRow Copy(SourceRow row) => row.Copy();

    public static void Equal(SyntheticSample expected, SourceRow actual)
    {
        EqualText(expected.Source, expected.Text, actual);
        Assert.Equal(expected.Images.Count, actual.Images.Count);
        for (var i = 0; i < expected.Images.Count; i++)
            Assert.True(expected.Images[i].Encoded.AsSpan().SequenceEqual(actual.Images[i].Span),
                $"row {expected.Index}: image {i} differs");
    }

    public static void Equal(SourceRow expected, SourceRow actual)
    {
        Assert.Equal(expected.Position.Row, actual.Position.Row);
        EqualText(expected.Source, expected.Text, actual);
        Assert.Equal(expected.Images.Count, actual.Images.Count);
        for (var i = 0; i < expected.Images.Count; i++)
            Assert.True(expected.Images[i].Span.SequenceEqual(actual.Images[i].Span), $"row {expected.Position.Row}: image {i} differs");
    }

    private static void EqualText(string? source, TextSample expected, SourceRow actual)
    {
        Assert.Equal(source, actual.Source);
        Assert.Equal(expected.Texts, actual.Text.Texts);
        Assert.Equal(expected.RelevanceRatings, actual.Text.RelevanceRatings);
        Assert.Equal(expected.ImageCorrespondenceRatings, actual.Text.ImageCorrespondenceRatings);
        Assert.Equal(expected.VisualDependencyRatings, actual.Text.VisualDependencyRatings);
        Assert.Equal(expected.FormattingRatings, actual.Text.FormattingRatings);
    }
}

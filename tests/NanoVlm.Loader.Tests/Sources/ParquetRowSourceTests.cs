using NanoVlm.Loader.Sources;

namespace NanoVlm.Loader.Tests.Sources;

[Collection(GeneratedDataCollection.Name)]
public sealed class ParquetRowSourceTests(GeneratedData data)
{
    [Fact]
    public void Folder_YieldsTheGeneratedRowsInOrder()
    {
        using var source = ParquetRowSource.Open(data.ParquetDir);
        Assert.Equal(2, source.Shards.Count);
        var rows = RowAssert.ReadAll(source);
        Assert.Equal(GeneratedData.Rows, rows.Count);
        for (var i = 0; i < rows.Count; i++) RowAssert.Equal(data.Expected[i], rows[i]);
    }
}

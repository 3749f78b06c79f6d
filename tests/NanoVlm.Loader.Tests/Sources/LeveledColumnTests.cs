using NanoVlm.Loader.Sources.Internal;

namespace NanoVlm.Loader.Tests.Sources;

/// <summary>Record assembly from definition/repetition levels, including levels a damaged page could produce.</summary>
public sealed class LeveledColumnTests
{
    // An optional list (definition 1 = non-null) of optional elements (2 = element exists, 3 = value present).
    private static readonly LeafLevels ListLevels = new(ListNonNull: 1, ElementExists: 2, LeafPresent: 3, MaxRepetition: 1);

    [Fact]
    public void Assembles_NullEmptyAndNullElementRows()
    {
        // Rows: [7, null, 8], null, [], [9]
        int[] def = [3, 2, 3, 0, 1, 3];
        int[] rep = [0, 1, 1, 0, 0, 0];
        var column = LeveledColumn<long>.Assemble([7, 8, 9], def, rep, def.Length, rows: 4, ListLevels, out var error);
        Assert.Null(error);
        Assert.NotNull(column);
        Assert.Equal([3, 0, 0, 1], Enumerable.Range(0, 4).Select(column.Count));
        Assert.Equal([7L, null, 8L], Enumerable.Range(0, 3).Select(k => column.At(0, k)));
        Assert.Equal([false, true, false, false], column.RowIsNull);
        Assert.Equal(9L, column.At(3, 0));
    }

    [Theory]
    [InlineData(new[] { 3, 3 }, new[] { 1, 0 }, 2, "first repetition level")]
    [InlineData(new[] { 3, 3, 3 }, new[] { 0, 0, 0 }, 2, "more rows")]
    [InlineData(new[] { 3 }, new[] { 0 }, 2, "1 rows in the levels")]
    [InlineData(new[] { 4 }, new[] { 0 }, 1, "out of range")]
    [InlineData(new[] { 3 }, new[] { 2 }, 1, "out of range")]
    [InlineData(new[] { 1, 3 }, new[] { 0, 1 }, 1, "empty list continues")]
    [InlineData(new[] { 3, 1 }, new[] { 0, 1 }, 1, "marker inside a list")]
    [InlineData(new[] { 3, 3, 3, 3 }, new[] { 0, 1, 1, 1 }, 1, "fewer values")]
    public void InconsistentLevels_AreReportedNotThrown(int[] def, int[] rep, int rows, string expected)
    {
        var column = LeveledColumn<long>.Assemble([1, 2, 3], def, rep, def.Length, rows, ListLevels, out var error);
        Assert.Null(column);
        Assert.Contains(expected, error);
    }
}

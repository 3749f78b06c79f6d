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
        short[] def = [3, 2, 3, 0, 1, 3];
        short[] rep = [0, 1, 1, 0, 0, 0];
        var column = new LeveledColumn();
        Assert.Null(column.Assemble(def, rep, def.Length, values: 3, rows: 4, ListLevels));
        Assert.Equal([3, 0, 0, 1], Enumerable.Range(0, 4).Select(column.Count));
        Assert.Equal([0, -1, 1], Enumerable.Range(0, 3).Select(k => column.ValueAt(0, k)));
        Assert.Equal([false, true, false, false], Enumerable.Range(0, 4).Select(column.RowIsNull));
        Assert.Equal(2, column.ValueAt(3, 0));
    }

    [Fact]
    public void BuffersAreReused_ASmallerRowGroupAfterALargerOne()
    {
        var column = new LeveledColumn();
        Assert.Null(column.Assemble([3, 3, 3, 3], [0, 1, 0, 0], 4, values: 4, rows: 3, ListLevels));
        Assert.Equal([2, 1, 1], Enumerable.Range(0, 3).Select(column.Count));
        Assert.Null(column.Assemble([0, 3], [0, 0], 2, values: 1, rows: 2, ListLevels));
        Assert.Equal([0, 1], Enumerable.Range(0, 2).Select(column.Count));
        Assert.True(column.RowIsNull(0));
        Assert.Equal(0, column.ValueAt(1, 0));
    }

    [Theory]
    [InlineData(new short[] { 3, 3 }, new short[] { 1, 0 }, 2, "first repetition level")]
    [InlineData(new short[] { 3, 3, 3 }, new short[] { 0, 0, 0 }, 2, "more rows")]
    [InlineData(new short[] { 3 }, new short[] { 0 }, 2, "1 rows in the levels")]
    [InlineData(new short[] { 4 }, new short[] { 0 }, 1, "out of range")]
    [InlineData(new short[] { 3 }, new short[] { 2 }, 1, "out of range")]
    [InlineData(new short[] { 1, 3 }, new short[] { 0, 1 }, 1, "empty list continues")]
    [InlineData(new short[] { 3, 1 }, new short[] { 0, 1 }, 1, "marker inside a list")]
    [InlineData(new short[] { 3, 3, 3, 3 }, new short[] { 0, 1, 1, 1 }, 1, "fewer values")]
    [InlineData(new short[] { 3, 3 }, new short[] { 0, 1 }, 1, "3 values for 2 defined levels")]
    public void InconsistentLevels_AreReported(short[] def, short[] rep, int rows, string expected)
    {
        var error = new LeveledColumn().Assemble(def, rep, def.Length, values: 3, rows, ListLevels);
        Assert.NotNull(error);
        Assert.Contains(expected, error);
    }
}

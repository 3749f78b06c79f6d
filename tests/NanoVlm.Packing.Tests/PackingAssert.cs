using NanoVlm.Packing;

namespace NanoVlm.Packing.Tests;

/// <summary>Helpers shared by the planner tests.</summary>
internal static class PackingAssert
{
    /// <summary>Runs a planner and returns its groups as arrays of sample indices.</summary>
    public static int[][] Groups(PackPlanner planner, ReadOnlySpan<SampleShape> shapes)
    {
        var members = new int[shapes.Length];
        var starts = new int[shapes.Length + 1];
        var packs = planner.Plan(shapes, members, starts);
        var groups = new int[packs][];
        for (var p = 0; p < packs; p++)
            groups[p] = members[starts[p]..starts[p + 1]];
        return groups;
    }

    /// <summary>Every sample in exactly one group, no group over the limits, no empty group.</summary>
    public static void Valid(int[][] groups, IReadOnlyList<SampleShape> shapes, PackingOptions o)
    {
        var seen = new int[shapes.Count];
        foreach (var g in groups)
        {
            Assert.NotEmpty(g);
            long len = 0, img = 0;
            foreach (var i in g) { seen[i]++; len += shapes[i].Length; img += shapes[i].Images; }
            Assert.True(len <= o.SequenceLength, $"pack length {len} > {o.SequenceLength}");
            Assert.True(img <= o.MaxImagesPerPack, $"pack images {img} > {o.MaxImagesPerPack}");
        }
        Assert.All(seen, c => Assert.Equal(1, c));
    }
}

using NanoVlm.Packing;

namespace NanoVlm.Packing.Tests;

/// <summary>The compat planner against groups produced by nanoVLM's own algorithm (tools/knapsack_reference.py).</summary>
public sealed class NanovlmCompatParityTests
{
    public static TheoryData<ParityCase> Cases()
    {
        var data = new TheoryData<ParityCase>();
        foreach (var c in ParityCase.Load("knapsack_parity.json")) data.Add(c);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Plan_EqualsPythonGroups(ParityCase c)
    {
        var planner = new NanovlmCompatPlanner(c.Options());
        var groups = PackingAssert.Groups(planner, c.Shapes());
        Assert.Equal(c.Groups.Length, groups.Length);
        for (var p = 0; p < groups.Length; p++)
            Assert.Equal(c.Groups[p], groups[p]);
    }

    [Fact]
    public void Fixtures_CoverShuffledAndUnshuffledCases()
    {
        var cases = ParityCase.Load("knapsack_parity.json").ToList();
        Assert.True(cases.Count(c => c.Seed is null) >= 10);
        Assert.True(cases.Count(c => c.Seed is not null) >= 10);
        Assert.Contains(cases, c => c.Lengths.Length >= 1000);
    }
}

using NanoVlm.Packing;

namespace NanoVlm.Packing.Tests;

public sealed class AssemblyAndCollatorTests
{
    private const int Pad = 2;

    private static (int[] Ids, int[] Labels)[] RandomSamples(Random rng, int count, int maxLen) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            var n = rng.Next(0, maxLen + 1);
            var ids = Enumerable.Range(0, n).Select(_ => rng.Next(3, 50_000)).ToArray();
            var labels = ids.Select(id => rng.Next(2) == 0 ? -100 : id).ToArray();
            return (ids, labels);
        }).ToArray();

    [Theory]
    [InlineData(1, 64)]
    [InlineData(2, 300)]
    [InlineData(3, 4096)]
    public void PackAssembler_MatchesNaiveConcatenation(int seed, int seqLen)
    {
        var rng = new Random(seed);
        for (var round = 0; round < 50; round++)
        {
            // Take samples while they fit, as a planner would.
            var samples = new List<(int[] Ids, int[] Labels)>();
            var used = 0;
            foreach (var s in RandomSamples(rng, 20, seqLen / 3))
                if (used + s.Ids.Length + 1 <= seqLen) { samples.Add(s); used += s.Ids.Length + 1; }

            // Naive expectation: list concatenation, one pad per sample, then tail padding.
            List<int> ids = [], labels = [], mask = [], pos = [], cu = [0];
            foreach (var (i, l) in samples)
            {
                ids.AddRange(i); ids.Add(Pad);
                labels.AddRange(l); labels.Add(-100);
                mask.AddRange(Enumerable.Repeat(1, i.Length)); mask.Add(0);
                pos.AddRange(Enumerable.Range(0, i.Length + 1));
                cu.Add(ids.Count);
            }
            var tail = seqLen - ids.Count;
            ids.AddRange(Enumerable.Repeat(Pad, tail));
            labels.AddRange(Enumerable.Repeat(-100, tail));
            mask.AddRange(Enumerable.Repeat(0, tail));
            pos.AddRange(Enumerable.Repeat(0, tail));

            var (aIds, aLabels, aMask, aPos) = (new int[seqLen], new int[seqLen], new int[seqLen], new int[seqLen]);
            aIds.AsSpan().Fill(-7); // garbage that must be overwritten
            var aCu = new int[samples.Count + 1];
            var asm = new PackAssembler(aIds, aLabels, aMask, aPos, aCu, Pad);
            foreach (var (i, l) in samples) asm.Append(i, l);
            Assert.Equal(samples.Count, asm.Finish());
            Assert.Equal(used, asm.Tokens);
            Assert.Equal(ids, aIds);
            Assert.Equal(labels, aLabels);
            Assert.Equal(mask, aMask);
            Assert.Equal(pos, aPos);
            Assert.Equal(cu, aCu);
        }
    }

    [Fact]
    public void PackAssembler_RejectsWhatDoesNotFit()
    {
        var buf = new int[4][];
        for (var i = 0; i < 4; i++) buf[i] = new int[8];
        var cu = new int[3];
        var e = Assert.Throws<ArgumentException>(() =>
        {
            var asm = new PackAssembler(buf[0], buf[1], buf[2], buf[3], cu, Pad);
            asm.Append([1, 2, 3], [1, 2, 3]);
            asm.Append([1, 2, 3, 4], [1, 2, 3, 4]); // 4 + 4 + 1 = 9 > 8
        });
        Assert.Contains("Sample 1", e.Message);
        Assert.Throws<ArgumentException>(() =>
        {
            var asm = new PackAssembler(buf[0], buf[1], buf[2], buf[3], cu, Pad);
            asm.Append([1, 2], [1]);
        });
        Assert.Throws<ArgumentException>(() =>
        {
            var asm = new PackAssembler(buf[0], buf[1], buf[2], buf[3], cu, Pad);
            asm.Append([1], [1]);
            asm.Append([1], [1]);
            asm.Append([1], [1]); // cuSeqlens holds 2 samples
        });
        Assert.Throws<ArgumentException>(() => new PackAssembler(buf[0], new int[7], buf[2], buf[3], cu, Pad));
    }

    [Fact]
    public void LeftPadCollator_MatchesNaiveLeftPadding_AndCountsDrops()
    {
        var rng = new Random(4);
        const int maxLen = 40, rows = 6;
        var samples = RandomSamples(rng, 10, 60);
        var expectedIds = new List<int>();
        var expectedLabels = new List<int>();
        var expectedMask = new List<int>();
        int kept = 0, dropped = 0;
        var ids = new int[rows * maxLen];
        var labels = new int[rows * maxLen];
        var mask = new int[rows * maxLen];
        var collator = new LeftPadCollator(ids, labels, mask, maxLen, Pad);
        foreach (var (i, l) in samples)
        {
            var m = i.Select((_, k) => k % 5 == 4 ? 0 : 1).ToArray();
            if (kept == rows && i.Length <= maxLen) break;
            var added = collator.Add(i, l, m);
            Assert.Equal(i.Length <= maxLen, added);
            if (!added) { dropped++; continue; }
            kept++;
            var pad = maxLen - i.Length;
            expectedIds.AddRange(Enumerable.Repeat(Pad, pad).Concat(i));
            expectedLabels.AddRange(Enumerable.Repeat(-100, pad).Concat(l));
            expectedMask.AddRange(Enumerable.Repeat(0, pad).Concat(m));
        }
        Assert.True(dropped > 0 && kept > 0);
        Assert.Equal((kept, dropped), (collator.Rows, collator.Dropped));
        Assert.Equal(expectedIds, ids.Take(kept * maxLen));
        Assert.Equal(expectedLabels, labels.Take(kept * maxLen));
        Assert.Equal(expectedMask, mask.Take(kept * maxLen));
    }

    [Fact]
    public void LeftPadCollator_ThrowsWhenFull()
    {
        var b = new int[4][];
        for (var i = 0; i < 3; i++) b[i] = new int[4];
        Assert.Throws<InvalidOperationException>(() =>
        {
            var c = new LeftPadCollator(b[0], b[1], b[2], 4, Pad);
            c.Add([1], [1], [1]);
            c.Add([1], [1], [1]);
        });
        Assert.Throws<ArgumentException>(() => new LeftPadCollator(b[0], b[1], b[2], 3, Pad));
    }
}

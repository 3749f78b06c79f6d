using System.Text.Json;
using NanoVlm.Packing;

namespace NanoVlm.Packing.Tests;

/// <summary>One case written by tools/knapsack_reference.py (nanoVLM's knapsack in Python).</summary>
public sealed record ParityCase(
    string Name, int SeqLen, int MaxImages, int Delta, int? Seed, int Window,
    int[] Lengths, int[] Images, int[][] Groups)
{
    public override string ToString() => Name;

    public SampleShape[] Shapes() =>
        Lengths.Select((l, i) => new SampleShape(l, Images[i], i)).ToArray();

    public PackingOptions Options() => new()
    {
        SequenceLength = SeqLen, MaxImagesPerPack = MaxImages, Delta = Delta,
        Shuffle = Seed is not null, Seed = Seed ?? 0,
    };

    public static IEnumerable<ParityCase> Load(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(NanoVlm.Testing.Fixtures.Path("packing", file)));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var seed = c.GetProperty("seed");
            int window = c.TryGetProperty("window", out var w) ? w.GetInt32() : 0;
            yield return new ParityCase(
                c.TryGetProperty("name", out var n) ? n.GetString()! : $"stream-w{window}-seed{seed}",
                c.GetProperty("seq_len").GetInt32(), c.GetProperty("max_images").GetInt32(),
                c.GetProperty("delta").GetInt32(), seed.ValueKind == JsonValueKind.Null ? null : seed.GetInt32(),
                window,
                c.GetProperty("lengths").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("images").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("groups").EnumerateArray()
                    .Select(g => g.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray());
        }
    }
}

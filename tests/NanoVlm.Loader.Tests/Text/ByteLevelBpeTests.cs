using System.Text.Json.Nodes;
using NanoVlm.Loader.Text;
using NanoVlm.Loader.Text.Internal;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>This library's byte-level BPE (<see cref="BpeModel"/>) against Microsoft.ML.Tokenizers' BpeTokenizer on
/// random text, its word cache, and the merges.txt reader's errors.</summary>
public class ByteLevelBpeTests
{
    /// <summary>Every byte-level family of the parity fixtures: the committed files and the derived ones (their
    /// pre-tokenizers: GPT-2's regex, Qwen's Split + NFC, SmolLM2's Digits, Llama-3's ignore_merges, DeepSeek's three
    /// Splits, GPT-4o's inverted Removed split).</summary>
    public static TheoryData<string> Families => ["gpt2", "qwen2_5", "smollm2", "llama3", "deepseek_v3", "gpt4o"];

    private static JsonNode Json(string family) => family switch
    {
        "gpt2" => TextFixtures.Gpt2Json(),
        "qwen2_5" => JsonNode.Parse(File.ReadAllText(Fixtures.Path("text", "qwen2_5", "tokenizer.json")))!,
        _ => TextFixtures.DerivedJson(family),
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void RandomText_EncodesLikeMicrosoftMlBpe(string family)
    {
        var json = Json(family);
        var reference = new ByteLevelReference(json);
        var tok = TextFixtures.Tokenizer(family);
        Assert.Null(tok.BaseTokenizer); // encoded by this library's BpeModel, not Microsoft.ML.Tokenizers
        var rng = new Random(family.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        int tokens = 0;
        for (int i = 0; i < 600; i++)
        {
            string text = RandomText.Next(rng);
            int[] expected = reference.Encode(text);
            // Twice: the second time short words come from the cache.
            for (int pass = 0; pass < 2; pass++)
            {
                int[] got = tok.EncodeToIds(text);
                Assert.True(expected.AsSpan().SequenceEqual(got),
                    $"{family} pass {pass}: \"{Escape(text)}\" expected [{string.Join(",", expected)}] got [{string.Join(",", got)}]");
            }
            tokens += expected.Length;
        }
        Assert.True(tokens > 6000, $"only {tokens} tokens");
    }

    /// <summary>With ignore_merges, a piece that is a vocabulary entry is that one id even where the merges reach
    /// another split (the derived Llama-3 file adds such words).</summary>
    [Fact]
    public void IgnoreMerges_WholePieceWinsOverTheMerges()
    {
        var llama3 = TextFixtures.Tokenizer("llama3");
        var gpt2 = TextFixtures.Tokenizer("gpt2");
        Assert.True(llama3.TryGetId("Ġr\u00c3\u00a9sum\u00c3\u00a9", out int whole));
        Assert.Equal([whole], llama3.EncodeToIds(" résumé"));
        int[] merged = TextFixtures.FromJson(WithIgnoreMerges(false), "<|endoftext|>").EncodeToIds(" résumé");
        Assert.True(merged.Length > 1);
        Assert.Equal(gpt2.EncodeToIds(" résumé"), merged);

        static JsonNode WithIgnoreMerges(bool on)
        {
            var j = TextFixtures.DerivedJson("llama3");
            j["model"]!["ignore_merges"] = on;
            return j;
        }
    }

    [Fact]
    public void WordCache_ReturnsWhatWasStored_AndOverwritesItsSlot()
    {
        var cache = new BpeWordCache(4);
        using var sink = new PooledBuffer<int>(16);
        Assert.False(cache.TryAppend("hello", 1, sink));
        cache.Set("hello", 1, [7, 8]);
        Assert.True(cache.TryAppend("hello", 1, sink));
        Assert.Equal([7, 8], sink.Span.ToArray());
        Assert.False(cache.TryAppend("hellp", 1, sink)); // same hash, other word
        cache.Set("world", 5, [9]); // slot 5 & 3 = 1: replaces "hello"
        Assert.False(cache.TryAppend("hello", 1, sink));
        Assert.True(cache.TryAppend("world", 5, sink));
        Assert.Equal([7, 8, 9], sink.Span.ToArray());
        cache.Set(new string('x', BpeWordCache.MaxWordChars + 1), 2, [1]);
        Assert.False(cache.TryAppend(new string('x', BpeWordCache.MaxWordChars + 1), 2, sink));
        cache.Set("many", 3, new int[BpeWordCache.MaxIds + 1]);
        Assert.False(cache.TryAppend("many", 3, sink));
    }

    [Fact]
    public void MergeQueue_PopsLowestRankThenLeftmost()
    {
        var q = new ReusedHeap<BpeMerge>();
        (int Rank, int Pos)[] items = [(5, 0), (2, 7), (2, 3), (9, 1), (0, 12), (2, 5)];
        foreach (var (r, p) in items) q.Push(new BpeMerge(r, p, 100 * r + p));
        var order = new List<int>();
        while (q.TryPop(out var m)) { order.Add(m.Position); Assert.Equal(100 * items.First(x => x.Pos == m.Position).Rank + m.Position, m.NewId); }
        Assert.Equal([12, 3, 5, 7, 0, 1], order);
    }

    [Fact]
    public void MergesTxt_BadLine_IsRefusedWithItsLineNumber()
    {
        string dir = Directory.CreateTempSubdirectory("nanovlm-text-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), """{"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3}""");
            File.WriteAllLines(Path.Combine(dir, "merges.txt"), ["#version: 0.2", "a b", "a b c"]);
            var ex = Assert.Throws<InvalidDataException>(() => VlmTokenizer.FromVocabAndMerges(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"),
                new VlmTokenizerOptions { EosToken = "<|endoftext|>", AddedSpecialTokens = [] }));
            Assert.Contains("merges.txt line 3", ex.Message);
            File.WriteAllLines(Path.Combine(dir, "merges.txt"), ["a b", "b z"]);
            ex = Assert.Throws<InvalidDataException>(() => VlmTokenizer.FromVocabAndMerges(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"),
                new VlmTokenizerOptions { EosToken = "<|endoftext|>", AddedSpecialTokens = [] }));
            Assert.Contains("merge 1", ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    internal static string Escape(string s) => string.Concat(s.Select(c => c is >= ' ' and < '\u007f' ? c.ToString() : $"\\u{(int)c:X4}"));
}

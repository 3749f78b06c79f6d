using NanoVlm.Loader.Text;
using NanoVlm.Loader.Text.Internal;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>tokenizer.json encoding allocates nothing once warm: byte-level files (the word cache, the BPE scratch, the
/// pre-tokenizer's lists, NFC) and SentencePiece-style ones (normalizer buffers, Split joins, byte fallback), on text
/// the cache holds and on more distinct words than it has slots (steady state with misses).</summary>
public class EncodeAllocationTests
{
    public static TheoryData<string> Families => ["smollm2", "qwen2_5", "gpt2", "llama3", "deepseek_v3", "gpt4o", "llama2", "gemma3"];

    private static readonly string[] s_text =
    [
        "What colour is the large square in the top left corner? The image shows 3 red circles and 12,345 dots.",
        "She'll say it's fine; they've been there since 1999 -- café, naïve, résumé (e\u0301 combined).",
        "Tokyo is 東京 and Seoul is 서울; emoji 👍🏽 👨‍👩‍👧‍👦 🇫🇷 and math \U0001D400\U0001D7CF.",
        "  indented\tline\r\nnext line\n\n   trailing spaces   ",
        "Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    ];

    [Theory]
    [MemberData(nameof(Families))]
    public void WarmText_EncodesWithoutAllocating(string family)
    {
        var tok = TextFixtures.Tokenizer(family);
        using var sink = new PooledBuffer<int>(16);
        void EncodeAll()
        {
            foreach (var text in s_text)
            {
                sink.Clear();
                tok.Encode(text, sink);
            }
        }
        for (int i = 0; i < 3; i++) EncodeAll();
        Assert.True(sink.Count > 5);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) EncodeAll();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{family}: {allocated} B allocated by 250 warm encodes");
    }

    /// <summary>Three times as many distinct words as the word cache has slots: the second pass misses the cache for
    /// most words (they evicted each other) and runs the merges, still without allocating.</summary>
    [Theory]
    [InlineData("smollm2")]
    [InlineData("qwen2_5")]
    [InlineData("llama2")]
    public void ManyDistinctWords_CacheMissesDoNotAllocate(string family)
    {
        var tok = TextFixtures.Tokenizer(family);
        var rng = new Random(7);
        var words = new string[3 * BpeModel.CacheSlots];
        for (int i = 0; i < words.Length; i++)
        {
            var chars = new char[1 + rng.Next(14)];
            for (int k = 0; k < chars.Length; k++) chars[k] = (char)('a' + rng.Next(26));
            words[i] = " " + new string(chars);
        }
        string text = string.Concat(words);
        using var sink = new PooledBuffer<int>(text.Length * 2);
        tok.Encode(text, sink);
        int first = sink.Count;
        sink.Clear();
        long before = GC.GetAllocatedBytesForCurrentThread();
        tok.Encode(text, sink);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(first, sink.Count);
        Assert.True(allocated == 0, $"{family}: {allocated} B allocated encoding {words.Length} words");
    }

    /// <summary>nanoVLM's per-sample text work on a warm byte-level tokenizer with ChatML markers allocates nothing.</summary>
    [Fact]
    public void SamplePreparer_OnWarmByteLevelTokenizer_DoesNotAllocate()
    {
        var tok = TextFixtures.Tokenizer("smollm2");
        using var prep = new SamplePreparer(tok);
        var samples = s_text.Select(t => new TextSample { Texts = [new ChatTurn("Describe the image. " + t, t)] }).ToArray();
        ImageGrid[] grids = [new ImageGrid(2, 3)];
        for (int i = 0; i < 3; i++) foreach (var s in samples) Assert.True(prep.Prepare(s, grids).Ok);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) foreach (var s in samples) prep.Prepare(s, grids);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{allocated} B allocated by 100 warm samples");
    }

    /// <summary>Loader workers encode with one tokenizer at once: each thread's warm encodes still allocate nothing
    /// (a shared .NET Regex would hand a second thread a new runner while the first holds its cached one).</summary>
    [Fact]
    public void ConcurrentThreads_EncodeWithoutAllocating()
    {
        var tok = TextFixtures.Tokenizer("qwen2_5");
        const int threads = 3;
        var allocated = new long[threads];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            using var sink = new PooledBuffer<int>(256);
            for (int i = 0; i < 3; i++) foreach (var text in s_text) { sink.Clear(); tok.Encode(text, sink); }
            start.SignalAndWait();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 300; i++) foreach (var text in s_text) { sink.Clear(); tok.Encode(text, sink); }
            allocated[t] = GC.GetAllocatedBytesForCurrentThread() - before;
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        Assert.Equal(new long[threads], allocated);
    }
}

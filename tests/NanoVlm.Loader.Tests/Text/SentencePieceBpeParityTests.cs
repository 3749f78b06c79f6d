using System.Text;
using Microsoft.ML.Tokenizers;
using NanoVlm.Loader.Text;
using NanoVlm.Loader.Text.Internal;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>This library's SentencePiece BPE encoder against Debian's spm_encode (sentencepiece 0.1.97,
/// tools/tokenizer_parity/make_spm_models_fixture.py) and against Microsoft.ML.Tokenizers' SentencePieceTokenizer,
/// which encoded the default model before.</summary>
public class SentencePieceBpeParityTests
{
    /// <summary>400 random strings (unicode, digits, whitespace runs, emoji/CJK through byte fallback, literal U+2581,
    /// whole and cut user-defined symbols) through the public tokenizer.</summary>
    [Fact]
    public void DefaultModel_RandomStrings_EncodeLikeSpmEncode()
    {
        var p = TextFixtures.Load("default_spm_random");
        var tok = VlmTokenizer.LoadDefault();
        Assert.Contains("(BPE)", tok.Kind);
        Assert.Equal(400, p.Plain.Length);
        Assert.True(tok.TryGetId("<0xF0>", out int f0));
        Assert.Contains(p.Plain, c => c.Ids.Contains(f0)); // byte fallback of a 4-byte character was exercised
        foreach (var c in p.Plain)
        {
            var got = tok.EncodeToIds(c.Text);
            Assert.True(c.Ids.AsSpan().SequenceEqual(got), $"'{c.Text}' expected [{string.Join(",", c.Ids)}] got [{string.Join(",", got)}]");
        }
    }

    /// <summary>Models with the normalizer options the default model does not use, encoded whole (as spm_encode
    /// does; the tokenizer would split its own atomic tokens off first): dummy prefix + extra-whitespace removal +
    /// unknown runs + user-defined symbols; whitespace as suffix + byte fallback + merged UNUSED pieces split back;
    /// no whitespace escaping.</summary>
    [Theory]
    [InlineData("dummy")]
    [InlineData("suffix")]
    [InlineData("noescape")]
    public void OptionModels_EncodeLikeSpmEncode(string name)
    {
        var p = TextFixtures.Load("spm_" + name);
        var path = Fixtures.Path("text", "spm_options", name + ".model");
        var model = SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(File.ReadAllBytes(path), name + ".model"));
        Assert.NotNull(model);
        Assert.Equal(160, p.Plain.Length);
        using var sink = new PooledBuffer<int>(64);
        foreach (var c in p.Plain)
        {
            sink.Clear();
            model.Encode(c.Text, sink);
            Assert.True(c.Ids.AsSpan().SequenceEqual(sink.Span), $"{name}: '{c.Text}' expected [{string.Join(",", c.Ids)}] got [{string.Join(",", sink.Span.ToArray())}]");
        }
    }

    /// <summary>A unigram model and a BPE model with character rules (a precompiled_charsmap) are not this library's
    /// to encode: they load and stay on Microsoft.ML.Tokenizers.</summary>
    [Theory]
    [InlineData("unigram")]
    [InlineData("bpe_rules")]
    public void ModelsLeftToMicrosoftMl_LoadOnIt(string name)
    {
        var path = Fixtures.Path("text", "spm_options", name + ".model");
        Assert.Null(SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(File.ReadAllBytes(path), name + ".model")));
        var tok = VlmTokenizer.FromSentencePiece(path, new VlmTokenizerOptions { EosToken = "</s>" });
        Assert.Equal("SentencePiece .model", tok.Kind);
        Assert.IsType<SentencePieceTokenizer>(tok.BaseTokenizer);
    }

    /// <summary>The unigram model on Microsoft.ML.Tokenizers still gives spm_encode's ids, except where text has unknown
    /// characters (Microsoft.ML.Tokenizers 2.0.1 writes one &lt;unk&gt; per unknown piece, sentencepiece one per run:
    /// <c>PopulateSentencePieceText</c>), a literal U+2581 at the end (sentencepiece's extra-whitespace removal drops
    /// it, Microsoft.ML.Tokenizers keeps it) or only spaces (sentencepiece: no ids; Microsoft.ML.Tokenizers: the dummy
    /// prefix): those cases are skipped. This library's encoder matches sentencepiece on all three (the option models).</summary>
    [Fact]
    public void UnigramModel_OnMicrosoftMl_EncodesLikeSpmEncode()
    {
        var p = TextFixtures.Load("spm_unigram");
        var tok = VlmTokenizer.FromSentencePiece(Fixtures.Path("text", "spm_options", "unigram.model"), new VlmTokenizerOptions { EosToken = "</s>" });
        Assert.True(tok.TryGetId("<unk>", out int unk));
        var known = p.Plain.Where(c => !c.Ids.Contains(unk) && !c.Text.Contains('\u2581') && !string.IsNullOrWhiteSpace(c.Text)).ToArray();
        Assert.True(known.Length >= 6, $"{known.Length} cases left");
        foreach (var c in known)
        {
            var got = tok.EncodeToIds(c.Text);
            Assert.True(c.Ids.AsSpan().SequenceEqual(got), $"unigram: '{c.Text}' expected [{string.Join(",", c.Ids)}] got [{string.Join(",", got)}]");
        }
    }

    [Fact]
    public void OptionModels_FixturesExerciseTheirOptions()
    {
        var dummy = TextFixtures.Load("spm_dummy").Plain;
        Assert.Contains(dummy, c => c.Text == "   " && c.Ids.Length == 0);        // all-space text: nothing
        Assert.Contains(dummy, c => c.Ids.Contains(0));                            // <unk> without byte fallback
        Assert.Contains(dummy, c => c.Ids.Contains(3));                            // user-defined "@@"
        var unused = SentencePieceModelFile.Parse(File.ReadAllBytes(Fixtures.Path("text", "spm_options", "suffix.model")), "suffix.model")
            .Pieces.Where(pc => pc.Type == SentencePieceModelFile.PieceType.Unused).ToArray();
        Assert.Equal(24, unused.Length);
        Assert.Contains(unused, pc => pc.Text == "the\u2581");
    }

    /// <summary>Property test: 3,000 seeded random strings give the ids Microsoft.ML.Tokenizers' SentencePieceTokenizer
    /// gives on the default model (the previous encoder), atomic tokens split off the same way.</summary>
    [Fact]
    public void DefaultModel_RandomStrings_EncodeLikeMicrosoftMlTokenizers()
    {
        var tok = VlmTokenizer.LoadDefault();
        var reference = (SentencePieceTokenizer)tok.BaseTokenizer!;
        var rng = new Random(4242);
        using var sink = new PooledBuffer<int>(64);
        for (int n = 0; n < 3000; n++)
        {
            string text = RandomText(rng);
            var expected = new List<int>();
            int pos = 0;
            while (pos < text.Length)
            {
                int at = tok.Matcher.FindNext(text, pos, out int len, out int id);
                int end = at < 0 ? text.Length : at;
                if (end > pos) expected.AddRange(reference.EncodeToIds(text[pos..end]));
                if (at < 0) break;
                expected.Add(id);
                pos = at + len;
            }
            sink.Clear();
            tok.Encode(text, sink);
            Assert.True(expected.ToArray().AsSpan().SequenceEqual(sink.Span),
                $"#{n} '{text}' Microsoft.ML.Tokenizers [{string.Join(",", expected)}] ours [{string.Join(",", sink.Span.ToArray())}]");
        }
    }

    /// <summary>A warm encode allocates nothing on this thread: the default model's path (atomic tokens, merges,
    /// byte fallback) and an option model's (dummy prefix, unknown runs, UNUSED resegmentation).</summary>
    [Fact]
    public void WarmEncode_AllocatesNothing()
    {
        var tok = VlmTokenizer.LoadDefault();
        const string text = "<|im_start|>user\n<|global_image|><row_1_col_1><|image|>How many red circles are in the image?   " +
            "图片 😀 naïve 12345<|im_end|>\n<|im_start|>assistant\nThere are 3 red circles.<|im_end|>";
        var suffix = SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(
            File.ReadAllBytes(Fixtures.Path("text", "spm_options", "suffix.model")), "suffix.model"))!;
        var dummy = SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(
            File.ReadAllBytes(Fixtures.Path("text", "spm_options", "dummy.model")), "dummy.model"))!;
        const string plain = "  the red circle is   above the image 图片 @@ x y ";
        using var sink = new PooledBuffer<int>(1024);
        void EncodeAll()
        {
            sink.Clear();
            tok.Encode(text, sink);
            suffix.Encode(plain, sink);
            dummy.Encode(plain, sink);
        }
        for (int i = 0; i < 3; i++) EncodeAll();
        int count = sink.Count;
        // Rounds of 100 warm calls: a per-call allocation (>= 24 B) shows in every round; the quietest round must be
        // 0 B (a round can catch a one-off runtime allocation, e.g. while the JIT swaps in optimized code).
        var rounds = new long[5];
        for (int r = 0; r < rounds.Length; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++) EncodeAll();
            rounds[r] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.Equal(count, sink.Count);
        Assert.True(tok.TryGetId("<0xE5>", out int e5) && sink.Span.Contains(e5)); // 图's first UTF-8 byte: byte fallback ran
        Assert.True(rounds.Min() == 0, $"bytes allocated per round of 100 warm calls: {string.Join(", ", rounds)}");
    }

    private static readonly string[] s_words = ["the", "image", "red", "circle", "How", "many", "top left", "corner", "quixotic",
        "Straße", "naïve", "<|image|>", "<|im_start|>", "<row_2_col_7>", "<|im_", "<row_", "12345", "3.14", "I'm", "don't"];

    private static readonly string[] s_pools = ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "  \t\n",
        ".,;:!?'\"()[]{}<>|_-+=*/\\#$%&^~`@", "éèêëàâäçñöüßÅØæœ", "图片里有几个红色的圆", "Привет", "\u2581\u3000\u00a0\u200d"];

    private static readonly string[] s_emoji = ["😀", "👍🏽", "🚀", "🇩🇪", "👨‍👩‍👧", "𝔘"];

    internal static string RandomText(Random rng)
    {
        var sb = new StringBuilder();
        int parts = rng.Next(1, 10);
        for (int i = 0; i < parts; i++)
        {
            double r = rng.NextDouble();
            if (r < 0.35) sb.Append(s_words[rng.Next(s_words.Length)]);
            else if (r < 0.5) sb.Append(' ', rng.Next(1, 5));
            else if (r < 0.6) sb.Append(s_emoji[rng.Next(s_emoji.Length)]);
            else
            {
                string pool = s_pools[rng.Next(s_pools.Length)];
                for (int k = rng.Next(1, 6); k > 0; k--) sb.Append(pool[rng.Next(pool.Length)]);
            }
            if (rng.Next(3) == 0) sb.Append(' ');
        }
        return sb.ToString();
    }
}

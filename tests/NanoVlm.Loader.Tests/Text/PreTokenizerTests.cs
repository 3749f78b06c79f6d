using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using NanoVlm.Loader.Text;
using NanoVlm.Loader.Text.Internal;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>Pre-tokenization on Unicode scalar values and every Split behaviour, against HF's Rust tokenizers.</summary>
public class PreTokenizerTests
{
    /// <summary>Each Split behaviour, with and without invert, for a regex and a literal pattern
    /// (parity_split_behaviours.json, made by tools/tokenizer_parity/generate.mjs with the Rust library).</summary>
    [Fact]
    public void EverySplitBehaviour_EncodesLikeRustTokenizers()
    {
        var root = JsonNode.Parse(File.ReadAllText(Fixtures.Path("text", "parity_split_behaviours.json")))!;
        var cases = root["cases"]!.AsArray();
        Assert.Equal(20, cases.Count);
        var seen = new HashSet<string>();
        foreach (var c in cases)
        {
            var pre = c!["pre_tokenizer"]!;
            var j = TextFixtures.Gpt2Json();
            j["pre_tokenizer"] = pre.DeepClone();
            var tok = TextFixtures.FromJson(j, "<|endoftext|>");
            var split = pre["pretokenizers"]![0]!;
            string label = $"{split["behavior"]} invert={split["invert"]} {split["pattern"]!.ToJsonString()}";
            seen.Add(label);
            foreach (var p in c["plain"]!.AsArray())
            {
                string text = (string)p!["text"]!;
                int[] expected = p["ids"]!.AsArray().Select(x => (int)x!).ToArray();
                int[] got = tok.EncodeToIds(text);
                Assert.True(expected.AsSpan().SequenceEqual(got), $"{label}: '{text}' expected [{string.Join(",", expected)}] got [{string.Join(",", got)}]");
            }
        }
        Assert.Equal(20, seen.Count);
    }

    /// <summary>.NET's Unicode data and the reference's agree on scalars assigned in Unicode 15.0, 15.1 and 16.0 for
    /// <c>\p{L}</c>, <c>\p{N}</c> (the reference's regex engine) and Digits (Rust's <c>char::is_numeric</c>), so
    /// both sides know Unicode 16.0 (probe made by generate.mjs with the Rust library).</summary>
    [Fact]
    public void UnicodeVersion_AgreesWithTheReference()
    {
        var root = JsonNode.Parse(File.ReadAllText(Fixtures.Path("text", "parity_split_behaviours.json")))!;
        var probe = root["unicode_probe"]!.AsArray();
        Assert.Equal(10, probe.Count);
        var letters = new ScalarRegex(@"\p{L}+");
        var numbers = new ScalarRegex(@"\p{N}+");
        var digits = new DigitsStep(individualDigits: false);
        foreach (var p in probe)
        {
            string ch = char.ConvertFromUtf32((int)p!["code_point"]!);
            string text = "!" + ch + ch + "!";
            var found = new List<(int, int)>();
            letters.Matches(text, 0, found);
            Assert.True((bool)p["letter"]! == (found.Count == 1 && found[0] == (1, 2 * ch.Length)), $"\\p{{L}} U+{(int)p["code_point"]!:X4}");
            found.Clear();
            numbers.Matches(text, 0, found);
            Assert.True((bool)p["number"]! == (found.Count == 1 && found[0] == (1, 2 * ch.Length)), $"\\p{{N}} U+{(int)p["code_point"]!:X4}");
            found.Clear();
            digits.Split(text, 0, text.Length, found);
            Assert.True((bool)p["numeric"]! == (found.Count == 3), $"Digits U+{(int)p["code_point"]!:X4}");
        }
    }

    /// <summary>The issue's example: a DeepSeek-V3 pre-tokenizer split "a🙂b" inside the surrogate pair.</summary>
    [Fact]
    public void AstralCharacters_StayWhole_DeepSeekV3()
    {
        var tok = TextFixtures.Tokenizer("deepseek_v3");
        int[] ids = tok.EncodeToIds("a🙂b");
        Assert.Equal(4, ids.Length);
        Assert.Equal("a🙂b", tok.Decode(ids));
        Assert.DoesNotContain('\uFFFD', tok.Decode(tok.EncodeToIds("𝐀𝐁𝐂 𝟏𝟐𝟑 𠀀 👨‍👩‍👧‍👦 🇫🇷")));
    }

    /// <summary><c>\p{N}{1,3}</c> counts scalar values: three astral digits (6 UTF-16 units) are one piece.</summary>
    [Fact]
    public void CountedRepeats_CountScalars()
    {
        var regex = new ScalarRegex(@"\p{N}{1,3}");
        var found = new List<(int, int)>();
        regex.Matches("x𝟏𝟐𝟑𝟒y", 10, found);
        Assert.Equal([(11, 6), (17, 2)], found);
        found.Clear();
        regex.Matches("12345", 0, found);
        Assert.Equal([(0, 3), (3, 2)], found);
    }

    [Fact]
    public void StandIns_HaveTheirCategory()
    {
        var standIns = ScalarRegex.StandIns;
        for (int k = 0; k < standIns.Length; k++)
        {
            var category = (UnicodeCategory)k;
            if (category == UnicodeCategory.Surrogate) continue;
            Assert.Equal(category, char.GetUnicodeCategory(standIns[k]));
        }
        // And an astral scalar of each kind is matched like its stand-in.
        Assert.Equal(UnicodeCategory.OtherLetter, Rune.GetUnicodeCategory(new Rune(0x20000)));
        Assert.Equal(UnicodeCategory.DecimalDigitNumber, Rune.GetUnicodeCategory(new Rune(0x1D7CF)));
    }

    [Fact]
    public void Digits_CountsAstralDigitsOnce()
    {
        var step = new DigitsStep(individualDigits: true);
        var pieces = new List<(int, int)>();
        step.Split("a𝟏𝟐b", 0, 6, pieces);
        Assert.Equal([(0, 1), (1, 2), (3, 2), (5, 1)], pieces);
    }

    /// <summary>Llama-3's <c>ignore_merges</c>: a pre-tokenized word in the vocabulary is one token, even where the
    /// merges would split it (the llama3 fixture adds such whole words to GPT-2's vocabulary).</summary>
    [Fact]
    public void IgnoreMerges_TakesWholeWordsFromTheVocabulary()
    {
        var llama3 = TextFixtures.Tokenizer("llama3");
        var gpt2 = TextFixtures.Tokenizer("gpt2");
        Assert.Contains("ignore_merges", llama3.Kind);
        Assert.Single(llama3.EncodeToIds(" résumé"));
        Assert.True(gpt2.EncodeToIds(" résumé").Length > 1);
    }

    /// <summary>Llama-2 and Gemma: SentencePiece-style BPE with byte fallback, run by this library's BPE.</summary>
    [Fact]
    public void ByteFallback_UnknownCharactersBecomeTheirBytes()
    {
        foreach (var name in (string[])["llama2", "gemma3"])
        {
            var tok = TextFixtures.Tokenizer(name);
            Assert.Null(tok.BaseTokenizer);
            Assert.Contains("byte fallback", tok.Kind);
            Assert.False(tok.TryGetId("☃", out _));
            int[] ids = tok.EncodeToIds("☃"); // U+2603: E2 98 83
            Assert.True(tok.TryGetId("<0xE2>", out int e2));
            Assert.True(tok.TryGetId("<0x83>", out int x83));
            Assert.Equal(x83, ids[^1]);
            Assert.Equal(e2, ids[^3]);
            Assert.Equal(name == "llama2" ? 4 : 3, ids.Length); // Llama-2 prepends ▁
            Assert.Equal("☃", tok.Decode(ids)); // Llama-2's Strip decoder removes the prepended space
        }
    }
}

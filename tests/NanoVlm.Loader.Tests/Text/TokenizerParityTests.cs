using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>Ids and loss masks against transformers.js on real tokenizer.json files (tools/tokenizer_parity).</summary>
public class TokenizerParityTests
{
    public static TheoryData<string> Names => new() { "qwen2_5", "gpt2", "gpt2_digits" };

    [Theory]
    [MemberData(nameof(Names))]
    public void PlainText_EncodesLikeTransformersJs(string name)
    {
        var p = TextFixtures.Load(name);
        var tok = TextFixtures.Tokenizer(name);
        Assert.True(p.Plain.Length > 50);
        int skippedNfc = 0;
        foreach (var (text, ids) in p.Plain)
        {
            if (name == "gpt2_digits" && HasNonAsciiNumeric(text)) continue; // see Digits_IsolatesEveryNumericChar_LikeRustTokenizers
            if (!tok.NormalizationAvailable && !IsNfc(text)) { skippedNfc++; continue; } // see Normalization_IsDetected
            Assert.True(ids.AsSpan().SequenceEqual(tok.EncodeToIds(text)), $"{name}: '{text}' expected [{string.Join(",", ids)}] got [{string.Join(",", tok.EncodeToIds(text))}]");
        }
    }

    /// <summary>HF tokenizers (Rust, what nanoVLM runs) split on <c>char::is_numeric</c> (Nd, Nl, No); transformers.js
    /// uses ASCII <c>\d</c>, so strings with non-ASCII numerics are compared against the Rust rule here instead.</summary>
    [Fact]
    public void Digits_IsolatesEveryNumericChar_LikeRustTokenizers()
    {
        var tok = TextFixtures.Tokenizer("gpt2_digits");
        var gpt2 = TextFixtures.Tokenizer("gpt2");
        // " ½" is one GPT-2 token; with Digits(individual) ½ (No) is isolated from the space.
        Assert.Single(gpt2.EncodeToIds(" ½"));
        Assert.Equal([.. gpt2.EncodeToIds(" "), .. gpt2.EncodeToIds("½")], tok.EncodeToIds(" ½"));
        Assert.Equal([.. gpt2.EncodeToIds("a"), .. gpt2.EncodeToIds("1"), .. gpt2.EncodeToIds("2")], tok.EncodeToIds("a12"));
    }

    /// <summary>Qwen2.5's file asks for NFC. The repo builds with InvariantGlobalization, where .NET cannot normalize,
    /// so NFC is built in (Internal/Nfc.cs) and must work here.</summary>
    [Fact]
    public void Normalization_NfcWorksWithoutIcu()
    {
        var tok = TextFixtures.Tokenizer("qwen2_5");
        Assert.Equal(System.Text.NormalizationForm.FormC, tok.Normalization);
        Assert.True(tok.NormalizationAvailable);
        Assert.Equal(tok.EncodeToIds("caf\u00e9"), tok.EncodeToIds("cafe\u0301"));
        Assert.NotEqual(TextFixtures.Tokenizer("gpt2").EncodeToIds("caf\u00e9"), TextFixtures.Tokenizer("gpt2").EncodeToIds("cafe\u0301"));
    }

    /// <summary>Expected values from Python's unicodedata.normalize('NFC', ...).</summary>
    [Theory]
    [InlineData("A\u030A", "\u00C5")]
    [InlineData("\u212B", "\u00C5")]                 // singleton decomposition
    [InlineData("a\u0302\u0323", "\u1EAD")]          // reordering (ccc 230 vs 220), then composition
    [InlineData("a\u0323\u0302", "\u1EAD")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]    // Hangul L V T
    [InlineData("\uAC00\u11A8", "\uAC01")]           // Hangul LV + T
    [InlineData("\u0958", "\u0915\u093C")]            // composition exclusion stays decomposed
    [InlineData("e\u0301\u0301", "\u00E9\u0301")]   // second accent blocked? no: same class, blocked
    [InlineData("\u0301e", "\u0301e")]               // leading non-starter
    [InlineData("\U0001D15E", "\U0001D157\U0001D165")] // excluded astral musical symbol
    [InlineData("plain ascii", "plain ascii")]
    public void Nfc_MatchesPythonUnicodedata(string input, string expected)
        => Assert.Equal(expected, NanoVlm.Loader.Text.Internal.Nfc.Normalize(input));

    // Without ICU we cannot ask .NET; decomposed accents are what the fixtures contain.
    internal static bool IsNfc(string s) => !s.Any(c => c is >= '\u0300' and <= '\u036f');

    internal static bool HasNonAsciiNumeric(string s) => s.Any(c => c > 127 && char.IsNumber(c));

    [Theory]
    [MemberData(nameof(Names))]
    public void SpecialTokenIds_FollowHfAddSpecialTokens(string name)
    {
        var p = TextFixtures.Load(name);
        var tok = TextFixtures.Tokenizer(name);
        Assert.Equal(68, p.SpecialIds.Count);
        foreach (var (token, id) in p.SpecialIds)
        {
            Assert.True(tok.TryGetId(token, out int got));
            Assert.Equal(id, got);
        }
        Assert.Equal(p.EosId, tok.EosTokenId);
        Assert.Equal(tok.EosTokenId, tok.PadTokenId);
        Assert.Equal(p.SpecialIds["<|image|>"], tok.ImageTokenId);
        Assert.Equal(p.SpecialIds["<row_3_col_7>"], tok.GetRowColTokenId(3, 7));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Conversations_IdsAndMask_MatchTransformersJs(string name)
    {
        var p = TextFixtures.Load(name);
        var tok = TextFixtures.Tokenizer(name);
        using var prep = new SamplePreparer(tok);
        Assert.True(p.Conversations.Length >= 200);
        int i = -1, compared = 0;
        foreach (var c in p.Conversations)
        {
            i++;
            if (name == "gpt2_digits" && c.Texts.Any(t => HasNonAsciiNumeric(t.User + t.Assistant))) continue;
            if (!tok.NormalizationAvailable && c.Texts.Any(t => !IsNfc(t.User + t.Assistant))) continue;
            compared++;
            var r = prep.Prepare(new TextSample { Texts = c.Texts }, c.Grids);
            Assert.True(r.Ok);
            Assert.Equal(c.Grids.Length, r.Images);
            var s = prep.Current;
            Assert.Equal(c.InputIds.Length, r.Length);
            Assert.True(c.InputIds.AsSpan().SequenceEqual(s.InputIds), $"{name} conversation {i}: ids differ at {FirstDiff(c.InputIds, s.InputIds)}");
            Assert.True(c.LossMask.AsSpan().SequenceEqual(s.LossMask), $"{name} conversation {i}: mask differs at {FirstDiff(c.LossMask, s.LossMask)}");
        }
        Assert.True(compared >= 100, $"only {compared} conversations compared");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void InferencePrompt_MatchesGenerationPromptTemplate(string name)
    {
        var p = TextFixtures.Load(name);
        var tok = TextFixtures.Tokenizer(name);
        Assert.Equal(p.PromptIds, tok.ChatTemplate.BuildInferencePrompt("What is this?", []));
        Assert.Equal(p.PromptText, ChatTemplate.Render([new ChatMessage("user", "What is this?")], addGenerationPrompt: true));
    }

    [Fact]
    public void ArrayFormMerges_EncodeLikeStringForm()
    {
        var p = TextFixtures.Load("gpt2");
        var tok = TextFixtures.Tokenizer("gpt2_array_merges");
        foreach (var (text, ids) in p.Plain) Assert.Equal(ids, tok.EncodeToIds(text));
        using var prep = new SamplePreparer(tok);
        foreach (var c in p.Conversations.Take(40))
        {
            prep.Prepare(new TextSample { Texts = c.Texts }, c.Grids);
            Assert.True(c.InputIds.AsSpan().SequenceEqual(prep.Current.InputIds));
        }
    }

    [Fact]
    public void DefaultTokenizer_EncodesLikeSpmEncode()
    {
        var p = TextFixtures.Load("default_spm");
        var tok = VlmTokenizer.LoadDefault();
        Assert.Equal(20, p.Plain.Length);
        foreach (var (text, ids) in p.Plain)
            Assert.True(ids.AsSpan().SequenceEqual(tok.EncodeToIds(text)), $"'{text}' expected [{string.Join(",", ids)}] got [{string.Join(",", tok.EncodeToIds(text))}]");
    }

    internal static int FirstDiff<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IEquatable<T>
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++) if (!a[i].Equals(b[i])) return i;
        return a.Length == b.Length ? -1 : n;
    }
}

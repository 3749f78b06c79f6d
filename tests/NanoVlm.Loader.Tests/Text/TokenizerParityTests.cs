using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>Ids, decoded text, nanoVLM's extra-token ids and loss masks against HF's Rust tokenizers (npm binding
/// 0.23.2, tools/tokenizer_parity/generate.mjs) for every common tokenizer.json family.</summary>
public class TokenizerParityTests
{
    public static TheoryData<string> Names => [.. TextFixtures.Families];

    [Theory]
    [MemberData(nameof(Names))]
    public void PlainText_EncodesAndDecodesLikeRustTokenizers(string name)
    {
        var p = TextFixtures.Load(name);
        var tok = TextFixtures.Tokenizer(name);
        Assert.True(p.Plain.Length > 90);
        foreach (var c in p.Plain)
        {
            var got = tok.EncodeToIds(c.Text);
            Assert.True(c.Ids.AsSpan().SequenceEqual(got), $"{name}: '{c.Text}' expected [{string.Join(",", c.Ids)}] got [{string.Join(",", got)}]");
            Assert.Equal(c.Decoded, tok.Decode(c.Ids));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void PostProcessorSpecialTokens_AddedLikeRustTokenizers(string name)
    {
        var p = TextFixtures.Load(name);
        var tok = TextFixtures.Tokenizer(name);
        foreach (var c in p.Plain)
        {
            var got = tok.EncodeToIds(c.Text, addSpecialTokens: true);
            Assert.True(c.IdsWithSpecialTokens.AsSpan().SequenceEqual(got), $"{name}: '{c.Text}' expected [{string.Join(",", c.IdsWithSpecialTokens)}] got [{string.Join(",", got)}]");
        }
    }

    /// <summary>nanoVLM's 66 extra tokens get the ids HF's <c>add_special_tokens</c> gives them (appended after the
    /// tokenizer's current length, nothing else added), and the vocabulary size is HF's <c>len(tokenizer)</c>, i.e.
    /// nanoVLM's <c>lm_vocab_size</c>.</summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void ExtraTokenIdsAndVocabularySize_FollowHfAddSpecialTokens(string name)
    {
        var p = TextFixtures.Load(name);
        var tok = TextFixtures.Tokenizer(name);
        Assert.Equal(p.VocabSize, tok.VocabularySize);
        foreach (var token in VlmTokenizerOptions.NanoVlmExtraTokens)
        {
            Assert.True(tok.TryGetId(token, out int got));
            Assert.Equal(p.SpecialIds[token], got);
            Assert.InRange(got, 0, tok.VocabularySize - 1);
        }
        bool rustHasMarkers = p.SpecialIds.ContainsKey(ChatTemplate.ImStart);
        Assert.Equal(rustHasMarkers, tok.HasAtomicChatMlMarkers);
        if (rustHasMarkers) Assert.Equal(p.SpecialIds[ChatTemplate.ImStart], tok.ImStartId);
        Assert.Equal(p.EosId, tok.EosTokenId);
        Assert.Equal(tok.EosTokenId, tok.PadTokenId);
        Assert.Equal(p.SpecialIds["<|image|>"], tok.ImageTokenId);
        Assert.Equal(p.SpecialIds["<row_3_col_7>"], tok.GetRowColTokenId(3, 7));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Conversations_IdsAndMask_MatchNanoVlmOnRustTokenizers(string name)
    {
        var p = TextFixtures.Load(name);
        var tok = TextFixtures.Tokenizer(name);
        using var prep = new SamplePreparer(tok);
        Assert.True(p.Conversations.Length >= 40);
        int i = -1;
        foreach (var c in p.Conversations)
        {
            i++;
            var r = prep.Prepare(new TextSample { Texts = c.Texts }, c.Grids);
            Assert.True(r.Ok);
            Assert.Equal(c.Grids.Length, r.Images);
            var s = prep.Current;
            Assert.True(c.InputIds.AsSpan().SequenceEqual(s.InputIds), $"{name} conversation {i}: ids differ at {FirstDiff(c.InputIds, s.InputIds)}");
            Assert.True(c.LossMask.AsSpan().SequenceEqual(s.LossMask), $"{name} conversation {i}: mask differs at {FirstDiff(c.LossMask, s.LossMask)}");
        }
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

    [Fact]
    public void ArrayFormMerges_EncodeLikeStringForm()
    {
        var p = TextFixtures.Load("gpt2");
        var tok = TextFixtures.Tokenizer("gpt2_array_merges");
        foreach (var c in p.Plain) Assert.Equal(c.Ids, tok.EncodeToIds(c.Text));
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
        foreach (var c in p.Plain)
            Assert.True(c.Ids.AsSpan().SequenceEqual(tok.EncodeToIds(c.Text)), $"'{c.Text}' expected [{string.Join(",", c.Ids)}] got [{string.Join(",", tok.EncodeToIds(c.Text))}]");
    }

    internal static int FirstDiff<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IEquatable<T>
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++) if (!a[i].Equals(b[i])) return i;
        return a.Length == b.Length ? -1 : n;
    }
}

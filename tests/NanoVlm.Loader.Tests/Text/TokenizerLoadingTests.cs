using System.Text.Json.Nodes;
using NanoVlm.Loader.Text;
using NanoVlm.Testing;

namespace NanoVlm.Loader.Tests.Text;

public class TokenizerLoadingTests
{
    [Theory]
    [InlineData("""{"model":{"type":"WordPiece","vocab":{"a":0}}}""", "WordPiece")]
    [InlineData("""{"model":{"type":"Unigram","vocab":[["a",0.0]]}}""", "Unigram")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁"}}""", "Metaspace")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Whitespace"}}""", "Whitespace")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":{"type":"Lowercase"},"pre_tokenizer":{"type":"ByteLevel"}}""", "Lowercase")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":{"type":"Precompiled","precompiled_charsmap":""}}""", "Precompiled")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":{"type":"Replace","pattern":{"Regex":" +"},"content":"▁"}}""", "Regex")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"x"},"behavior":"Sideways"}}""", "Sideways")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"decoder":{"type":"Metaspace","replacement":"▁"}}""", "Metaspace")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"decoder":{"type":"WordPiece","prefix":"##"}}""", "WordPiece")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"post_processor":{"type":"Fancy"}}""", "Fancy")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[],"dropout":0.1},"pre_tokenizer":{"type":"ByteLevel"}}""", "dropout")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[],"byte_fallback":true},"pre_tokenizer":{"type":"ByteLevel"}}""", "byte_fallback")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[],"end_of_word_suffix":"</w>"},"pre_tokenizer":{"type":"ByteLevel"}}""", "end_of_word_suffix")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[],"continuing_subword_prefix":"##"},"pre_tokenizer":{"type":"ByteLevel"}}""", "continuing_subword_prefix")]
    public void UnsupportedKinds_FailWithClearMessage(string json, string named)
    {
        var ex = Assert.Throws<NotSupportedException>(() => TextFixtures.FromJson(JsonNode.Parse(json)!, "a"));
        Assert.Contains(named, ex.Message);
    }

    [Fact]
    public void VocabJsonAndMergesTxt_EncodeLikeTokenizerJson()
    {
        var j = TextFixtures.Gpt2Json();
        string dir = Directory.CreateTempSubdirectory("nanovlm-text-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), j["model"]!["vocab"]!.ToJsonString());
            File.WriteAllLines(Path.Combine(dir, "merges.txt"), ["#version: 0.2", .. j["model"]!["merges"]!.AsArray().Select(m => (string)m!)]);
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"eos_token": {"content": "<|endoftext|>"}}""");
            var tok = VlmTokenizer.FromVocabAndMerges(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"));
            var reference = TextFixtures.Tokenizer("gpt2");
            Assert.Equal(50256, tok.EosTokenId);
            foreach (var c in TextFixtures.Load("gpt2").Plain) Assert.Equal(c.Ids, tok.EncodeToIds(c.Text));
            Assert.Equal(reference.ImageTokenId, tok.ImageTokenId);
            Assert.Equal(50257 + 66, tok.VocabularySize);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AddedTokenIds_AreNanoVlmsExtraTokensOnly_AppendedAfterTheVocabulary()
    {
        // GPT-2: vocabulary 0..50256 (<|endoftext|> is both in the vocab and an added token). HF's rule appends the 66
        // extra tokens at 50257..50322 and adds nothing else: no ChatML markers, which stay text.
        var tok = TextFixtures.Tokenizer("gpt2");
        Assert.Equal(50257, tok.BaseVocabularySize);
        Assert.Null(tok.ImStartId);
        Assert.Null(tok.ImEndId);
        Assert.False(tok.HasAtomicChatMlMarkers);
        Assert.Equal(50257, tok.ImageTokenId);
        Assert.Equal(50258, tok.GlobalImageTokenId);
        Assert.Equal(50259, tok.GetRowColTokenId(1, 1));
        Assert.Equal(50259 + 63, tok.GetRowColTokenId(8, 8));
        Assert.Equal(50257 + 66, tok.VocabularySize); // nanoVLM's lm_vocab_size = base vocab + 66
        Assert.True(tok.EncodeToIds("<|im_start|>").Length > 1);
        // A token already in the base vocabulary keeps its id.
        var t2 = TextFixtures.FromJson(TextFixtures.Gpt2Json(), "<|endoftext|>");
        var custom = VlmTokenizer.FromTokenizerJson(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TextFixtures.Gpt2Json().ToJsonString())),
            new VlmTokenizerOptions { EosToken = "<|endoftext|>", AddedSpecialTokens = ["hello", .. VlmTokenizerOptions.NanoVlmExtraTokens] });
        Assert.True(t2.TryGetId("hello", out int hello));
        Assert.Equal(hello, custom.AtomicTokens["hello"]);
        Assert.Equal(50257, custom.ImageTokenId);
        // Qwen2.5: ChatML exists (151644/151645); 22 added tokens end at 151664, so extras start at 151665.
        var q = TextFixtures.Tokenizer("qwen2_5");
        Assert.Equal(151644, q.ImStartId);
        Assert.Equal(151665, q.ImageTokenId);
        Assert.Equal(151731, q.VocabularySize);
    }

    [Fact]
    public void AddChatMlMarkers_AppendsThemAfterTheExtraTokens()
    {
        var tok = VlmTokenizer.FromTokenizerJson(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TextFixtures.Gpt2Json().ToJsonString())),
            new VlmTokenizerOptions { EosToken = "<|endoftext|>", AddChatMlMarkers = true });
        Assert.Equal(50257, tok.ImageTokenId);                 // nanoVLM's ids unchanged
        Assert.Equal(50259 + 63, tok.GetRowColTokenId(8, 8));
        Assert.Equal(50323, tok.ImStartId);
        Assert.Equal(50324, tok.ImEndId);
        Assert.Equal(50325, tok.VocabularySize);
        Assert.Equal([50323], tok.EncodeToIds("<|im_start|>"));
        // A tokenizer that has them keeps its own ids; nothing is added.
        var q = VlmTokenizer.FromTokenizerJson(Fixtures.Path("text", "qwen2_5", "tokenizer.json"), new VlmTokenizerOptions { EosToken = "<|im_end|>", AddChatMlMarkers = true });
        Assert.Equal(151644, q.ImStartId);
        Assert.Equal(151731, q.VocabularySize);
    }

    [Fact]
    public void OneChatMlMarkerWithoutTheOther_IsRefused()
    {
        var j = TextFixtures.Gpt2Json();
        j["added_tokens"]!.AsArray().Add(JsonNode.Parse("""{"id":50257,"content":"<|im_start|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}"""));
        var ex = Assert.Throws<NotSupportedException>(() => TextFixtures.FromJson(j, "<|endoftext|>"));
        Assert.Contains("<|im_end|>", ex.Message);
    }

    [Fact]
    public void MergeWithUnknownToken_IsRefusedWithItsIndex()
    {
        var json = """{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b","a c"],"byte_fallback":true}}""";
        var ex = Assert.Throws<InvalidDataException>(() => TextFixtures.FromJson(JsonNode.Parse(json)!, "a"));
        Assert.Contains("merge 1", ex.Message);
    }

    [Fact]
    public void MissingExtraToken_IsRefusedByName()
    {
        var ex = Assert.Throws<ArgumentException>(() => VlmTokenizer.FromTokenizerJson(
            new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TextFixtures.Gpt2Json().ToJsonString())),
            new VlmTokenizerOptions { EosToken = "<|endoftext|>", AddedSpecialTokens = VlmTokenizerOptions.NanoVlmExtraTokens.Take(65).ToArray() }));
        Assert.Contains("<row_8_col_8>", ex.Message);
    }

    [Fact]
    public void ExtraTokens_AreNanoVlmsOrder()
    {
        var t = VlmTokenizerOptions.NanoVlmExtraTokens;
        Assert.Equal(66, t.Count);
        Assert.Equal("<|image|>", t[0]);
        Assert.Equal("<|global_image|>", t[1]);
        Assert.Equal("<row_1_col_1>", t[2]);
        Assert.Equal("<row_1_col_8>", t[9]);
        Assert.Equal("<row_2_col_1>", t[10]);
        Assert.Equal("<row_8_col_8>", t[65]);
    }

    [Fact]
    public void DefaultTokenizer_IsSmallSentencePieceWithAtomicExtras()
    {
        var tok = VlmTokenizer.LoadDefault();
        Assert.Same(tok, VlmTokenizer.LoadDefault());
        Assert.InRange(tok.VocabularySize, 4000, 16000);
        Assert.Equal("<|im_end|>", tok.EosToken);
        Assert.Equal(tok.ImEndId, tok.PadTokenId);
        Assert.Single(tok.EncodeToIds("<row_4_col_5>"));
        Assert.Equal([tok.ImStartId!.Value], tok.EncodeToIds("<|im_start|>"));
        // all 68 specials distinct and inside the vocabulary
        var ids = VlmTokenizerOptions.ChatMlTokens.Concat(VlmTokenizerOptions.NanoVlmExtraTokens).Select(s => tok.AtomicTokens[s]).ToArray();
        Assert.Equal(68, ids.Distinct().Count());
        Assert.All(ids, i => Assert.InRange(i, 0, tok.VocabularySize - 1));
        // byte fallback: unseen scripts survive a round trip
        const string text = "图片 😀 ünïcödé\t  x";
        Assert.Equal(text, tok.Decode(tok.EncodeToIds(text)));
        Assert.DoesNotContain(0, tok.EncodeToIds(text)); // no <unk>
    }

    [Fact]
    public void DefaultTokenizer_IsCompactOnItsDomain()
    {
        var tok = VlmTokenizer.LoadDefault();
        const string q = "How many red circles are in the image? There are three blue squares in the top left corner.";
        Assert.True(tok.EncodeToIds(q).Length < 25, $"{tok.EncodeToIds(q).Length} tokens");
    }

    [Fact]
    public void SentencePieceFromFile_EqualsDefault()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "default.model");
        using (var s = typeof(VlmTokenizer).Assembly.GetManifestResourceStream("NanoVlm.Loader.Assets.default_tokenizer.model")!)
        using (var f = File.Create(path)) s.CopyTo(f);
        var tok = VlmTokenizer.FromSentencePiece(path, new VlmTokenizerOptions { EosToken = "<|im_end|>" });
        foreach (var c in TextFixtures.Load("default_spm").Plain) Assert.Equal(c.Ids, tok.EncodeToIds(c.Text));
    }

    [Fact]
    public void ImageTokenString_MatchesNanoVlmLayout()
    {
        Assert.Equal("<|global_image|>" + string.Concat(Enumerable.Repeat("<|image|>", 2)), ImageTokenString.Build([new ImageGrid(1, 1)], 2));
        Assert.Equal("<image: 0><|global_image|><|image|><image: 1><|global_image|><|image|><row_1_col_1><|image|><row_2_col_1><|image|>",
            ImageTokenString.Build([new ImageGrid(1, 1), new ImageGrid(2, 1)], 1));
        Assert.Equal(65, ImageTokenString.SpecialTokenCount(new ImageGrid(1, 1)));
        Assert.Equal(65 * 17, ImageTokenString.SpecialTokenCount(new ImageGrid(4, 4)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageTokenString.Build([new ImageGrid(9, 1)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageTokenString.Build([new ImageGrid(1, 0)]));
    }
}

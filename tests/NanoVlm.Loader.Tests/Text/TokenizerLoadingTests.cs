using System.Text.Json.Nodes;
using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Tests.Text;

public class TokenizerLoadingTests
{
    [Theory]
    [InlineData("""{"model":{"type":"WordPiece","vocab":{"a":0}}}""", "WordPiece")]
    [InlineData("""{"model":{"type":"Unigram","vocab":[["a",0.0]]}}""", "Unigram")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁"}}""", "Metaspace")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Whitespace"}}""", "Whitespace")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}""", "ByteLevel")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":{"type":"Lowercase"},"pre_tokenizer":{"type":"ByteLevel"}}""", "Lowercase")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"x"},"behavior":"Removed"}}""", "Removed")]
    [InlineData("""{"model":{"type":"BPE","vocab":{"a":0},"merges":[],"ignore_merges":true},"pre_tokenizer":{"type":"ByteLevel"}}""", "ignore_merges")]
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
            foreach (var (text, ids) in TextFixtures.Load("gpt2").Plain) Assert.Equal(ids, tok.EncodeToIds(text));
            Assert.Equal(reference.ImageTokenId, tok.ImageTokenId);
            Assert.Equal(50257 + 68, tok.VocabularySize);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AddedTokenIds_ReuseExisting_ThenAppendInOrder()
    {
        // GPT-2: vocabulary 0..50256 (<|endoftext|> is both in the vocab and an added token); new ids start at 50257.
        var tok = TextFixtures.Tokenizer("gpt2");
        Assert.Equal(50257, tok.BaseVocabularySize);
        Assert.Equal(50257, tok.ImStartId);
        Assert.Equal(50258, tok.ImEndId);
        Assert.Equal(50259, tok.ImageTokenId);
        Assert.Equal(50260, tok.GlobalImageTokenId);
        Assert.Equal(50261, tok.GetRowColTokenId(1, 1));
        Assert.Equal(50261 + 63, tok.GetRowColTokenId(8, 8));
        // A token already in the base vocabulary keeps its id.
        var t2 = TextFixtures.FromJson(TextFixtures.Gpt2Json(), "<|endoftext|>");
        var custom = VlmTokenizer.FromTokenizerJson(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TextFixtures.Gpt2Json().ToJsonString())),
            new VlmTokenizerOptions { EosToken = "<|endoftext|>", AddedSpecialTokens = ["hello", .. VlmTokenizerOptions.ChatMlTokens, .. VlmTokenizerOptions.NanoVlmExtraTokens] });
        Assert.True(t2.TryGetId("hello", out int hello));
        Assert.Equal(hello, custom.AtomicTokens["hello"]);
        Assert.Equal(50257, custom.ImStartId);
        // Qwen2.5: ChatML exists (151644/151645); 22 added tokens end at 151664, so extras start at 151665.
        var q = TextFixtures.Tokenizer("qwen2_5");
        Assert.Equal(151644, q.ImStartId);
        Assert.Equal(151665, q.ImageTokenId);
        Assert.Equal(151731, q.VocabularySize);
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
        Assert.Equal([tok.ImStartId], tok.EncodeToIds("<|im_start|>"));
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
        foreach (var (text, ids) in TextFixtures.Load("default_spm").Plain) Assert.Equal(ids, tok.EncodeToIds(text));
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

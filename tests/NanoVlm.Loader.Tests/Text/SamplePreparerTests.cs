using NanoVlm.Loader.Text;

namespace NanoVlm.Loader.Tests.Text;

public class SamplePreparerTests
{
    public static TheoryData<string> Tokenizers => new() { "default", "qwen2_5", "gpt2", "smollm2" };

    /// <summary>The single pass (segments tokenized separately, ChatML/image tokens emitted as ids) equals tokenizing
    /// the whole rendered conversation at once, and its mask/labels equal nanoVLM's per-message re-tokenization.</summary>
    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void SinglePass_EqualsWholeConversationTokenization_AndNaiveMask(string name)
    {
        var tok = TextFixtures.Tokenizer(name);
        using var prep = new SamplePreparer(tok);
        var convs = TextFixtures.Load("qwen2_5").Conversations.Concat(TextFixtures.Load("gpt2").Conversations).ToArray();
        int withAssistantTokens = 0;
        foreach (var c in convs)
        {
            var r = prep.Prepare(new TextSample { Texts = c.Texts }, c.Grids);
            Assert.True(r.Ok);
            var s = prep.Current;
            var (ids, mask, labels) = NaiveReference.Prepare(tok, NaiveReference.Messages(c.Texts, c.Grids));
            Assert.True(ids.AsSpan().SequenceEqual(s.InputIds), $"ids differ at {TokenizerParityTests.FirstDiff<int>(ids, s.InputIds)}");
            Assert.True(mask.AsSpan().SequenceEqual(s.LossMask));
            Assert.True(labels.AsSpan().SequenceEqual(s.Labels));
            Assert.Equal(-100, s.Labels[^1]);
            if (mask.Contains((byte)1)) withAssistantTokens++;
        }
        Assert.True(withAssistantTokens > convs.Length / 2);
    }

    [Fact]
    public void Mask_CoversAssistantContentImEndAndNewline_Only()
    {
        var tok = VlmTokenizer.LoadDefault();
        using var prep = new SamplePreparer(tok);
        prep.Prepare(new TextSample { Texts = [new ChatTurn("How many circles?", "Three.")] }, []);
        var s = prep.Current;
        int[] user = tok.EncodeToIds("<|im_start|>user\nHow many circles?<|im_end|>\n");
        int[] prefix = tok.EncodeToIds("<|im_start|>assistant\n");
        int[] answer = tok.EncodeToIds("Three.<|im_end|>\n");
        Assert.Equal([.. user, .. prefix, .. answer], s.InputIds.ToArray());
        byte[] expectedMask = [.. new byte[user.Length + prefix.Length], .. Enumerable.Repeat((byte)1, answer.Length)];
        Assert.Equal(expectedMask, s.LossMask.ToArray());
        Assert.Equal(tok.ImEndId!.Value, s.InputIds[^2]);
        Assert.Equal(1, s.LossMask[^1]);
        Assert.Equal(tok.ChatTemplate.AssistantPrefixLength, prefix.Length);
        // labels[i] = ids[i+1] where mask[i+1]
        int firstAnswer = user.Length + prefix.Length;
        Assert.Equal(-100, s.Labels[firstAnswer - 2]);
        Assert.Equal(s.InputIds[firstAnswer], s.Labels[firstAnswer - 1]);
        Assert.Equal(s.InputIds[^1], s.Labels[^2]);
        Assert.Equal(-100, s.Labels[^1]);
    }

    [Fact]
    public void ImageString_PrependedToFirstUserMessageOnly_WithExactCounts()
    {
        var tok = VlmTokenizer.LoadDefault();
        using var prep = new SamplePreparer(tok);
        var sample = new TextSample { Texts = [new ChatTurn("a", "b"), new ChatTurn("c", "d")] };
        var r1 = prep.Prepare(sample, [new ImageGrid(1, 1)]);
        var ids1 = prep.Current.InputIds.ToArray();
        Assert.Equal(65, ids1.Count(i => i == tok.ImageTokenId || i == tok.GlobalImageTokenId));
        var r0 = prep.Prepare(sample, []);
        Assert.Equal(r0.Length + 65, r1.Length);
        var r2 = prep.Prepare(sample, [new ImageGrid(2, 3)]);
        var ids2 = prep.Current.InputIds.ToArray();
        Assert.Equal(r0.Length + 65 * 7, r2.Length);
        Assert.Equal(65 * 7, ImageTokenString.SpecialTokenCount(new ImageGrid(2, 3)));
        // row-major tile tokens
        var tiles = ids2.Where(i => i != tok.ImageTokenId && i != tok.GlobalImageTokenId && i >= tok.GetRowColTokenId(1, 1) && i <= tok.GetRowColTokenId(8, 8)).ToArray();
        Assert.Equal([tok.GetRowColTokenId(1, 1), tok.GetRowColTokenId(1, 2), tok.GetRowColTokenId(1, 3), tok.GetRowColTokenId(2, 1), tok.GetRowColTokenId(2, 2), tok.GetRowColTokenId(2, 3)], tiles);
        // image tokens sit right after the first "<|im_start|>user\n"
        int[] head = tok.EncodeToIds("<|im_start|>user\n");
        Assert.Equal(tok.GlobalImageTokenId, ids2[head.Length]);
        Assert.Equal(1, r2.Images);
        // two images: "<image: k>" text before each
        ImageGrid[] two = [new ImageGrid(1, 1), new ImageGrid(1, 2)];
        var rr = prep.Prepare(sample, two);
        Assert.Equal(2, rr.Images);
        var (naive, _, _) = NaiveReference.Prepare(tok, NaiveReference.Messages(sample.Texts!, two));
        Assert.Equal(naive, prep.Current.InputIds.ToArray());
        Assert.Equal(65 + 65 * 3, naive.Count(i => i == tok.ImageTokenId || i == tok.GlobalImageTokenId || (i >= tok.GetRowColTokenId(1, 1) && i <= tok.GetRowColTokenId(8, 8))));
        Assert.True(rr.Length > r0.Length + 65 + 65 * 3);
        // past the 64 cached "<image: k>" strings the index is formatted into the pending text instead
        ImageGrid[] many = Enumerable.Repeat(new ImageGrid(1, 1), 70).ToArray();
        Assert.True(prep.Prepare(sample, many).Ok);
        var (naiveMany, _, _) = NaiveReference.Prepare(tok, NaiveReference.Messages(sample.Texts!, many));
        Assert.Equal(naiveMany, prep.Current.InputIds.ToArray());
    }

    [Fact]
    public void LiteralImageTokens_AreRemovedAndCounted()
    {
        var tok = VlmTokenizer.LoadDefault();
        using var prep = new SamplePreparer(tok);
        var r = prep.Prepare(new TextSample { Texts = [new ChatTurn("look <|image|><|image|> here", "ok <|image|>"), new ChatTurn("<|ima<|image|>ge|>", "x")] }, []);
        Assert.True(r.Ok);
        Assert.Equal(4, prep.Counters.ImageTokensRemoved);
        Assert.Equal(3, prep.Counters.MessagesWithImageTokensRemoved);
        var ids = prep.Current.InputIds.ToArray();
        // Python str.replace is one pass: "<|ima<|image|>ge|>" leaves one "<|image|>", which then tokenizes as the token.
        Assert.Single(ids, tok.ImageTokenId);
        Assert.Equal(tok.EncodeToIds("<|im_start|>user\nlook  here<|im_end|>\n<|im_start|>assistant\nok <|im_end|>\n<|im_start|>user\n<|image|><|im_end|>\n<|im_start|>assistant\nx<|im_end|>\n"), ids);
    }

    [Fact]
    public void CopyTo_WritesCallerSpans()
    {
        var tok = VlmTokenizer.LoadDefault();
        using var prep = new SamplePreparer(tok);
        var r = prep.Prepare(new TextSample { Texts = [new ChatTurn("q", "a")] }, [new ImageGrid(1, 2)]);
        var ids = new int[r.Length + 3];
        var attn = new byte[r.Length + 3];
        var labels = new int[r.Length + 3];
        var loss = new byte[r.Length + 3];
        prep.Current.CopyTo(ids, attn, labels, loss);
        Assert.Equal(prep.Current.InputIds.ToArray(), ids[..r.Length]);
        Assert.All(attn[..r.Length], b => Assert.Equal(1, b));
        Assert.Equal(0, attn[r.Length]);
        Assert.Equal(prep.Current.Labels.ToArray(), labels[..r.Length]);
        Assert.Equal(prep.Current.LossMask.ToArray(), loss[..r.Length]);
    }

    [Fact]
    public void BuffersAreReused_LongThenShortSample()
    {
        var tok = VlmTokenizer.LoadDefault();
        using var prep = new SamplePreparer(tok);
        var longSample = new TextSample { Texts = Enumerable.Range(0, 30).Select(i => new ChatTurn(new string('x', 500), "answer " + i)).ToArray() };
        var rl = prep.Prepare(longSample, [new ImageGrid(8, 8), new ImageGrid(8, 8)]);
        Assert.True(rl.Length > 8000);
        var short1 = new TextSample { Texts = [new ChatTurn("hi", "yo")] };
        prep.Prepare(short1, []);
        var (ids, mask, labels) = NaiveReference.Prepare(tok, NaiveReference.Messages(short1.Texts!, []));
        Assert.Equal(ids, prep.Current.InputIds.ToArray());
        Assert.Equal(mask, prep.Current.LossMask.ToArray());
        Assert.Equal(labels, prep.Current.Labels.ToArray());
    }

    [Fact]
    public void InferencePrompt_HasImageStringThenQuestionThenGenerationPrompt()
    {
        var tok = VlmTokenizer.LoadDefault();
        var ids = tok.ChatTemplate.BuildInferencePrompt("What is it?", [new ImageGrid(2, 2)]);
        Assert.Equal(tok.EncodeToIds("<|im_start|>user\n" + ImageTokenString.Build([new ImageGrid(2, 2)]) + "What is it?<|im_end|>\n<|im_start|>assistant\n"), ids);
        Assert.Equal(65 * 5, ids.Count(i => i == tok.ImageTokenId || i == tok.GlobalImageTokenId || (i >= tok.GetRowColTokenId(1, 1) && i <= tok.GetRowColTokenId(8, 8))));
        Assert.Equal(tok.EncodeToIds("\n"), ids[^1..]);
    }
}

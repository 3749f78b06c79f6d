using System.Buffers;
using NanoVlm.Loader.Text.Internal;

namespace NanoVlm.Loader.Text;

/// <summary>
/// nanoVLM's text path for one sample in a single tokenization pass: quality filter per turn, removal of literal
/// <c>&lt;|image|&gt;</c>, the image string prepended to the first user message, ChatML, token ids, the
/// assistant-only loss mask and shifted labels. Each message segment is tokenized on its own and the ChatML special
/// tokens are emitted as ids; because atomic tokens split the text before normalization and pre-tokenization, this
/// equals tokenizing the whole templated conversation (verified by tests). For a tokenizer without atomic ChatML
/// markers the markers are text, so the conversation is tokenized as one text (between image tokens) and each
/// message once more on its own for the loss mask, exactly nanoVLM's <c>_prepare_inputs_and_loss_mask</c>.
/// Buffers are pooled and reused: one preparer per worker thread; not thread-safe.
/// </summary>
public sealed class SamplePreparer : IDisposable
{
    private const int IgnoreIndex = -100;
    private static readonly string[] s_imageIndexText = Enumerable.Range(0, 64).Select(k => $"<image: {k}>").ToArray();

    private readonly VlmTokenizer _tok;
    private readonly QualityFilter _filter;
    private readonly int _imageTokenLength;
    private readonly int _prefixLength;
    private readonly PooledBuffer<int> _ids = new(4096);
    private readonly PooledBuffer<char> _pending = new(4096);
    private byte[] _mask = ArrayPool<byte>.Shared.Rent(4096);
    private int[] _labels = ArrayPool<int>.Shared.Rent(4096);
    private int _images;
    private int _length;
    // Markers-as-text mode (no atomic ChatML markers): the current message's text run, its token count so far, and
    // every message's (token count, is assistant) for the mask.
    private readonly bool _atomicMarkers;
    private readonly PooledBuffer<char> _message = new(1024);
    private readonly PooledBuffer<int> _scratch = new(1024);
    private readonly List<(int Length, bool Assistant)> _segments = [];
    private int _segmentLength;

    /// <summary>Creates a preparer.</summary>
    public SamplePreparer(VlmTokenizer tokenizer, SamplePreparerOptions? options = null)
    {
        _tok = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        options ??= new SamplePreparerOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.ImageTokenLength);
        _filter = new QualityFilter(options.QualityFilter);
        _imageTokenLength = options.ImageTokenLength;
        _prefixLength = tokenizer.ChatTemplate.AssistantPrefixLength;
        _atomicMarkers = tokenizer.HasAtomicChatMlMarkers;
        CheckDirectEmissionIsSafe(tokenizer);
        // Text segments that always sit between two special tokens tokenize the same every time: cache them.
        _newline = tokenizer.EncodeToIds("\n");
        _userNewline = tokenizer.EncodeToIds("user\n");
        _userNewlineImage0 = tokenizer.EncodeToIds("user\n" + s_imageIndexText[0]);
        _imageIndex = s_imageIndexText.Select(t => tokenizer.EncodeToIds(t)).ToArray();
    }

    private readonly int[] _newline;
    private readonly int[] _userNewline;
    private readonly int[] _userNewlineImage0;
    private readonly int[][] _imageIndex;

    /// <summary>Counters of drops and changes since creation.</summary>
    public TextCounters Counters { get; } = new();

    /// <summary>The last prepared sample (empty after a drop).</summary>
    public PreparedSample Current => new(_ids.Span[.._length], _mask.AsSpan(0, _length), _labels.AsSpan(0, _length), _images);

    /// <summary>Prepares one sample.</summary>
    /// <param name="sample">Texts and ratings.</param>
    /// <param name="imageGrids">The tile grid of each image, in order (from the image headers); empty for text-only.</param>
    /// <returns>The exact token length and image count, or the drop reason. Read the tokens from <see cref="Current"/>.</returns>
    public TextPrepareResult Prepare(TextSample sample, ReadOnlySpan<ImageGrid> imageGrids)
    {
        ArgumentNullException.ThrowIfNull(sample);
        foreach (var g in imageGrids) ImageTokenString.Validate(g);
        _ids.Clear();
        _pending.Clear();
        _segments.Clear();
        _length = 0;
        _images = imageGrids.Length;
        var c = Counters;
        c.Samples++;
        var texts = sample.Texts;
        if (texts is null || texts.Count == 0)
        {
            c.SamplesDroppedNoTexts++;
            return new TextPrepareResult(0, imageGrids.Length, TextDropReason.NoTexts);
        }

        bool first = true;
        for (int t = 0; t < texts.Count; t++)
        {
            c.Turns++;
            switch (_filter.Evaluate(sample, t))
            {
                case TurnVerdict.DropRelevance: c.TurnsDroppedRelevance++; continue;
                case TurnVerdict.DropImageCorrespondence: c.TurnsDroppedImageCorrespondence++; continue;
                case TurnVerdict.DropVisualDependency: c.TurnsDroppedVisualDependency++; continue;
                case TurnVerdict.DropFormatting: c.TurnsDroppedFormatting++; continue;
                case TurnVerdict.KeepRatingListTooShort: c.TurnsKeptRatingListTooShort++; break;
            }
            c.TurnsKept++;
            var turn = texts[t];
            if (_atomicMarkers)
            {
                EmitMessage("user", turn.User.Span, first ? imageGrids : default, assistant: false);
                EmitMessage("assistant", turn.Assistant.Span, default, assistant: true);
            }
            else
            {
                EmitMessageAsText("user", turn.User.Span, first ? imageGrids : default, assistant: false);
                EmitMessageAsText("assistant", turn.Assistant.Span, default, assistant: true);
            }
            first = false;
        }
        if (first)
        {
            c.SamplesDroppedAllTurnsFiltered++;
            return new TextPrepareResult(0, imageGrids.Length, TextDropReason.AllTurnsFilteredByRating);
        }

        if (!_atomicMarkers)
        {
            Flush();
            WriteMaskFromSegments();
        }
        _length = _ids.Count;
        // The mask was written per assistant segment; labels from it.
        var ids = _ids.Span;
        var mask = _mask.AsSpan(0, _length);
        EnsureLabels(_length);
        var labels = _labels.AsSpan(0, _length);
        for (int i = 0; i < _length - 1; i++) labels[i] = mask[i + 1] != 0 ? ids[i + 1] : IgnoreIndex;
        labels[_length - 1] = IgnoreIndex;
        c.SamplesKept++;
        return new TextPrepareResult(_length, imageGrids.Length, TextDropReason.None);
    }

    private void EmitMessage(string role, ReadOnlySpan<char> content, ReadOnlySpan<ImageGrid> grids, bool assistant)
    {
        int segStart = _ids.Count;
        _ids.Add(_tok.ImStartId!.Value);
        if (!grids.IsEmpty) EmitImageString(grids); // first user message: "user\n" + image string (cached pieces)
        else
        {
            _pending.Append(role);
            _pending.Add('\n');
        }
        AppendWithoutImageTokens(content);
        Flush();
        _ids.Add(_tok.ImEndId!.Value);
        _ids.Append(_newline.AsSpan());
        int segEnd = _ids.Count;
        EnsureMask(segEnd);
        _mask.AsSpan(segStart, segEnd - segStart).Clear();
        if (assistant)
        {
            int start = Math.Min(segStart + _prefixLength, segEnd);
            _mask.AsSpan(start, segEnd - start).Fill(1);
        }
    }

    /// <summary>Emits "user\n" + the image string; every text piece in it lies between special tokens, so its ids
    /// come from the caches made at construction.</summary>
    private void EmitImageString(ReadOnlySpan<ImageGrid> grids)
    {
        int image = _tok.ImageTokenId;
        for (int k = 0; k < grids.Length; k++)
        {
            if (k == 0) _ids.Append((grids.Length > 1 ? _userNewlineImage0 : _userNewline).AsSpan());
            else if (k < _imageIndex.Length) _ids.Append(_imageIndex[k].AsSpan());
            else
            {
                _pending.Append("<image: ");
                _pending.AppendInvariant(k);
                _pending.Add('>');
                Flush();
            }
            _ids.Add(_tok.GlobalImageTokenId);
            _ids.AddRepeat(image, _imageTokenLength);
            var g = grids[k];
            if (g.Rows == 1 && g.Cols == 1) continue;
            for (int i = 1; i <= g.Rows; i++)
                for (int j = 1; j <= g.Cols; j++)
                {
                    _ids.Add(_tok.GetRowColTokenId(i, j));
                    _ids.AddRepeat(image, _imageTokenLength);
                }
        }
    }

    /// <summary>One message with the ChatML markers as text. The text accumulates across messages (nanoVLM tokenizes
    /// the whole conversation) and is flushed only at an image token; the message's own text runs are tokenized again
    /// on their own for its length (nanoVLM re-tokenizes each message for the mask).</summary>
    private void EmitMessageAsText(string role, ReadOnlySpan<char> content, ReadOnlySpan<ImageGrid> grids, bool assistant)
    {
        _segmentLength = 0;
        Text(ChatTemplate.ImStart);
        Text(role);
        Text("\n");
        if (!grids.IsEmpty) EmitImageStringAsText(grids);
        int before = _pending.Count;
        AppendWithoutImageTokens(content);
        _message.Append(_pending.Span[before..]);
        Text(ChatTemplate.ImEnd);
        Text("\n");
        CountMessageRun();
        _segments.Add((_segmentLength, assistant));
    }

    private void EmitImageStringAsText(ReadOnlySpan<ImageGrid> grids)
    {
        int image = _tok.ImageTokenId;
        for (int k = 0; k < grids.Length; k++)
        {
            if (grids.Length > 1)
            {
                Text("<image: ");
                int at = _pending.Count;
                _pending.AppendInvariant(k);
                _message.Append(_pending.Span[at..]);
                Text(">");
            }
            Atomic(_tok.GlobalImageTokenId, 1);
            Atomic(image, _imageTokenLength);
            var g = grids[k];
            if (g.Rows == 1 && g.Cols == 1) continue;
            for (int i = 1; i <= g.Rows; i++)
                for (int j = 1; j <= g.Cols; j++)
                {
                    Atomic(_tok.GetRowColTokenId(i, j), 1);
                    Atomic(image, _imageTokenLength);
                }
        }
    }

    private void Text(ReadOnlySpan<char> text)
    {
        _pending.Append(text);
        _message.Append(text);
    }

    /// <summary>An atomic token ends the text runs of both the conversation and the message.</summary>
    private void Atomic(int id, int count)
    {
        CountMessageRun();
        Flush();
        _ids.AddRepeat(id, count);
        _segmentLength += count;
    }

    private void CountMessageRun()
    {
        if (_message.Count == 0) return;
        _scratch.Clear();
        _tok.Encode(_message.Span, _scratch);
        _segmentLength += _scratch.Count;
        _message.Clear();
    }

    /// <summary>nanoVLM's mask loop: a cursor over the per-message lengths, assistant messages masked from
    /// <c>cursor + prefix_len</c>. Where per-message and whole-conversation tokenization disagree (a BPE merge across
    /// a message boundary) nanoVLM's Python slice assignment would grow the mask past the ids; here it is cut at the
    /// ids' length.</summary>
    private void WriteMaskFromSegments()
    {
        int n = _ids.Count;
        EnsureMask(n);
        var mask = _mask.AsSpan(0, n);
        mask.Clear();
        int cursor = 0;
        foreach (var (length, assistant) in _segments)
        {
            if (assistant)
            {
                int start = Math.Min(cursor + _prefixLength, n);
                int end = Math.Min(cursor + length, n);
                if (end > start) mask[start..end].Fill(1);
            }
            cursor += length;
        }
    }

    /// <summary>Python's <c>str.replace("&lt;|image|&gt;", "")</c> (one left-to-right pass), counted.</summary>
    private void AppendWithoutImageTokens(ReadOnlySpan<char> text)
    {
        const string token = ImageTokenString.ImageToken;
        int removed = 0;
        while (true)
        {
            int at = text.IndexOf(token, StringComparison.Ordinal);
            if (at < 0) break;
            _pending.Append(text[..at]);
            text = text[(at + token.Length)..];
            removed++;
        }
        _pending.Append(text);
        if (removed > 0)
        {
            Counters.ImageTokensRemoved += removed;
            Counters.MessagesWithImageTokensRemoved++;
        }
    }

    private void Flush()
    {
        if (_pending.Count == 0) return;
        _tok.Encode(_pending.Span, _ids);
        _pending.Clear();
    }

    private void EnsureMask(int n)
    {
        if (_mask.Length >= n) return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(n, _mask.Length * 2));
        _mask.AsSpan().CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_mask);
        _mask = bigger;
    }

    private void EnsureLabels(int n)
    {
        if (_labels.Length >= n) return;
        ArrayPool<int>.Shared.Return(_labels);
        _labels = ArrayPool<int>.Shared.Rent(Math.Max(n, _labels.Length * 2));
    }

    /// <summary>
    /// Emitting the ChatML/image special tokens as ids (instead of rendering them into the text) equals tokenizing the
    /// rendered text only if no atomic token could match across the boundary of an emitted token: i.e. no atomic
    /// token has '&lt;' after its first char, and none extends an emitted token.
    /// </summary>
    private static void CheckDirectEmissionIsSafe(VlmTokenizer tok)
    {
        var emitted = new List<string> { ImageTokenString.ImageToken, ImageTokenString.GlobalImageToken };
        if (tok.HasAtomicChatMlMarkers) emitted.AddRange(VlmTokenizerOptions.ChatMlTokens);
        for (int i = 1; i <= 8; i++) for (int j = 1; j <= 8; j++) emitted.Add(ImageTokenString.RowColToken(i, j));
        foreach (var token in tok.AtomicTokens.Keys)
        {
            if (token.IndexOf('<', 1) >= 0)
                throw new NotSupportedException($"Atomic token '{token}' contains '<' after its first character; single-pass sample preparation cannot guarantee HF-equal ids.");
            foreach (var e in emitted)
                if (token.Length > e.Length && token.StartsWith(e, StringComparison.Ordinal))
                    throw new NotSupportedException($"Atomic token '{token}' extends '{e}'; single-pass sample preparation cannot guarantee HF-equal ids.");
        }
    }

    /// <summary>Returns the pooled buffers.</summary>
    public void Dispose()
    {
        _ids.Dispose();
        _pending.Dispose();
        _message.Dispose();
        _scratch.Dispose();
        if (_mask.Length > 0) ArrayPool<byte>.Shared.Return(_mask);
        if (_labels.Length > 0) ArrayPool<int>.Shared.Return(_labels);
        _mask = [];
        _labels = [];
    }
}

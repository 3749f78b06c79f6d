using System.Reflection;
using System.Text;
using Microsoft.ML.Tokenizers;
using NanoVlm.Loader.Text.Internal;

namespace NanoVlm.Loader.Text;

/// <summary>
/// A tokenizer for nanoVLM-style training: a base model (BPE from a HF <c>tokenizer.json</c>, byte-level or
/// SentencePiece-style with byte fallback, or from GPT-2 style <c>vocab.json</c> + <c>merges.txt</c>, both on this
/// library's own BPE; or a SentencePiece <c>.model</c>: BPE models on this library's own encoder, unigram and
/// character-map models on Microsoft.ML.Tokenizers) plus atomic special tokens (the file's
/// added tokens and nanoVLM's 66 extra tokens, added with HF's id rule) that are split off the raw text before
/// normalization and pre-tokenization, as HF tokenizers do. Thread-safe for encoding.
/// </summary>
public sealed class VlmTokenizer
{
    private readonly Tokenizer? _model;
    private readonly TokenizerModelParts _parts;
    private readonly NormalizationForm? _normalization;
    private readonly AtomicTokenMatcher _matcher;
    private readonly Dictionary<string, int> _atomic;
    private readonly Dictionary<int, string> _atomicById;
    private readonly int[] _rowCol;

    internal VlmTokenizer(TokenizerModelParts parts, int baseVocabSize, IEnumerable<KeyValuePair<string, int>> fileAddedTokens,
        NormalizationForm? normalization, VlmTokenizerOptions options, string? configEos, string kind)
    {
        _parts = parts;
        _model = parts.MlModel;
        _normalization = normalization;
        Kind = kind;
        BaseVocabularySize = baseVocabSize;
        _atomic = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in fileAddedTokens) _atomic[token] = id;

        // HF AddedVocabulary.add_tokens: existing added token -> unchanged; token in the model vocab -> its id;
        // else max(vocab size, max added id + 1).
        IEnumerable<string> toAdd = options.AddedSpecialTokens;
        if (options.AddChatMlMarkers) toAdd = toAdd.Concat(VlmTokenizerOptions.ChatMlTokens);
        foreach (var token in toAdd)
        {
            if (_atomic.ContainsKey(token)) continue;
            int id;
            if (TryGetModelId(token, out int existing)) id = existing;
            else
            {
                int maxAdded = _atomic.Count == 0 ? -1 : _atomic.Values.Max();
                id = maxAdded >= baseVocabSize ? maxAdded + 1 : baseVocabSize;
            }
            _atomic[token] = id;
        }
        _atomicById = [];
        foreach (var (token, id) in _atomic) _atomicById.TryAdd(id, token);
        _matcher = new AtomicTokenMatcher(_atomic);

        // The ChatML markers are atomic only if the tokenizer has them (SmolLM2, Qwen) or the caller asked for them.
        bool hasStart = _atomic.TryGetValue(ChatTemplate.ImStart, out int imStart);
        bool hasEnd = _atomic.TryGetValue(ChatTemplate.ImEnd, out int imEnd);
        if (hasStart != hasEnd)
            throw new NotSupportedException($"The tokenizer has '{(hasStart ? ChatTemplate.ImStart : ChatTemplate.ImEnd)}' as a special token but not '{(hasStart ? ChatTemplate.ImEnd : ChatTemplate.ImStart)}'; nanoVLM's chat template needs both or neither.");
        ImStartId = hasStart ? imStart : null;
        ImEndId = hasEnd ? imEnd : null;
        ImageTokenId = RequireAtomic(ImageTokenString.ImageToken);
        GlobalImageTokenId = RequireAtomic(ImageTokenString.GlobalImageToken);
        _rowCol = new int[64];
        for (int i = 1; i <= 8; i++)
            for (int j = 1; j <= 8; j++)
                _rowCol[(i - 1) * 8 + (j - 1)] = RequireAtomic(ImageTokenString.RowColToken(i, j));

        string? eos = options.EosToken ?? configEos;
        if (eos is null)
        {
            foreach (var candidate in (string[])["<|im_end|>", "<|endoftext|>", "</s>"])
                if (TryGetId(candidate, out _)) { eos = candidate; break; }
        }
        if (eos is null || !TryGetId(eos, out int eosId))
            throw new InvalidOperationException($"The end-of-sequence token '{eos}' is not known to the tokenizer; set {nameof(VlmTokenizerOptions)}.{nameof(VlmTokenizerOptions.EosToken)}.");
        EosToken = eos;
        EosTokenId = eosId;
        VocabularySize = Math.Max(baseVocabSize, _atomic.Values.Max() + 1);
        var post = parts.Post ?? PostProcessor.None;
        _prefixIds = post.Prefix;
        _suffixIds = post.Suffix;
        ChatTemplate = new ChatTemplate(this);
    }

    private int RequireAtomic(string token) => _atomic.TryGetValue(token, out int id) ? id
        : throw new ArgumentException($"nanoVLM's extra token '{token}' is neither in the tokenizer nor in {nameof(VlmTokenizerOptions)}.{nameof(VlmTokenizerOptions.AddedSpecialTokens)}.");

    /// <summary>What the tokenizer was loaded from, e.g. <c>tokenizer.json (byte-level BPE)</c>.</summary>
    public string Kind { get; }

    /// <summary>The Unicode normalization the file asks for (HF <c>normalizer</c>), or null.</summary>
    public NormalizationForm? Normalization => _normalization;

    /// <summary>
    /// False when the file asks for a Unicode normalization this process cannot do. NFC (Qwen2 and most byte-level BPE
    /// files) is built in and always available; NFD/NFKC/NFKD use .NET's <see cref="string.Normalize()"/>, which is a
    /// no-op under <c>InvariantGlobalization</c>: text not already in that form then tokenizes differently from HF.
    /// </summary>
    public bool NormalizationAvailable => (_normalization is not { } f || f == NormalizationForm.FormC || RuntimeCanNormalize(f))
        && (_parts.Normalizer?.Steps.All(st => st is not NormalizerStep.Form form || form.Value == NormalizationForm.FormC || RuntimeCanNormalize(form.Value)) ?? true);

    internal static bool RuntimeCanNormalize(NormalizationForm form) => form switch
    {
        NormalizationForm.FormC => "e\u0301".Normalize(form) == "\u00e9",
        NormalizationForm.FormD => "\u00e9".Normalize(form) == "e\u0301",
        _ => "\ufb01".Normalize(form) == "fi",
    };

    /// <summary>The underlying Microsoft.ML.Tokenizers model (without the atomic-token splitting) of a SentencePiece
    /// <c>.model</c> (for a BPE model it only decodes: this library encodes it); <see langword="null"/> for
    /// <c>tokenizer.json</c> and <c>vocab.json</c> + <c>merges.txt</c>, which this library encodes itself.</summary>
    public Tokenizer? BaseTokenizer => _model;

    /// <summary>Size of the base model's vocabulary (without tokens added after it).</summary>
    public int BaseVocabularySize { get; }

    /// <summary>Number of ids: the largest id + 1, i.e. HF's <c>len(tokenizer)</c> after the extra tokens were added, which
    /// is nanoVLM's <c>lm_vocab_size</c> (for SmolLM2: 49152 + 66) and the size of the model's token embedding.</summary>
    public int VocabularySize { get; }

    /// <summary>Every atomic token (the file's added tokens and the registered special tokens) with its id.</summary>
    public IReadOnlyDictionary<string, int> AtomicTokens => _atomic;

    /// <summary>Id of <c>&lt;|im_start|&gt;</c> when it is an atomic token; <see langword="null"/> when the tokenizer has
    /// no ChatML markers and the template text is tokenized as ordinary text (see
    /// <see cref="VlmTokenizerOptions.AddChatMlMarkers"/>).</summary>
    public int? ImStartId { get; }

    /// <summary>Id of <c>&lt;|im_end|&gt;</c> when it is an atomic token, else <see langword="null"/>.</summary>
    public int? ImEndId { get; }

    /// <summary>Whether the ChatML markers are atomic tokens (one id each).</summary>
    public bool HasAtomicChatMlMarkers => ImStartId is not null;

    /// <summary>Id of <c>&lt;|image|&gt;</c>.</summary>
    public int ImageTokenId { get; }

    /// <summary>Id of <c>&lt;|global_image|&gt;</c>.</summary>
    public int GlobalImageTokenId { get; }

    /// <summary>The end-of-sequence token.</summary>
    public string EosToken { get; }

    /// <summary>Id of the end-of-sequence token.</summary>
    public int EosTokenId { get; }

    /// <summary>Id of the pad token; equals <see cref="EosTokenId"/> as in nanoVLM.</summary>
    public int PadTokenId => EosTokenId;

    /// <summary>The ChatML template bound to this tokenizer.</summary>
    public ChatTemplate ChatTemplate { get; }

    /// <summary>Id of <c>&lt;row_{row}_col_{col}&gt;</c> (1-based, 1..8).</summary>
    public int GetRowColTokenId(int row, int col)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(row, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(row, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(col, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(col, 8);
        return _rowCol[(row - 1) * 8 + (col - 1)];
    }

    /// <summary>Looks up the id of a single token (atomic or in the base vocabulary).</summary>
    public bool TryGetId(string token, out int id) => _atomic.TryGetValue(token, out id) || TryGetModelId(token, out id);

    /// <summary>Encodes text; atomic tokens in the text become their ids. With <paramref name="addSpecialTokens"/> the
    /// file's post-processor tokens are added around it (HF <c>add_special_tokens=True</c>: Llama's BOS, BERT's
    /// CLS/SEP); without, nothing is added (what nanoVLM's chat template tokenization uses).</summary>
    public int[] EncodeToIds(ReadOnlySpan<char> text, bool addSpecialTokens)
    {
        if (!addSpecialTokens) return EncodeToIds(text);
        using var sink = new PooledBuffer<int>(Math.Max(16, text.Length + _prefixIds.Length + _suffixIds.Length));
        sink.Append(_prefixIds);
        Encode(text, sink);
        sink.Append(_suffixIds);
        return sink.Span.ToArray();
    }

    private readonly int[] _prefixIds;
    private readonly int[] _suffixIds;

    /// <summary>Encodes text without adding BOS/EOS; atomic tokens in the text become their ids.</summary>
    public int[] EncodeToIds(ReadOnlySpan<char> text)
    {
        using var sink = new PooledBuffer<int>(Math.Max(16, text.Length));
        Encode(text, sink);
        return sink.Span.ToArray();
    }

    /// <summary>Encodes text without adding BOS/EOS and appends the ids to <paramref name="destination"/>.</summary>
    /// <returns>The number of ids appended.</returns>
    public int EncodeToIds(ReadOnlySpan<char> text, List<int> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var sink = new PooledBuffer<int>(Math.Max(16, text.Length));
        Encode(text, sink);
        foreach (int id in sink.Span) destination.Add(id);
        return sink.Count;
    }

    /// <summary>Decodes ids to text (atomic tokens are written as their strings).</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        if (_parts.Decoder is { } decoder)
        {
            // HF TokenizerImpl::decode: added tokens by content, the rest from the model, then the decoder chain.
            var tokens = new List<string>(ids.Length);
            foreach (int id in ids)
                if (_atomicById.TryGetValue(id, out var atomic)) tokens.Add(atomic);
                else if (ModelIdToToken(id) is { } t) tokens.Add(t);
            return decoder.Decode(tokens);
        }
        var sb = new StringBuilder();
        var run = new List<int>();
        foreach (int id in ids)
        {
            if (_atomicById.TryGetValue(id, out var token))
            {
                if (run.Count > 0) { sb.Append(_model!.Decode(run)); run.Clear(); }
                sb.Append(token);
            }
            else run.Add(id);
        }
        if (run.Count > 0) sb.Append(_model!.Decode(run));
        return sb.ToString();
    }

    private string? ModelIdToToken(int id)
    {
        if (_parts.Own is { } own) return own.IdToToken(id);
        var reverse = _reverseVocab ??= BuildReverseVocab();
        return (uint)id < (uint)reverse.Length ? reverse[id] : null;
    }

    private string?[]? _reverseVocab;

    private string?[] BuildReverseVocab()
    {
        var vocab = _model switch
        {
            SentencePieceTokenizer sp => sp.Vocabulary,
            _ => new Dictionary<string, int>(),
        };
        var reverse = new string?[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (token, id) in vocab) reverse[id] ??= token;
        return reverse;
    }

    /// <summary>The built-in default tokenizer: a 6,000-piece SentencePiece BPE model with byte fallback, trained by
    /// <c>tools/make_default_tokenizer.sh</c> on English question/answer text about synthetic images; the ChatML
    /// markers and nanoVLM's extra tokens are pieces of its vocabulary. Cached.</summary>
    public static VlmTokenizer LoadDefault() => s_default.Value;

    private static readonly Lazy<VlmTokenizer> s_default = new(() =>
    {
        using var stream = typeof(VlmTokenizer).Assembly.GetManifestResourceStream(DefaultResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{DefaultResourceName}' is missing.");
        return FromSentencePiece(stream, new VlmTokenizerOptions { EosToken = "<|im_end|>" });
    });

    internal const string DefaultResourceName = "NanoVlm.Loader.Assets.default_tokenizer.model";

    /// <summary>Loads a HF <c>tokenizer.json</c> with a BPE model: byte-level (GPT-2, SmolLM2, Qwen, Llama-3,
    /// DeepSeek-V3, GPT-4o) or SentencePiece-style with byte fallback (Llama-2, Gemma). The end-of-sequence token
    /// comes from a <c>tokenizer_config.json</c> beside it unless the options name one.</summary>
    /// <exception cref="NotSupportedException">The file describes a kind of tokenizer this loader does not support.</exception>
    public static VlmTokenizer FromTokenizerJson(string path, VlmTokenizerOptions? options = null)
    {
        using var stream = File.OpenRead(path);
        string? eos = options?.EosToken is null ? TokenizerJsonLoader.ReadEosFromConfig(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "tokenizer_config.json")) : null;
        return TokenizerJsonLoader.Load(stream, options ?? new VlmTokenizerOptions(), eos);
    }

    /// <summary>Loads a HF <c>tokenizer.json</c> with a BPE model from a stream (see the path overload).</summary>
    /// <exception cref="NotSupportedException">The file describes a kind of tokenizer this loader does not support.</exception>
    public static VlmTokenizer FromTokenizerJson(Stream stream, VlmTokenizerOptions? options = null)
        => TokenizerJsonLoader.Load(stream, options ?? new VlmTokenizerOptions(), null);

    /// <summary>Loads a byte-level BPE from GPT-2 style <c>vocab.json</c> + <c>merges.txt</c> (GPT-2 pre-tokenizer
    /// regex). Vocabulary entries of the form <c>&lt;|...|&gt;</c> are treated as atomic special tokens.</summary>
    public static VlmTokenizer FromVocabAndMerges(string vocabJsonPath, string mergesTxtPath, VlmTokenizerOptions? options = null)
    {
        using var vocab = File.OpenRead(vocabJsonPath);
        using var merges = File.OpenRead(mergesTxtPath);
        string? eos = options?.EosToken is null ? TokenizerJsonLoader.ReadEosFromConfig(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(vocabJsonPath))!, "tokenizer_config.json")) : null;
        return TokenizerJsonLoader.LoadVocabMerges(vocab, merges, options ?? new VlmTokenizerOptions(), eos);
    }

    /// <summary>Loads a SentencePiece <c>.model</c> file (BPE or unigram). No BOS/EOS is added when encoding. A BPE
    /// model without a precompiled character map (the built-in default; identity normalization with any of the dummy
    /// prefix, whitespace escaping and extra-whitespace options) is encoded by this library's allocation-free port of
    /// sentencepiece's encoder; unigram models and models with character rules (e.g. nmt_nfkc) are encoded by
    /// Microsoft.ML.Tokenizers. Decoding uses Microsoft.ML.Tokenizers for both.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed SentencePiece model (the message names the
    /// file and the field).</exception>
    public static VlmTokenizer FromSentencePiece(string modelPath, VlmTokenizerOptions? options = null)
        => FromSentencePiece(File.ReadAllBytes(modelPath), modelPath, options);

    /// <summary>Loads a SentencePiece model (BPE or unigram) from a stream (see the path overload). No BOS/EOS is
    /// added when encoding.</summary>
    /// <exception cref="InvalidDataException">The stream is not a well-formed SentencePiece model.</exception>
    public static VlmTokenizer FromSentencePiece(Stream modelStream, VlmTokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelStream);
        using var copy = new MemoryStream();
        modelStream.CopyTo(copy);
        return FromSentencePiece(copy.ToArray(), "SentencePiece model stream", options);
    }

    private static VlmTokenizer FromSentencePiece(byte[] data, string source, VlmTokenizerOptions? options)
    {
        var own = SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(data, source));
        var sp = SentencePieceTokenizer.Create(new MemoryStream(data, writable: false), addBeginningOfSentence: false, addEndOfSentence: false);
        var vocab = sp.Vocabulary;
        // SentencePiece control/user-defined pieces that look like special tokens are atomic.
        var added = vocab.Where(kv => kv.Key.Length > 2 && kv.Key[0] == '<' && kv.Key[^1] == '>' && !kv.Key.StartsWith("<0x", StringComparison.Ordinal))
            .Select(kv => new KeyValuePair<string, int>(kv.Key, kv.Value)).ToList();
        return new VlmTokenizer(new TokenizerModelParts(sp, SentencePiece: own), vocab.Count, added, null, options ?? new VlmTokenizerOptions(), null,
            own is null ? "SentencePiece .model" : "SentencePiece .model (BPE)");
    }

    private bool TryGetModelId(string token, out int id)
    {
        if (_parts.Own is { } own) return own.TryGetId(token, out id);
        switch (_model)
        {
            case SentencePieceTokenizer sp when sp.Vocabulary.TryGetValue(token, out id):
                return true;
            default:
                id = -1;
                return false;
        }
    }

    /// <summary>Core encode: split atomic tokens off, normalize and BPE the text between them.</summary>
    internal void Encode(ReadOnlySpan<char> text, PooledBuffer<int> sink)
    {
        int pos = 0;
        while (pos < text.Length)
        {
            int at = _matcher.FindNext(text, pos, out int len, out int id);
            int end = at < 0 ? text.Length : at;
            if (end > pos) EncodePlain(text[pos..end], sink);
            if (at < 0) break;
            sink.Add(id);
            pos = at + len;
        }
    }

    /// <summary>Encodes text that contains no atomic token: the file's normalizer, pre-tokenizer and this library's BPE
    /// per piece (tokenizer.json, vocab.json + merges.txt; allocation-free once warm), this library's SentencePiece
    /// encoder (BPE .model; allocation-free once warm), or the Microsoft.ML.Tokenizers model (other .model files).</summary>
    internal void EncodePlain(ReadOnlySpan<char> text, PooledBuffer<int> sink)
    {
        if (text.IsEmpty) return;
        if (_parts.SentencePiece is { } spm)
        {
            spm.Encode(text, sink);
            return;
        }
        if (_parts.Own is not { } own)
        {
            sink.Append(_model!.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true));
            return;
        }
        if (_parts.Normalizer is { } normalizer) text = normalizer.Apply(text);
        if (text.IsEmpty) return;
        if (_parts.PreTokenizer is not { } splitter) own.Encode(text, sink);
        else foreach (var (o, l) in splitter.Split(text)) own.Encode(text.Slice(o, l), sink);
    }

    internal AtomicTokenMatcher Matcher => _matcher;

    internal static Assembly ResourceAssembly => typeof(VlmTokenizer).Assembly;
}

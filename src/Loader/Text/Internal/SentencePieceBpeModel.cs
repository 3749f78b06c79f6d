using System.Buffers;
using System.Text;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// SentencePiece's BPE encoder for a <c>.model</c> file, as sentencepiece's <c>SentencePieceProcessor::Encode</c>
/// runs it: the normalizer without character rules (<c>normalizer.cc</c>: dummy prefix, whitespace escaping to
/// U+2581, removal of extra whitespace; user-defined symbols kept whole), then <c>bpe::Model::SampleEncode</c> without
/// dropout (<c>bpe_model.cc</c>: user-defined symbols are frozen single symbols, adjacent symbols merge when their
/// concatenation is a piece, the highest-scoring merge first and the leftmost among equal scores, merged UNUSED pieces
/// are split back into what they were merged from), then <c>PopulateSentencePieceText</c> (an unknown piece becomes
/// its UTF-8 bytes as <c>&lt;0xXX&gt;</c> with byte fallback, else consecutive unknown pieces are one unknown id).
/// Works on UTF-16 text (a surrogate pair is one character; a lone surrogate is U+FFFD, what spm sees for the UTF-8
/// replacement of it). Thread-safe; the working memory is per thread and reused, so a warm call allocates nothing.
/// Only for files <see cref="TryCreate"/> accepts (BPE, no precompiled character map).
/// </summary>
internal sealed partial class SentencePieceBpeModel
{
    private const char SpaceSymbol = '\u2581';

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _pieces;    // NORMAL, USER_DEFINED, UNUSED
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _reserved;  // UNKNOWN, CONTROL, BYTE
    private readonly bool _hasReserved;
    private readonly float[] _scores;
    private readonly SentencePieceModelFile.PieceType[] _types;
    private readonly int[] _outputIds;   // piece id -> sentencepiece's PieceToId(piece) (a reserved piece of the same text wins)
    private readonly int _unkId;
    private readonly int[]? _byteIds;
    private readonly bool _hasUnused;
    private readonly UserSymbols _userSymbols;
    private readonly bool _addDummyPrefix, _removeExtraWhitespaces, _escapeWhitespaces, _whitespaceAsSuffix;

    private SentencePieceBpeModel(SentencePieceModelFile file)
    {
        string source = file.Source;
        var pieces = file.Pieces;
        var normal = new Dictionary<string, int>(StringComparer.Ordinal);
        var reserved = new Dictionary<string, int>(StringComparer.Ordinal);
        var userDefined = new List<string>();
        _scores = new float[pieces.Length];
        _types = new SentencePieceModelFile.PieceType[pieces.Length];
        _unkId = -1;
        var byteIds = new int[256];
        Array.Fill(byteIds, -1);
        // sentencepiece's ModelInterface::InitializePieces, with its load-time checks.
        for (int i = 0; i < pieces.Length; i++)
        {
            var (text, score, type) = pieces[i];
            _scores[i] = score;
            _types[i] = type;
            bool isNormal = type is SentencePieceModelFile.PieceType.Normal or SentencePieceModelFile.PieceType.UserDefined or SentencePieceModelFile.PieceType.Unused;
            if (!(isNormal ? normal : reserved).TryAdd(text, i))
                throw Damaged(source, $"pieces[{i}] '{text}' is already defined (pieces[{(isNormal ? normal : reserved)[text]}])");
            if (type == SentencePieceModelFile.PieceType.UserDefined) userDefined.Add(text);
            if (type == SentencePieceModelFile.PieceType.Unused) _hasUnused = true;
            if (type == SentencePieceModelFile.PieceType.Unknown)
            {
                if (_unkId >= 0) throw Damaged(source, $"pieces[{i}] '{text}' is a second UNKNOWN piece (the first is pieces[{_unkId}])");
                _unkId = i;
            }
            if (type == SentencePieceModelFile.PieceType.Byte)
            {
                if (!file.ByteFallback)
                    throw Damaged(source, $"pieces[{i}] '{text}' is a BYTE piece although trainer_spec.byte_fallback is false");
                int b = ParseBytePiece(text);
                if (b < 0) throw Damaged(source, $"pieces[{i}] '{text}' is a BYTE piece but not of the form <0xXX>");
                byteIds[b] = i;
            }
        }
        if (_unkId < 0)
            throw Damaged(source, $"no piece has type UNKNOWN (trainer_spec.unk_piece is '{file.UnkPiece}')");
        if (file.ByteFallback)
        {
            int missing = Array.IndexOf(byteIds, -1);
            if (missing >= 0) throw Damaged(source, $"trainer_spec.byte_fallback is true but there is no BYTE piece <0x{missing:X2}> (all 256 are needed)");
            _byteIds = byteIds;
        }
        _pieces = normal.GetAlternateLookup<ReadOnlySpan<char>>();
        _reserved = reserved.GetAlternateLookup<ReadOnlySpan<char>>();
        _hasReserved = reserved.Count > 0;
        _outputIds = new int[pieces.Length];
        for (int i = 0; i < pieces.Length; i++) _outputIds[i] = reserved.TryGetValue(pieces[i].Text, out int r) ? r : i;
        _userSymbols = new UserSymbols(userDefined);
        _addDummyPrefix = file.AddDummyPrefix;
        _removeExtraWhitespaces = file.RemoveExtraWhitespaces;
        _escapeWhitespaces = file.EscapeWhitespaces;
        _whitespaceAsSuffix = file.TreatWhitespaceAsSuffix;
    }

    /// <summary>This encoder for <paramref name="file"/>, or null when the file needs what it does not implement: a
    /// model type other than BPE (unigram, word, char) or a <c>precompiled_charsmap</c> (character rules such as
    /// nmt_nfkc). Those files stay on Microsoft.ML.Tokenizers.</summary>
    /// <exception cref="InvalidDataException">The pieces break one of sentencepiece's load-time rules.</exception>
    public static SentencePieceBpeModel? TryCreate(SentencePieceModelFile file)
    {
        if (file.Kind != SentencePieceModelFile.ModelKind.Bpe || file.PrecompiledCharsMapLength > 0) return null;
        return new SentencePieceBpeModel(file);
    }

    private static InvalidDataException Damaged(string source, string what) => new($"{source}: invalid SentencePiece model: {what}.");

    private static int ParseBytePiece(string text)
    {
        if (text.Length != 6 || !text.StartsWith("<0x", StringComparison.Ordinal) || text[5] != '>') return -1;
        int hi = HexDigit(text[3]), lo = HexDigit(text[4]);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        // sentencepiece's PieceToByte matches "%02X" only: upper-case hex digits.
        static int HexDigit(char c) => c is >= '0' and <= '9' ? c - '0' : c is >= 'A' and <= 'F' ? c - 'A' + 10 : -1;
    }

    /// <summary>Encodes one text (no BOS/EOS) and appends the ids to <paramref name="sink"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, PooledBuffer<int> sink)
    {
        var scratch = t_scratch ??= new Scratch();
        int length = Normalize(text, scratch);
        if (length == 0) return;
        var normalized = scratch.Normalized.AsSpan(0, length);
        MergeSymbols(normalized, scratch);
        bool previousUnknown = false;
        var symbols = scratch.Symbols;
        for (int i = 0; i >= 0; i = symbols[i].Next)
            Resegment(normalized, symbols[i].Start, symbols[i].Length, symbols[i].PieceId, scratch, sink, ref previousUnknown);
    }

    /// <summary><c>bpe::Model::SampleEncode</c>'s main part: split into characters and user-defined symbols, then
    /// merge the best-scoring adjacent pair until none is a piece.</summary>
    private void MergeSymbols(ReadOnlySpan<char> normalized, Scratch scratch)
    {
        var symbols = scratch.SymbolsFor(normalized.Length);
        int n = 0;
        for (int pos = 0; pos < normalized.Length;)
        {
            int len = _userSymbols.Match(normalized, pos);
            bool frozen = len > 0;
            if (!frozen) len = char.IsHighSurrogate(normalized[pos]) && pos + 1 < normalized.Length && char.IsLowSurrogate(normalized[pos + 1]) ? 2 : 1;
            symbols[n] = new Symbol { Start = pos, Length = len, Prev = n - 1, Next = pos + len < normalized.Length ? n + 1 : -1, Frozen = frozen, PieceId = -1 };
            n++;
            pos += len;
        }
        var queue = scratch.Queue;
        queue.Clear(3 * n);
        if (_hasUnused) scratch.ReverseMerges.Clear();
        for (int i = 1; i < n; i++) MaybeAddPair(normalized, symbols, i - 1, i, scratch);
        while (queue.TryPop(out var top))
        {
            ref var left = ref symbols[top.Left];
            ref var right = ref symbols[top.Right];
            // The pair is stale when either side was merged away or has grown since it was queued.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != top.Length) continue;
            left.Length += right.Length;
            left.PieceId = top.PieceId;
            left.Next = right.Next;
            if (right.Next >= 0) symbols[right.Next].Prev = top.Left;
            right.Length = 0;
            MaybeAddPair(normalized, symbols, left.Prev, top.Left, scratch);
            MaybeAddPair(normalized, symbols, top.Left, left.Next, scratch);
        }
    }

    /// <summary><c>MaybeAddNewSymbolPair</c>: queue the pair when neither side is frozen and the concatenation is a
    /// piece; remember what an UNUSED piece was made of, to split it back.</summary>
    private void MaybeAddPair(ReadOnlySpan<char> normalized, Symbol[] symbols, int left, int right, Scratch scratch)
    {
        if (left < 0 || right < 0 || symbols[left].Frozen || symbols[right].Frozen) return;
        int start = symbols[left].Start, leftLength = symbols[left].Length, length = leftLength + symbols[right].Length;
        if (!_pieces.TryGetValue(normalized.Slice(start, length), out int id)) return;
        scratch.Queue.Push(new SentencePieceMerge { Score = _scores[id], Left = left, Right = right, Length = length, PieceId = id });
        if (_types[id] == SentencePieceModelFile.PieceType.Unused) scratch.ReverseMerges[id] = (start, leftLength, length - leftLength);
    }

    /// <summary><c>resegment</c> then <c>PopulateSentencePieceText</c> for one final symbol.</summary>
    private void Resegment(ReadOnlySpan<char> normalized, int start, int length, int knownId, Scratch scratch,
        PooledBuffer<int> sink, ref bool previousUnknown)
    {
        var piece = normalized.Slice(start, length);
        int id = knownId >= 0 ? _outputIds[knownId] : PieceToId(piece);
        if (_types[id] == SentencePieceModelFile.PieceType.Unused && scratch.ReverseMerges.TryGetValue(id, out var parts))
        {
            // The parts' texts are the same characters as this piece's, wherever in the text they were recorded.
            Resegment(normalized, parts.Start, parts.LeftLength, -1, scratch, sink, ref previousUnknown);
            Resegment(normalized, parts.Start + parts.LeftLength, parts.RightLength, -1, scratch, sink, ref previousUnknown);
            return;
        }
        bool unknown = id == _unkId;
        if (unknown && _byteIds is { } byteIds)
        {
            Span<byte> utf8 = stackalloc byte[4];
            for (int i = 0; i < piece.Length;)
            {
                Rune.DecodeFromUtf16(piece[i..], out var rune, out int used);  // a lone surrogate decodes as U+FFFD
                i += used;
                int count = rune.EncodeToUtf8(utf8);
                for (int k = 0; k < count; k++) sink.Add(byteIds[utf8[k]]);
            }
        }
        else if (!(unknown && previousUnknown)) sink.Add(id);   // consecutive unknown pieces are one
        previousUnknown = unknown;
    }

    /// <summary>sentencepiece's <c>ModelInterface::PieceToId</c>: reserved pieces first, then the others, else unk.</summary>
    private int PieceToId(ReadOnlySpan<char> piece)
    {
        if (_hasReserved && _reserved.TryGetValue(piece, out int id)) return id;
        return _pieces.TryGetValue(piece, out id) ? id : _unkId;
    }
}

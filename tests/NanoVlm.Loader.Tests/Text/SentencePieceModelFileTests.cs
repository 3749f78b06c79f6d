using System.Text;
using NanoVlm.Loader.Text;
using NanoVlm.Loader.Text.Internal;

namespace NanoVlm.Loader.Tests.Text;

/// <summary>The ModelProto reader and the choice of encoder: damaged and invalid files are clear errors naming the
/// file and the field; files this library does not encode (unigram, a character map) stay on Microsoft.ML.Tokenizers.</summary>
public class SentencePieceModelFileTests
{
    private static byte[] DefaultModelBytes()
    {
        using var s = typeof(VlmTokenizer).Assembly.GetManifestResourceStream(VlmTokenizer.DefaultResourceName)!;
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    [Fact]
    public void DefaultModel_ReadsItsSettings()
    {
        var f = SentencePieceModelFile.Parse(DefaultModelBytes(), "default_tokenizer.model");
        Assert.Equal(6000, f.Pieces.Length);
        Assert.Equal(SentencePieceModelFile.ModelKind.Bpe, f.Kind);
        Assert.True(f.ByteFallback);
        Assert.False(f.AddDummyPrefix);
        Assert.False(f.RemoveExtraWhitespaces);
        Assert.True(f.EscapeWhitespaces);
        Assert.Equal("identity", f.NormalizerName);
        Assert.Equal(0, f.PrecompiledCharsMapLength);
        Assert.Equal(new SentencePieceModelFile.Piece("<unk>", 0, SentencePieceModelFile.PieceType.Unknown), f.Pieces[0]);
        Assert.Equal(SentencePieceModelFile.PieceType.UserDefined, f.Pieces.Single(p => p.Text == "<|image|>").Type);
        Assert.Equal(256, f.Pieces.Count(p => p.Type == SentencePieceModelFile.PieceType.Byte));
    }

    /// <summary>Every proper prefix of the default model is refused (its last field is normalizer_spec, so no cut
    /// leaves a complete ModelProto), naming the file.</summary>
    [Fact]
    public void TruncatedFile_IsRefusedNamingTheFile()
    {
        var data = DefaultModelBytes();
        var rng = new Random(7);
        var cuts = Enumerable.Range(0, 300).Select(_ => rng.Next(0, data.Length)).Concat([0, 1, 2, data.Length - 1, 90993, 92297]);
        foreach (int cut in cuts)
        {
            var e = Assert.Throws<InvalidDataException>(() => SentencePieceModelFile.Parse(data.AsSpan(0, cut), "cut.model"));
            Assert.StartsWith("cut.model: damaged SentencePiece model", e.Message);
        }
        var half = Assert.Throws<InvalidDataException>(() => SentencePieceModelFile.Parse(data.AsSpan(0, 45_000), "cut.model"));
        Assert.Contains("ModelProto", half.Message);
        Assert.Contains("truncated", half.Message);
        var noNormalizer = Assert.Throws<InvalidDataException>(() => SentencePieceModelFile.Parse(data.AsSpan(0, 92297), "cut.model"));
        Assert.Contains("normalizer_spec (field 3)", noNormalizer.Message);

        string path = Path.Combine(Path.GetTempPath(), $"nanovlm_spm_{Environment.ProcessId}_truncated.model");
        File.WriteAllBytes(path, data[..50_000]);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => VlmTokenizer.FromSentencePiece(path));
            Assert.Contains(Path.GetFileName(path), e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void DamagedBytes_AreRefusedNamingTheField()
    {
        // Field 1 wire type 3 (a group): never in sentencepiece_model.proto.
        AssertDamaged([0x0B], "field 1", "wire type 3");
        // A varint tag of 11 bytes.
        AssertDamaged([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "longer than 10 bytes");
        // pieces[0].score sent as a varint.
        AssertDamaged(Model(Piece("<unk>", type: 2, scoreAsVarint: true)), "pieces[0]", "score (field 2)", "wire type 0");
        // pieces[0].type out of range.
        AssertDamaged(Model(Piece("<unk>", type: 9)), "pieces[0]", "type (field 3) is 9");
        // pieces[1].piece not UTF-8.
        AssertDamaged(Model(Piece("<unk>", type: 2), PieceBytes([0xC3, 0x28])), "pieces[1]", "not valid UTF-8");
        // An empty piece.
        AssertDamaged(Model(Piece("<unk>", type: 2), Piece("")), "pieces[1]", "missing or empty");
        // Not a model at all: a tokenizer.json.
        AssertDamaged(Encoding.UTF8.GetBytes("{\"model\": {}}"), "wire type");
    }

    [Fact]
    public void InvalidPieces_AreRefusedLikeSentencepieceDoes()
    {
        AssertInvalid(Model(Piece("a"), Piece("b")), "no piece has type UNKNOWN");
        AssertInvalid(Model(Piece("<unk>", type: 2), Piece("a"), Piece("a")), "pieces[2] 'a' is already defined (pieces[1])");
        AssertInvalid(Model(Piece("<unk>", type: 2), Piece("<unk2>", type: 2)), "second UNKNOWN");
        AssertInvalid(Model(Piece("<unk>", type: 2), Piece("<0x41>", type: 6)), "byte_fallback is false");
        AssertInvalid(Model(byteFallback: true, pieces: [Piece("<unk>", type: 2), Piece("<0x41>", type: 6)]), "no BYTE piece <0x00>");
        AssertInvalid(Model(byteFallback: true, pieces: [Piece("<unk>", type: 2), Piece("<0xzz>", type: 6)]), "not of the form <0xXX>");
    }

    [Fact]
    public void SmallBpeModel_MergesByScoreAndFallsBackToUnk()
    {
        // ab (score -1) beats bc (-2) wherever they are; equal scores merge leftmost first; "x" is not a piece -> unk,
        // a run of unknown pieces is one unk (no byte fallback).
        var model = SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(Model(addDummyPrefix: false, pieces:
            [Piece("<unk>", type: 2), Piece("a", -5), Piece("b", -5), Piece("c", -5), Piece("ab", -1), Piece("bc", -2), Piece("aa", -3)]), "small.model"))!;
        Assert.Equal([4, 3], Encode(model, "abc"));
        Assert.Equal([5, 4], Encode(model, "bcab"));
        Assert.Equal([6, 1], Encode(model, "aaa"));
        Assert.Equal([0, 4, 0], Encode(model, "xxabx"));
        Assert.Equal([0], Encode(model, "\ud800"));  // a lone surrogate is U+FFFD, not a piece
    }

    [Fact]
    public void UnigramAndCharsMapModels_StayOnMicrosoftMlTokenizers()
    {
        Assert.Null(SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(Model(kind: 1, pieces: [Piece("<unk>", type: 2), Piece("a")]), "uni.model")));
        Assert.Null(SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(Model(charsMap: [1, 2, 3, 4, 5], pieces: [Piece("<unk>", type: 2), Piece("a")]), "nfkc.model")));
        Assert.NotNull(SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(Model(pieces: [Piece("<unk>", type: 2), Piece("a")]), "bpe.model")));
    }

    private static int[] Encode(SentencePieceBpeModel model, string text)
    {
        using var sink = new PooledBuffer<int>(16);
        model.Encode(text, sink);
        return sink.Span.ToArray();
    }

    private static void AssertDamaged(byte[] data, params string[] parts)
    {
        var e = Assert.Throws<InvalidDataException>(() => SentencePieceModelFile.Parse(data, "bad.model"));
        Assert.StartsWith("bad.model: damaged SentencePiece model", e.Message);
        foreach (var part in parts) Assert.Contains(part, e.Message);
    }

    private static void AssertInvalid(byte[] data, string part)
    {
        var e = Assert.Throws<InvalidDataException>(() => SentencePieceBpeModel.TryCreate(SentencePieceModelFile.Parse(data, "bad.model")));
        Assert.StartsWith("bad.model: invalid SentencePiece model", e.Message);
        Assert.Contains(part, e.Message);
    }

    // --- a minimal ModelProto writer (sentencepiece_model.proto field numbers) ---

    private static byte[] Model(params byte[][] pieces) => Model(pieces, kind: 2);

    private static byte[] Model(byte[][] pieces, int kind = 2, bool byteFallback = false, bool addDummyPrefix = true, byte[]? charsMap = null)
    {
        var m = new List<byte>();
        foreach (var p in pieces) m.AddRange(Field(1, p));
        var trainer = new List<byte>();
        trainer.AddRange(VarintField(3, (ulong)kind));
        trainer.AddRange(VarintField(35, byteFallback ? 1UL : 0));
        m.AddRange(Field(2, [.. trainer]));
        var normalizer = new List<byte>();
        normalizer.AddRange(Field(1, Encoding.UTF8.GetBytes("identity")));
        if (charsMap is not null) normalizer.AddRange(Field(2, charsMap));
        normalizer.AddRange(VarintField(3, addDummyPrefix ? 1UL : 0));
        m.AddRange(Field(3, [.. normalizer]));
        return [.. m];
    }

    private static byte[] Piece(string text, float score = 0, int type = 1, bool scoreAsVarint = false)
    {
        var p = new List<byte>();
        p.AddRange(Field(1, Encoding.UTF8.GetBytes(text)));
        if (scoreAsVarint) p.AddRange(VarintField(2, 1));
        else
        {
            p.Add(2 << 3 | 5);
            p.AddRange(BitConverter.GetBytes(score));
        }
        p.AddRange(VarintField(3, (ulong)type));
        return [.. p];
    }

    private static byte[] PieceBytes(byte[] text) => [.. Field(1, text), .. VarintField(3, 1)];

    private static byte[] Field(int field, byte[] payload) => [.. Varint((ulong)(field << 3 | 2)), .. Varint((ulong)payload.Length), .. payload];

    private static byte[] VarintField(int field, ulong value) => [.. Varint((ulong)(field << 3)), .. Varint(value)];

    private static byte[] Varint(ulong v)
    {
        var b = new List<byte>();
        do
        {
            byte x = (byte)(v & 0x7F);
            v >>= 7;
            b.Add(v != 0 ? (byte)(x | 0x80) : x);
        } while (v != 0);
        return [.. b];
    }
}

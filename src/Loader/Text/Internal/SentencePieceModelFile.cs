namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// The parts of a SentencePiece <c>.model</c> file (a serialized <c>ModelProto</c> of sentencepiece's
/// <c>src/sentencepiece_model.proto</c>) that encoding needs: the pieces and the trainer and normalizer settings.
/// Field numbers are the proto's; unknown fields are skipped as protobuf does. A file that is not a well-formed
/// ModelProto, or that lacks <c>trainer_spec</c>/<c>normalizer_spec</c> (which spm_train always writes, after the
/// pieces: a file cut between pieces loses them), is an <see cref="InvalidDataException"/> naming the file and field.
/// </summary>
internal sealed class SentencePieceModelFile
{
    /// <summary><c>ModelProto.SentencePiece.Type</c>.</summary>
    public enum PieceType : byte
    {
        /// <summary>NORMAL = 1.</summary>
        Normal = 1,
        /// <summary>UNKNOWN = 2.</summary>
        Unknown = 2,
        /// <summary>CONTROL = 3.</summary>
        Control = 3,
        /// <summary>USER_DEFINED = 4.</summary>
        UserDefined = 4,
        /// <summary>UNUSED = 5.</summary>
        Unused = 5,
        /// <summary>BYTE = 6.</summary>
        Byte = 6,
    }

    /// <summary><c>TrainerSpec.ModelType</c>.</summary>
    public enum ModelKind
    {
        /// <summary>UNIGRAM = 1 (the proto's default).</summary>
        Unigram = 1,
        /// <summary>BPE = 2.</summary>
        Bpe = 2,
        /// <summary>WORD = 3.</summary>
        Word = 3,
        /// <summary>CHAR = 4.</summary>
        Char = 4,
    }

    /// <summary>One <c>ModelProto.SentencePiece</c>.</summary>
    public readonly record struct Piece(string Text, float Score, PieceType Type);

    /// <summary>The file's name, for error messages.</summary>
    public string Source { get; }

    /// <summary><c>ModelProto.pieces</c> (field 1); the index is the id.</summary>
    public Piece[] Pieces { get; private set; } = [];

    /// <summary><c>TrainerSpec.model_type</c> (field 3, default UNIGRAM).</summary>
    public ModelKind Kind { get; private set; } = ModelKind.Unigram;

    /// <summary><c>TrainerSpec.byte_fallback</c> (field 35, default false).</summary>
    public bool ByteFallback { get; private set; }

    /// <summary><c>TrainerSpec.treat_whitespace_as_suffix</c> (field 24, default false): the dummy ▁ goes at the end.</summary>
    public bool TreatWhitespaceAsSuffix { get; private set; }

    /// <summary><c>TrainerSpec.unk_piece</c> (field 45, default <c>&lt;unk&gt;</c>); the unknown id itself is the
    /// piece of type UNKNOWN, as sentencepiece's <c>ModelInterface::InitializePieces</c> finds it.</summary>
    public string UnkPiece { get; private set; } = "<unk>";

    /// <summary><c>NormalizerSpec.name</c> (field 1), e.g. <c>identity</c> or <c>nmt_nfkc</c>; informative only: the
    /// rules are in <see cref="PrecompiledCharsMapLength"/>'s blob.</summary>
    public string? NormalizerName { get; private set; }

    /// <summary>Length of <c>NormalizerSpec.precompiled_charsmap</c> (field 2); 0 = no character rules (identity).</summary>
    public int PrecompiledCharsMapLength { get; private set; }

    /// <summary><c>NormalizerSpec.add_dummy_prefix</c> (field 3, default true).</summary>
    public bool AddDummyPrefix { get; private set; } = true;

    /// <summary><c>NormalizerSpec.remove_extra_whitespaces</c> (field 4, default true).</summary>
    public bool RemoveExtraWhitespaces { get; private set; } = true;

    /// <summary><c>NormalizerSpec.escape_whitespaces</c> (field 5, default true).</summary>
    public bool EscapeWhitespaces { get; private set; } = true;

    private SentencePieceModelFile(string source) => Source = source;

    /// <summary>Parses a serialized ModelProto.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="source">The file's name, for error messages.</param>
    public static SentencePieceModelFile Parse(ReadOnlySpan<byte> data, string source)
    {
        if (data.IsEmpty) throw new InvalidDataException($"{source}: damaged SentencePiece model: the file is empty.");
        var file = new SentencePieceModelFile(source);
        var pieces = new List<Piece>();
        bool hasTrainer = false, hasNormalizer = false;
        var reader = new ProtoReader(data, 0, source, "ModelProto");
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1: // repeated SentencePiece pieces = 1
                    string name = $"pieces[{pieces.Count}]";
                    var body = reader.ReadLengthDelimited(name, field, wire, out int offset);
                    pieces.Add(ReadPiece(body, offset, source, "ModelProto." + name));
                    break;
                case 2: // optional TrainerSpec trainer_spec = 2 (a repeated occurrence merges: the last value of a field wins)
                    file.ReadTrainerSpec(reader.ReadLengthDelimited("trainer_spec", field, wire, out int trainerOffset), trainerOffset);
                    hasTrainer = true;
                    break;
                case 3: // optional NormalizerSpec normalizer_spec = 3
                    file.ReadNormalizerSpec(reader.ReadLengthDelimited("normalizer_spec", field, wire, out int normalizerOffset), normalizerOffset);
                    hasNormalizer = true;
                    break;
                default: // self_test_data = 4, denormalizer_spec = 5 (decoding only), unknown fields
                    reader.Skip(field, wire);
                    break;
            }
        }
        if (pieces.Count == 0)
            throw new InvalidDataException($"{source}: damaged SentencePiece model: ModelProto has no pieces (field 1).");
        if (!hasTrainer || !hasNormalizer)
            throw new InvalidDataException($"{source}: damaged SentencePiece model: ModelProto has no {(hasTrainer ? "normalizer_spec (field 3)" : "trainer_spec (field 2)")} " +
                $"after {pieces.Count} pieces; spm_train always writes it, so the file is probably truncated.");
        file.Pieces = [.. pieces];
        return file;
    }

    private static Piece ReadPiece(ReadOnlySpan<byte> body, int offset, string source, string message)
    {
        var r = new ProtoReader(body, offset, source, message);
        string? text = null;
        float score = 0;
        var type = PieceType.Normal;
        while (r.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1: text = r.ReadString("piece", field, wire); break;       // optional string piece = 1
                case 2: score = r.ReadFloat("score", field, wire); break;       // optional float score = 2
                case 3:                                                        // optional Type type = 3 [default = NORMAL]
                    int t = r.ReadInt32("type", field, wire);
                    if (t is < 1 or > 6) throw r.Fail($"type (field 3) is {t}, not a SentencePiece.Type (1..6)");
                    type = (PieceType)t;
                    break;
                default: r.Skip(field, wire); break;
            }
        }
        // sentencepiece's ModelInterface::InitializePieces: "piece must not be empty."
        if (string.IsNullOrEmpty(text)) throw r.Fail("piece (field 1) is missing or empty");
        return new Piece(text, score, type);
    }

    private void ReadTrainerSpec(ReadOnlySpan<byte> body, int offset)
    {
        var r = new ProtoReader(body, offset, Source, "ModelProto.trainer_spec");
        while (r.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 3: // optional ModelType model_type = 3 [default = UNIGRAM]
                    int kind = r.ReadInt32("model_type", field, wire);
                    if (kind is < 1 or > 4) throw r.Fail($"model_type (field 3) is {kind}, not a TrainerSpec.ModelType (1..4)");
                    Kind = (ModelKind)kind;
                    break;
                case 24: // optional bool treat_whitespace_as_suffix = 24 [default = false]
                    TreatWhitespaceAsSuffix = r.ReadBool("treat_whitespace_as_suffix", field, wire);
                    break;
                case 35: // optional bool byte_fallback = 35 [default = false]
                    ByteFallback = r.ReadBool("byte_fallback", field, wire);
                    break;
                case 45: // optional string unk_piece = 45 [default = "<unk>"]
                    UnkPiece = r.ReadString("unk_piece", field, wire);
                    break;
                default: r.Skip(field, wire); break;
            }
        }
    }

    private void ReadNormalizerSpec(ReadOnlySpan<byte> body, int offset)
    {
        var r = new ProtoReader(body, offset, Source, "ModelProto.normalizer_spec");
        while (r.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1: NormalizerName = r.ReadString("name", field, wire); break;                          // optional string name = 1
                case 2: PrecompiledCharsMapLength = r.ReadLengthDelimited("precompiled_charsmap", field, wire, out _).Length; break; // optional bytes precompiled_charsmap = 2
                case 3: AddDummyPrefix = r.ReadBool("add_dummy_prefix", field, wire); break;                 // [default = true]
                case 4: RemoveExtraWhitespaces = r.ReadBool("remove_extra_whitespaces", field, wire); break; // [default = true]
                case 5: EscapeWhitespaces = r.ReadBool("escape_whitespaces", field, wire); break;            // [default = true]
                default: r.Skip(field, wire); break;                                                         // normalization_rule_tsv = 6 (training only)
            }
        }
    }
}

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// A minimal protocol-buffers wire-format reader (varint, fixed32, fixed64 and length-delimited fields; groups are
/// refused) over one message's bytes. Every failure is an <see cref="InvalidDataException"/> naming the file, the
/// message and field being read and the absolute byte offset, so a truncated or damaged file says where it broke.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _baseOffset;
    private readonly string _source;
    private readonly string _message;
    private int _pos;

    /// <param name="data">The message's bytes.</param>
    /// <param name="baseOffset">Offset of <paramref name="data"/> in the file (for error messages).</param>
    /// <param name="source">The file, for error messages.</param>
    /// <param name="message">The message being read, e.g. <c>ModelProto.pieces[12]</c>.</param>
    public ProtoReader(ReadOnlySpan<byte> data, int baseOffset, string source, string message)
    {
        _data = data;
        _baseOffset = baseOffset;
        _source = source;
        _message = message;
    }

    /// <summary>Absolute file offset of the next byte.</summary>
    public readonly int Offset => _baseOffset + _pos;

    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    /// <summary>Reads the next field's tag; false at the end of the message.</summary>
    public bool TryReadTag(out int field, out int wireType)
    {
        if (_pos >= _data.Length)
        {
            field = wireType = 0;
            return false;
        }
        int at = Offset;
        ulong tag = ReadRawVarint("a field tag");
        field = (int)Math.Min(tag >> 3, int.MaxValue);
        wireType = (int)(tag & 7);
        if (field == 0)
            throw Fail($"field number 0 at byte {at} (not a protobuf message, or damaged)");
        if (wireType is 3 or 4 or 6 or 7)
            throw Fail($"field {field} at byte {at} has wire type {wireType}, which sentencepiece_model.proto never uses (damaged file)");
        return true;
    }

    /// <summary>Reads a varint field's value; <paramref name="name"/> and <paramref name="wireType"/> check the tag.</summary>
    public ulong ReadVarint(string name, int field, int wireType)
    {
        Expect(name, field, wireType, Varint);
        return ReadRawVarint(name);
    }

    /// <summary>Reads a bool field (any non-zero varint is true, as protobuf parses it).</summary>
    public bool ReadBool(string name, int field, int wireType) => ReadVarint(name, field, wireType) != 0;

    /// <summary>Reads an int32/enum field (a negative int32 is sign-extended to 64 bits on the wire).</summary>
    public int ReadInt32(string name, int field, int wireType) => unchecked((int)ReadVarint(name, field, wireType));

    /// <summary>Reads a <c>float</c> field (fixed32, little-endian IEEE 754).</summary>
    public float ReadFloat(string name, int field, int wireType)
    {
        Expect(name, field, wireType, Fixed32);
        var bytes = Take(4, name);
        return BitConverter.Int32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes));
    }

    /// <summary>Reads a length-delimited field (string, bytes or sub-message) and its absolute start offset.</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited(string name, int field, int wireType, out int offset)
    {
        Expect(name, field, wireType, LengthDelimited);
        ulong length = ReadRawVarint(name + " length");
        offset = Offset;
        if (length > (ulong)(_data.Length - _pos))
            throw Fail($"{name} (field {field}) at byte {offset} needs {length} bytes but the message has {_data.Length - _pos} left (truncated file?)");
        return Take((int)length, name);
    }

    /// <summary>Reads a UTF-8 string field; invalid UTF-8 is an error.</summary>
    public string ReadString(string name, int field, int wireType)
    {
        var bytes = ReadLengthDelimited(name, field, wireType, out int offset);
        try
        {
            return s_strictUtf8.GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw Fail($"{name} (field {field}) at byte {offset} is not valid UTF-8");
        }
    }

    private static readonly System.Text.UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Skips a field this reader does not need.</summary>
    public void Skip(int field, int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadRawVarint($"field {field}"); break;
            case Fixed64: Take(8, $"field {field}"); break;
            case Fixed32: Take(4, $"field {field}"); break;
            default: ReadLengthDelimited($"field {field}", field, wireType, out _); break;
        }
    }

    private void Expect(string name, int field, int wireType, int expected)
    {
        if (wireType != expected)
            throw Fail($"{name} (field {field}) at byte {Offset} has wire type {wireType}, expected {expected} (damaged file)");
    }

    private ulong ReadRawVarint(string name)
    {
        int at = Offset;
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_pos >= _data.Length)
                throw Fail($"{name} at byte {at} runs past the end of the message (truncated file?)");
            byte b = _data[_pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Fail($"{name} at byte {at} is a varint longer than 10 bytes (damaged file)");
    }

    private ReadOnlySpan<byte> Take(int count, string name)
    {
        if (count > _data.Length - _pos)
            throw Fail($"{name} at byte {Offset} needs {count} bytes but the message has {_data.Length - _pos} left (truncated file?)");
        var span = _data.Slice(_pos, count);
        _pos += count;
        return span;
    }

    public readonly InvalidDataException Fail(string what) =>
        new($"{_source}: damaged SentencePiece model: {_message}: {what}.");
}

using System.Buffers;
using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// A growable block of native memory that hands out <see cref="ReadOnlyMemory{T}"/> slices without allocating: the
/// image bytes of one row group, copied once out of Arrow's decoded pages. Reused from one row group to the next;
/// after it grows or is disposed, slices of the old block throw <see cref="ObjectDisposedException"/> when read
/// instead of reading freed memory.
/// </summary>
internal sealed class NativeByteBuffer : IDisposable
{
    private Block? _block;

    /// <summary>Bytes appended since the last <see cref="Clear"/>.</summary>
    public long Length { get; private set; }

    /// <summary>Forgets the contents (keeps the memory).</summary>
    public void Clear() => Length = 0;

    /// <summary>Appends <paramref name="bytes"/> and returns its offset.</summary>
    /// <exception cref="InvalidDataException">The contents would pass 2 GiB (a slice's length is an int).</exception>
    public unsafe long Append(ReadOnlySpan<byte> bytes)
    {
        var end = Length + bytes.Length;
        if (end > Array.MaxLength)
            throw new InvalidDataException($"more than {Array.MaxLength} bytes of images in one row group");
        if (_block is null || end > _block.Capacity) Grow(end);
        bytes.CopyTo(new Span<byte>(_block!.Pointer + Length, bytes.Length));
        var at = Length;
        Length = end;
        return at;
    }

    /// <summary>The bytes at <paramref name="offset"/>, valid until the next <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> Slice(long offset, int length) =>
        length == 0 ? ReadOnlyMemory<byte>.Empty : _block!.Memory.Slice((int)offset, length);

    private unsafe void Grow(long needed)
    {
        var capacity = (int)Math.Min(Array.MaxLength, Math.Max(needed, Math.Max(1 << 20, 2L * (_block?.Capacity ?? 0))));
        var next = new Block(capacity);
        if (_block is { } old)
        {
            new ReadOnlySpan<byte>(old.Pointer, (int)Length).CopyTo(new Span<byte>(next.Pointer, (int)Length));
            ((IDisposable)old).Dispose();
        }
        _block = next;
    }

    public void Dispose()
    {
        if (_block is IDisposable b) b.Dispose();
        _block = null;
    }

    /// <summary>The native block; its <see cref="MemoryManager{T}.Memory"/> slices are what rows hand on.</summary>
    private sealed unsafe class Block(int capacity) : MemoryManager<byte>
    {
        public byte* Pointer { get; private set; } = (byte*)NativeMemory.Alloc((nuint)capacity);

        public int Capacity { get; } = capacity;

        public override Span<byte> GetSpan()
        {
            ObjectDisposedException.ThrowIf(Pointer is null, this);
            return new Span<byte>(Pointer, Capacity);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ObjectDisposedException.ThrowIf(Pointer is null, this);
            return new MemoryHandle(Pointer + elementIndex);
        }

        public override void Unpin() { }

        protected override void Dispose(bool disposing)
        {
            if (Pointer is null) return;
            NativeMemory.Free(Pointer);
            Pointer = null;
        }
    }
}

using System.Buffers;

namespace NanoVlm.Loader.Images;

/// <summary>
/// An RGB8 interleaved (HWC, row-major, no row padding) image whose buffer is rented from
/// <see cref="ArrayPool{T}.Shared"/>; <see cref="Dispose"/> returns it. Not thread-safe; dispose exactly once and do
/// not use the pixels afterwards.
/// </summary>
public sealed class DecodedImage : IDisposable
{
    private byte[]? _buffer;

    internal DecodedImage(ImageHeader header, byte[] buffer)
    {
        Header = header;
        _buffer = buffer;
    }

    /// <summary>The probed header of the source image.</summary>
    public ImageHeader Header { get; }

    /// <summary>Width in pixels.</summary>
    public int Width => Header.Width;

    /// <summary>Height in pixels.</summary>
    public int Height => Header.Height;

    /// <summary>Bytes of pixel data: Width·Height·3.</summary>
    public int Length => (int)Header.Rgb8ByteCount;

    /// <summary>The RGB8 pixels (exactly <see cref="Length"/> bytes; the rented array may be longer).</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public Span<byte> Pixels => (_buffer ?? throw new ObjectDisposedException(nameof(DecodedImage))).AsSpan(0, Length);

    /// <summary>The RGB8 pixels as memory (valid until <see cref="Dispose"/>).</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public Memory<byte> Memory => (_buffer ?? throw new ObjectDisposedException(nameof(DecodedImage))).AsMemory(0, Length);

    /// <summary>Returns the buffer to the pool. Further calls do nothing.</summary>
    public void Dispose()
    {
        byte[]? b = Interlocked.Exchange(ref _buffer, null);
        if (b is not null) ArrayPool<byte>.Shared.Return(b);
    }
}

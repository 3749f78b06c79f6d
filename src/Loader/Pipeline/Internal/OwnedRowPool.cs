using System.Buffers;

namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The read stage's rows in flight and the arrays that hold their copies: rows are reused, and the image bytes and
/// texts go into arrays of pools that never drop what comes back (up to a generous count per size), so that a steady
/// state allocates nothing however many rows the planner's window holds. The shared
/// <see cref="ArrayPool{T}.Shared"/> keeps only a few dozen arrays of a size per core and drops the rest on return,
/// which a window of hundreds of images in flight overflows; and a reused row that kept its own arrays would grow
/// each of them separately.
/// </summary>
internal sealed class OwnedRowPool
{
    // Arrays above these sizes are allocated and dropped (rare; keeping them would hold memory for nothing).
    private const int MaxPooledImageBytes = 16 << 20, MaxPooledTextChars = 1 << 20;
    private const int ArraysPerSize = 1024;

    public ReusePool<OwnedRow> Rows { get; } = new();

    public ArrayPool<byte> ImageBytes { get; } = ArrayPool<byte>.Create(MaxPooledImageBytes, ArraysPerSize);

    public ArrayPool<char> Texts { get; } = ArrayPool<char>.Create(MaxPooledTextChars, ArraysPerSize);
}

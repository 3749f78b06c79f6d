using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Runtime;

/// <summary>
/// A CPU tensor that aliases managed memory without a copy: writes through <see cref="Span"/> are seen by
/// <see cref="Tensor"/> and the other way round. This is how loader batches (pinned slabs) reach TorchSharp.
/// </summary>
/// <typeparam name="T">Element type: float, double, Half, byte, sbyte, short, int, long or bool.</typeparam>
/// <remarks>
/// The tensor is created with <c>torch.frombuffer</c>, which pins the array with a GC handle that the native storage
/// frees only when its last tensor (views included) is gone, so the memory can never move or be collected under
/// libtorch. For arrays from the pinned object heap (<c>GC.AllocateUninitializedArray&lt;T&gt;(n, pinned: true)</c>) that
/// pin costs nothing. Pinned host memory is also what makes <c>tensor.to(cuda, non_blocking: true)</c> asynchronous.
/// Disposing releases the tensor and then the optional owner (e.g. a slab lease going back to its pool); views taken
/// from <see cref="Tensor"/> must not outlive it when an owner recycles the memory.
/// </remarks>
public sealed class PinnedTensor<T> : IDisposable where T : unmanaged
{
    private readonly T[] _array;
    private readonly int _offset;
    private readonly int _length;
    private readonly IDisposable? _owner;
    private Tensor? _tensor;

    private PinnedTensor(T[] array, int offset, long[] shape, IDisposable? owner)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentOutOfRangeException(nameof(shape), "Dimensions must be non-negative.");
            count = checked(count * d);
        }
        if (offset < 0 || offset > array.Length || count > array.Length - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Shape [{string.Join(", ", shape)}] at offset {offset} does not fit in an array of {array.Length} elements.");
        _array = array;
        _offset = offset;
        _length = (int)count;
        _owner = owner;
        Shape = (long[])shape.Clone();
        // frombuffer: 1-D tensor over `count` elements starting `offset` elements into the array (no copy).
        using Tensor flat = torch.frombuffer(array, ElementType, count, offset);
        _tensor = flat.view(Shape);
    }

    /// <summary>The libtorch dtype used for <typeparamref name="T"/>.</summary>
    public static ScalarType ElementType { get; } = ScalarTypeOf();

    private static ScalarType ScalarTypeOf()
    {
        Type t = typeof(T);
        if (t == typeof(float)) return ScalarType.Float32;
        if (t == typeof(double)) return ScalarType.Float64;
        if (t == typeof(Half)) return ScalarType.Float16;
        if (t == typeof(byte)) return ScalarType.Byte;
        if (t == typeof(sbyte)) return ScalarType.Int8;
        if (t == typeof(short)) return ScalarType.Int16;
        if (t == typeof(int)) return ScalarType.Int32;
        if (t == typeof(long)) return ScalarType.Int64;
        if (t == typeof(bool)) return ScalarType.Bool;
        throw new NotSupportedException($"No libtorch dtype for {t}.");
    }

    /// <summary>Allocates an uninitialized array on the pinned object heap and wraps it.</summary>
    /// <param name="shape">Tensor shape.</param>
    /// <returns>The tensor and its memory.</returns>
    public static PinnedTensor<T> Allocate(params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (long d in shape) count = checked(count * Math.Max(d, 0));
        if (count > System.Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(shape), "Too many elements for one array.");
        return new PinnedTensor<T>(GC.AllocateUninitializedArray<T>((int)count, pinned: true), 0, shape, null);
    }

    /// <summary>Wraps a whole array (ideally allocated pinned) as a tensor of the given shape.</summary>
    /// <param name="array">The memory; its length must be at least the product of <paramref name="shape"/>.</param>
    /// <param name="shape">Tensor shape.</param>
    /// <returns>The aliasing tensor.</returns>
    public static PinnedTensor<T> Wrap(T[] array, params long[] shape) => new(array, 0, shape, null);

    /// <summary>Wraps part of an array, e.g. one batch inside a larger pinned slab, and optionally takes ownership of a lease.</summary>
    /// <param name="array">The slab.</param>
    /// <param name="offset">First element, in elements.</param>
    /// <param name="shape">Tensor shape.</param>
    /// <param name="owner">Disposed after the tensor by <see cref="Dispose"/> (e.g. returns the slab to its pool); may be null.</param>
    /// <returns>The aliasing tensor.</returns>
    public static PinnedTensor<T> Wrap(T[] array, int offset, long[] shape, IDisposable? owner = null) => new(array, offset, shape, owner);

    /// <summary>Wraps array-backed memory (for example a slice of a pinned slab).</summary>
    /// <param name="memory">Memory whose backing store is a managed array.</param>
    /// <param name="shape">Tensor shape.</param>
    /// <param name="owner">Disposed after the tensor; may be null.</param>
    /// <returns>The aliasing tensor.</returns>
    /// <exception cref="NotSupportedException">The memory is not backed by an array.</exception>
    public static PinnedTensor<T> Wrap(Memory<T> memory, long[] shape, IDisposable? owner = null)
    {
        if (!MemoryMarshal.TryGetArray((ReadOnlyMemory<T>)memory, out ArraySegment<T> segment) || segment.Array is null)
            throw new NotSupportedException("Only array-backed memory can be aliased by TorchSharp (torch.frombuffer).");
        long count = 1;
        foreach (long d in shape) count = checked(count * d);
        if (count > segment.Count)
            throw new ArgumentOutOfRangeException(nameof(shape), $"Shape needs {count} elements, the memory has {segment.Count}.");
        return new PinnedTensor<T>(segment.Array, segment.Offset, shape, owner);
    }

    /// <summary>The tensor (on the CPU) that aliases <see cref="Span"/>.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public Tensor Tensor => _tensor ?? throw new ObjectDisposedException(nameof(PinnedTensor<T>));

    /// <summary>The aliased elements, in row-major order.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public Span<T> Span => _tensor is null ? throw new ObjectDisposedException(nameof(PinnedTensor<T>)) : _array.AsSpan(_offset, _length);

    /// <summary>The tensor's shape.</summary>
    public long[] Shape { get; }

    /// <summary>The array that backs the tensor.</summary>
    public T[] Array => _array;

    /// <summary>Element offset of the tensor's first element in <see cref="Array"/>.</summary>
    public int Offset => _offset;

    /// <summary>Releases the tensor, then the owner, if any.</summary>
    public void Dispose()
    {
        Tensor? t = Interlocked.Exchange(ref _tensor, null);
        if (t is null) return;
        t.Dispose();
        _owner?.Dispose();
    }
}

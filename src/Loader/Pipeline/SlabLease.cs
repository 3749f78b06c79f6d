using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Pipeline;

/// <summary>A leased slab of a <see cref="PinnedSlabPool"/>; dispose to return it (a second dispose is ignored).</summary>
public readonly struct SlabLease : IDisposable
{
    private readonly PinnedSlabPool? _pool;
    private readonly int _index;
    private readonly int _generation;

    internal SlabLease(PinnedSlabPool pool, int index, int generation)
    {
        _pool = pool;
        _index = index;
        _generation = generation;
    }

    /// <summary>True for a lease obtained from a pool (not <c>default</c>).</summary>
    public bool IsValid => _pool != null;

    /// <summary>Slab index inside its pool.</summary>
    public int Index => _index;

    /// <summary>The slab's bytes (aligned, pinned). Throws after the lease was returned.</summary>
    public Span<byte> Span => Memory.Span;

    /// <summary>The slab as <see cref="Memory{T}"/>.</summary>
    public Memory<byte> Memory
    {
        get
        {
            var p = _pool ?? throw new InvalidOperationException("Default SlabLease.");
            if (!p.IsCurrent(_index, _generation)) throw new ObjectDisposedException(nameof(SlabLease), "The slab was returned to its pool.");
            return p.ArrayOf(_index).AsMemory(p.OffsetOf(_index), p.SlabBytes);
        }
    }

    /// <summary>The pinned backing array (for page-locking) and the aligned offset of the slab in it.</summary>
    public (byte[] Array, int Offset) Backing => _pool is { } p ? (p.ArrayOf(_index), p.OffsetOf(_index)) : throw new InvalidOperationException("Default SlabLease.");

    /// <summary>Address of the slab's first byte (valid while leased; the array is pinned).</summary>
    public unsafe nint Address
    {
        get
        {
            var (a, o) = Backing;
            return Marshal.UnsafeAddrOfPinnedArrayElement(a, o);
        }
    }

    /// <summary>The slab reinterpreted as floats.</summary>
    public Span<float> AsFloats() => MemoryMarshal.Cast<byte, float>(Span);

    /// <summary>Returns the slab to its pool.</summary>
    public void Dispose() => _pool?.Return(_index, _generation);
}

using System.Runtime.InteropServices;

namespace NanoVlm.Loader.Pipeline;

/// <summary>
/// A bounded pool of a fixed number of pinned, aligned byte slabs of a fixed size. Rent with
/// <see cref="TryRent"/> (non-blocking), <see cref="Rent"/> (blocks) or <see cref="RentAsync"/> (waits asynchronously;
/// both cancellable: back-pressure);
/// disposing the <see cref="SlabLease"/> returns the slab. Thread-safe. <see cref="Outstanding"/> counts leases not
/// yet returned (leak detection); a stale or double return is ignored and counted in <see cref="StaleReturns"/>.
/// Slabs are pinned managed arrays (<see cref="GC.AllocateUninitializedArray{T}(int, bool)"/>), so a GPU backend
/// can page-lock them (ILGPU <c>CreatePageLockFromPinned</c>).
/// </summary>
public sealed class PinnedSlabPool : IDisposable
{
    private readonly byte[][] _arrays;
    private readonly int[] _offsets;
    private readonly int[] _generation;
    // A plain stack under a lock, not ConcurrentStack: its every push allocates a node.
    private readonly int[] _free;
    private int _freeCount;
    private readonly SemaphoreSlim _available;
    private int _outstanding;
    private long _staleReturns;
    private int _disposed;

    /// <summary>Creates <paramref name="slabCount"/> slabs of <paramref name="slabBytes"/> bytes aligned to <paramref name="alignment"/> (a power of two).</summary>
    public PinnedSlabPool(int slabCount, int slabBytes, int alignment = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slabCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slabBytes);
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Alignment must be a positive power of two.");
        if ((long)slabBytes + alignment > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(slabBytes), slabBytes, "Slab too large.");
        SlabCount = slabCount;
        SlabBytes = slabBytes;
        Alignment = alignment;
        _arrays = new byte[slabCount][];
        _offsets = new int[slabCount];
        _generation = new int[slabCount];
        _free = new int[slabCount];
        for (int i = slabCount - 1; i >= 0; i--)
        {
            var a = GC.AllocateUninitializedArray<byte>(slabBytes + alignment, pinned: true);
            nint addr = Marshal.UnsafeAddrOfPinnedArrayElement(a, 0);
            _offsets[i] = (int)((alignment - (addr & (alignment - 1))) & (alignment - 1));
            _arrays[i] = a;
            _free[_freeCount++] = i;
        }
        _available = new SemaphoreSlim(slabCount, slabCount);
    }

    /// <summary>Number of slabs.</summary>
    public int SlabCount { get; }

    /// <summary>Usable bytes per slab.</summary>
    public int SlabBytes { get; }

    /// <summary>Alignment of every slab's first byte.</summary>
    public int Alignment { get; }

    /// <summary>Leases handed out and not yet returned.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Slabs free right now.</summary>
    public int Available => _available.CurrentCount;

    /// <summary>Returns of leases that were already returned (double dispose of a copy) — a bug indicator.</summary>
    public long StaleReturns => Interlocked.Read(ref _staleReturns);

    /// <summary>Rents a slab if one is free now.</summary>
    public bool TryRent(out SlabLease lease)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_available.Wait(0))
        {
            lease = default;
            return false;
        }
        lease = Take();
        return true;
    }

    /// <summary>Rents a slab, blocking the calling thread until one is returned; honours <paramref name="cancellationToken"/>.
    /// Unlike <see cref="RentAsync"/>, a wait allocates nothing.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public SlabLease Rent(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_available.Wait(0)) _available.Wait(cancellationToken);
        return Take();
    }

    /// <summary>Rents a slab, waiting (asynchronously) until one is returned; honours <paramref name="cancellationToken"/>.</summary>
    public async ValueTask<SlabLease> RentAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_available.Wait(0))
            await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Take();
    }

    private SlabLease Take()
    {
        int idx;
        lock (_free)
        {
            if (_freeCount == 0) throw new InvalidOperationException("Slab pool invariant broken: semaphore granted but no free slab.");
            idx = _free[--_freeCount];
        }
        Interlocked.Increment(ref _outstanding);
        int gen = Volatile.Read(ref _generation[idx]);
        return new SlabLease(this, idx, gen);
    }

    internal void Return(int index, int generation)
    {
        if (Interlocked.CompareExchange(ref _generation[index], generation + 1, generation) != generation)
        {
            Interlocked.Increment(ref _staleReturns);
            return;
        }
        Interlocked.Decrement(ref _outstanding);
        lock (_free) _free[_freeCount++] = index;
        if (_disposed == 0) _available.Release();
    }

    internal bool IsCurrent(int index, int generation) => Volatile.Read(ref _generation[index]) == generation;

    internal byte[] ArrayOf(int index) => _arrays[index];

    internal int OffsetOf(int index) => _offsets[index];

    /// <summary>Marks the pool disposed; waiting renters are not woken by returns afterwards. Slab memory is freed by the GC
    /// once no lease references it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _available.Dispose();
    }
}

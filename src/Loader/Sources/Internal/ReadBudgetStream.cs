namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// A read-only seekable stream over a file that fails once more bytes were read than the current budget allows.
/// </summary>
/// <remarks>Why: a damaged page header can make a column reader seek backwards or loop over the same bytes (e.g. a
/// negative page size); the budget (set per column chunk from its recorded size) turns that into an error instead of
/// a hang. Reads past the end return 0 as usual, so truncation surfaces as the reader's own end-of-data error.</remarks>
internal sealed class ReadBudgetStream(Stream inner) : Stream
{
    private long _budget = long.MaxValue;

    /// <summary>Allows <paramref name="bytes"/> more bytes to be read from now on.</summary>
    public void SetBudget(long bytes) => _budget = bytes;

    /// <summary>Lifts the budget.</summary>
    public void ClearBudget() => _budget = long.MaxValue;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Spend(n);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Spend(n);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int ReadByte()
    {
        var b = inner.ReadByte();
        if (b >= 0) Spend(1);
        return b;
    }

    private void Spend(int n)
    {
        _budget -= n;
        if (_budget < 0)
            throw new IOException("the column chunk reader read more bytes than the chunk holds (damaged page header?)");
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => inner.Position + offset,
            _ => inner.Length + offset,
        };
        if (target < 0) throw new IOException($"seek to a negative offset ({target}): damaged offsets");
        return inner.Seek(target, SeekOrigin.Begin);
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

using NanoVlm.Loader.Pipeline;

namespace NanoVlm.Loader.Tests.Pipeline;

public class PinnedSlabPoolTests
{
    [Fact]
    public void Rent_return_and_exhaustion()
    {
        using var pool = new PinnedSlabPool(2, 1000, 64);
        Assert.True(pool.TryRent(out var a));
        Assert.True(pool.TryRent(out var b));
        Assert.False(pool.TryRent(out _));
        Assert.Equal(2, pool.Outstanding);
        Assert.Equal(1000, a.Span.Length);
        Assert.Equal(0, a.Address % 64);
        Assert.Equal(250, a.AsFloats().Length);
        a.Span.Fill(7);
        b.Span.Fill(9);
        Assert.All(a.Span.ToArray(), v => Assert.Equal(7, v));
        a.Dispose();
        Assert.Equal(1, pool.Outstanding);
        Assert.True(pool.TryRent(out var c));
        a.Dispose(); // stale: ignored, counted, does not return c's slab
        Assert.Equal(1, pool.StaleReturns);
        Assert.Equal(2, pool.Outstanding);
        Assert.Throws<ObjectDisposedException>(() => a.Span.Length);
        b.Dispose();
        c.Dispose();
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(2, pool.Available);
    }

    [Fact]
    public async Task RentAsync_waits_for_a_return_and_honours_cancellation()
    {
        using var pool = new PinnedSlabPool(1, 64);
        var first = await pool.RentAsync();
        var waiting = pool.RentAsync().AsTask();
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        using (var cts = new CancellationTokenSource(50))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pool.RentAsync(cts.Token));
        first.Dispose();
        using var second = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(second.IsValid);
        Assert.Equal(1, pool.Outstanding);
    }

    [Fact]
    public async Task Rent_blocks_until_a_return_and_honours_cancellation()
    {
        using var pool = new PinnedSlabPool(1, 64);
        var first = pool.Rent();
        var waiting = Task.Run(() => pool.Rent());
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        using (var cts = new CancellationTokenSource(50))
            Assert.ThrowsAny<OperationCanceledException>(() => pool.Rent(cts.Token));
        first.Dispose();
        using var second = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(second.IsValid);
        Assert.Equal(1, pool.Outstanding);
    }

    [Fact]
    public async Task Concurrent_renters_never_share_a_slab()
    {
        using var pool = new PinnedSlabPool(3, 16);
        int[] owners = new int[3];
        await Task.WhenAll(Enumerable.Range(1, 8).Select(id => Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                using var l = await pool.RentAsync();
                Assert.Equal(0, Interlocked.CompareExchange(ref owners[l.Index], id, 0));
                Thread.SpinWait(50);
                Assert.Equal(id, Interlocked.Exchange(ref owners[l.Index], 0));
            }
        })));
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(0, pool.StaleReturns);
    }
}

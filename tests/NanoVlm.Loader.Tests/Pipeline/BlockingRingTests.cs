using NanoVlm.Loader.Pipeline.Internal;

namespace NanoVlm.Loader.Tests.Pipeline;

/// <summary>The stage-to-stage queue: blocking reads and writes, and the asynchronous reader's wait.</summary>
public class BlockingRingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_blocked_writer_resumes_when_the_reader_takes_an_item()
    {
        using var cts = new CancellationTokenSource();
        var ring = new BlockingRing<string>(1, cts.Token);
        Assert.True(ring.TryWrite("a"));
        Assert.False(ring.TryWrite("b"));
        var writer = Task.Run(() => ring.Write("b"));
        await Task.Delay(50);
        Assert.False(writer.IsCompleted);
        Assert.True(ring.Read(out var first));
        Assert.Equal("a", first);
        await writer.WaitAsync(Patience);
        Assert.True(ring.TryRead(out var second));
        Assert.Equal("b", second);
    }

    [Fact]
    public async Task WaitToReadAsync_completes_on_a_write_and_then_on_completion()
    {
        using var cts = new CancellationTokenSource();
        var ring = new BlockingRing<string>(2, cts.Token);
        var wait = ring.WaitToReadAsync(default).AsTask();
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);
        ring.Write("x");
        Assert.True(await wait.WaitAsync(Patience));
        Assert.True(ring.TryRead(out var x));
        Assert.Equal("x", x);

        // The same source is reused for the next wait.
        wait = ring.WaitToReadAsync(default).AsTask();
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);
        ring.Complete();
        Assert.True(await wait.WaitAsync(Patience)); // woken: look again
        Assert.False(await ring.WaitToReadAsync(default)); // completed and empty
    }

    [Fact]
    public async Task WaitToReadAsync_hands_on_the_producers_failure_after_the_items()
    {
        using var cts = new CancellationTokenSource();
        var ring = new BlockingRing<string>(2, cts.Token);
        ring.Write("last");
        ring.Complete(new InvalidDataException("shard 3 is damaged"));
        Assert.True(await ring.WaitToReadAsync(default));
        Assert.True(ring.TryRead(out _));
        var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await ring.WaitToReadAsync(default));
        Assert.Contains("shard 3", e.Message);
    }

    [Fact]
    public async Task A_waiting_async_reader_wakes_when_its_token_or_the_run_is_cancelled()
    {
        using var run = new CancellationTokenSource();
        var ring = new BlockingRing<string>(1, run.Token);
        using (var caller = new CancellationTokenSource())
        {
            var wait = ring.WaitToReadAsync(caller.Token).AsTask();
            await Task.Delay(50);
            Assert.False(wait.IsCompleted);
            caller.Cancel();
            Assert.True(await wait.WaitAsync(Patience)); // woken; the caller sees its token cancelled
            Assert.False(ring.TryRead(out _));
        }

        var waiting = ring.WaitToReadAsync(default).AsTask();
        await Task.Delay(50);
        run.Cancel();
        await waiting.WaitAsync(Patience);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await ring.WaitToReadAsync(default));
        Assert.ThrowsAny<OperationCanceledException>(() => ring.Read(out _));
    }

    [Fact]
    public async Task Only_one_asynchronous_reader_may_wait()
    {
        using var cts = new CancellationTokenSource();
        var ring = new BlockingRing<string>(1, cts.Token);
        var first = ring.WaitToReadAsync(default).AsTask();
        Assert.Throws<InvalidOperationException>(() => ring.WaitToReadAsync(default));
        ring.Write("a");
        Assert.True(await first.WaitAsync(Patience));
    }
}

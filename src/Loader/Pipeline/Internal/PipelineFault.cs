namespace NanoVlm.Loader.Pipeline.Internal;

/// <summary>
/// The first failure of any stage: it cancels every stage and completes every output channel with the exception, so
/// the consumer's next read throws it instead of waiting forever.
/// </summary>
internal sealed class PipelineFault(CancellationTokenSource cts, BlockingRing<Batch>[] outputs)
{
    private Exception? _exception;

    /// <summary>The first failure; null while the run is healthy (or was only cancelled).</summary>
    public Exception? Exception => Volatile.Read(ref _exception);

    /// <summary>Records <paramref name="e"/> unless it is the cancellation the loader itself asked for.</summary>
    public void Report(Exception e)
    {
        if (e is OperationCanceledException && cts.IsCancellationRequested) return;
        if (Interlocked.CompareExchange(ref _exception, e, null) is null)
        {
            try { cts.Cancel(); } catch (ObjectDisposedException) { }
            foreach (var c in outputs) c.Complete(e);
        }
    }
}

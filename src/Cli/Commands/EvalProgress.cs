using NanoVlm.Engine;
using Spectre.Console;

// Namespace NanoVlm.Cli (not .Commands) so the commands can name it without a using.
namespace NanoVlm.Cli;

/// <summary>
/// Progress of <c>nanovlm eval</c> on stderr: on an interactive terminal a Spectre.Console bar per task (documents
/// done, documents/s, elapsed, time left), otherwise one plain line per generated chunk
/// (<c>[task] chunk c/n: d/t documents, s</c>) for logs.
/// </summary>
internal sealed class EvalProgress : IDisposable
{
    private readonly TextWriter _log;
    private readonly ProgressContext? _context;
    private readonly Task? _liveLoop;
    private readonly TaskCompletionSource _liveDone = new();
    private readonly Dictionary<string, ProgressTask> _bars = [];

    /// <summary>Starts the output.</summary>
    /// <param name="log">Where plain lines go (stderr).</param>
    /// <param name="live">Draw live bars instead of lines (stderr is an interactive terminal, output is not JSON).</param>
    public EvalProgress(TextWriter log, bool live)
    {
        _log = log;
        if (!live) return;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var started = new TaskCompletionSource<ProgressContext>();
        _liveLoop = console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(),
                new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                started.SetResult(ctx);
                await _liveDone.Task.ConfigureAwait(false);
            });
        _context = started.Task.GetAwaiter().GetResult();
    }

    /// <summary>Called by the evaluator after each chunk.</summary>
    public void OnChunk(EvalChunkProgress p)
    {
        if (_context is null)
        {
            _log.WriteLine($"[{p.Task}] chunk {p.Chunk}/{p.Chunks}: {p.Done}/{p.Total} documents, {p.Elapsed.TotalSeconds:F1} s");
            return;
        }
        if (!_bars.TryGetValue(p.Task, out var bar))
            _bars[p.Task] = bar = _context.AddTask(Markup.Escape(p.Task), maxValue: p.Total);
        bar.Value = p.Done;
        bar.Description = Markup.Escape($"{p.Task} {p.Done}/{p.Total} · {p.Done / Math.Max(1e-9, p.Elapsed.TotalSeconds):F2} docs/s");
        if (p.Done >= p.Total) bar.StopTask();
    }

    public void Dispose()
    {
        _liveDone.TrySetResult();
        _liveLoop?.GetAwaiter().GetResult();
    }
}

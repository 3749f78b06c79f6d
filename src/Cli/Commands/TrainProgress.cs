using NanoVlm.Engine.Training;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>The training progress lines: step, loss, learning rate, gradient norm, tokens/s, share of time waiting for
/// data, and the time left.</summary>
internal sealed class TrainProgress(TextWriter output, long maxSteps, int every)
{
    private double _lossSum;
    private int _n;
    private double _dataWait, _compute;

    public void Step(StepMetrics m)
    {
        _lossSum += m.Loss;
        _n++;
        _dataWait += m.DataLoadTime;
        _compute += m.FwBwTime;
        if (m.Step % Math.Max(1, every) != 0 && m.Step != maxSteps && m.Step != 1) return;
        double perStep = m.Elapsed / Math.Max(1, m.Step);
        var eta = TimeSpan.FromSeconds(perStep * Math.Max(0, maxSteps - m.Step));
        string lr = string.Join(" ", m.LearningRates.Select(kv => $"{kv.Key} {kv.Value:0.0e+0}"));
        output.WriteLine($"  step {m.Step,6}/{maxSteps}  loss {_lossSum / _n:F4}  grad_norm {m.GradNorm,7:F3}  lr [{lr}]  " +
            $"{m.TokensPerSecond,8:N0} tok/s  data wait {100 * _dataWait / Math.Max(1e-9, _dataWait + _compute),4:F1}%  ETA {eta:mm\\:ss}" +
            (m.WorldSize > 1 ? $"  [{m.WorldSize} ranks: all-reduce {1000 * m.AllReduceTime:F1} ms, tok/s per rank {string.Join('/', m.RankTokensPerSecond.Select(t => t.ToString("N0")))}]" : ""));
        _lossSum = 0;
        _n = 0;
        _dataWait = _compute = 0;
    }
}

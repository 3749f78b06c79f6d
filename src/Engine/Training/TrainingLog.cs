using System.Globalization;
using System.Text.Json;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Training;

/// <summary>
/// What a run records in its folder: <c>metrics.jsonl</c> (one JSON object per optimizer step and per validation) and
/// TensorBoard event files under <c>tensorboard/</c> with nanoVLM's scalar names (<c>batch_loss</c>, <c>val_loss</c>,
/// <c>grad_norm</c>, <c>lr_*</c>, <c>tokens_per_second</c>, <c>data_load_time</c>, <c>fw_bw_time</c>,
/// <c>images_per_sample</c>, <c>padding_ratio</c>).
/// </summary>
public sealed class TrainingLog : IDisposable
{
    private readonly StreamWriter _jsonl;
    private readonly SummaryWriter? _tensorboard;

    /// <summary>Opens (appends to) the logs of <paramref name="runDirectory"/>.</summary>
    /// <param name="runDirectory">The run folder.</param>
    /// <param name="tensorboard">Also write TensorBoard events.</param>
    public TrainingLog(string runDirectory, bool tensorboard = true)
    {
        Directory.CreateDirectory(runDirectory);
        _jsonl = new StreamWriter(Path.Combine(runDirectory, "metrics.jsonl"), append: true) { AutoFlush = true };
        if (tensorboard) _tensorboard = utils.tensorboard.SummaryWriter(Path.Combine(runDirectory, "tensorboard"));
    }

    /// <summary>Records a step.</summary>
    /// <param name="m">The step's metrics.</param>
    public void Write(StepMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var row = new Dictionary<string, object>
        {
            ["step"] = m.Step, ["loss"] = m.Loss, ["batch_loss"] = m.BatchLoss, ["grad_norm"] = m.GradNorm,
            ["tokens_per_second"] = m.TokensPerSecond, ["data_load_time"] = m.DataLoadTime, ["fw_bw_time"] = m.FwBwTime,
            ["images_per_sample"] = m.ImagesPerSample, ["padding_ratio"] = m.PaddingRatio, ["skipped"] = m.SkippedMicroBatches,
            ["elapsed"] = m.Elapsed,
        };
        foreach (var (group, lr) in m.LearningRates) row[$"lr_{group}"] = lr;
        if (m.WorldSize > 1)
        {
            row["world_size"] = m.WorldSize;
            row["all_reduce_time"] = m.AllReduceTime;
            row["all_reduce_bytes"] = m.AllReduceBytes;
            row["rank_tokens_per_second"] = m.RankTokensPerSecond;
        }
        _jsonl.WriteLine(JsonSerializer.Serialize(row));
        if (_tensorboard is null) return;
        int step = (int)m.Step;
        Scalar("batch_loss", m.BatchLoss, step);
        Scalar("grad_norm", m.GradNorm, step);
        foreach (var (group, lr) in m.LearningRates) Scalar($"lr_{group}", lr, step);
        Scalar("tokens_per_second", m.TokensPerSecond, step);
        Scalar("data_load_time", m.DataLoadTime, step);
        Scalar("fw_bw_time", m.FwBwTime, step);
        Scalar("images_per_sample", m.ImagesPerSample, step);
        Scalar("padding_ratio", m.PaddingRatio, step);
        if (m.WorldSize > 1) Scalar("all_reduce_time", m.AllReduceTime, step);
    }

    /// <summary>Records a validation.</summary>
    /// <param name="v">The result.</param>
    public void Write(ValidationResult v)
    {
        ArgumentNullException.ThrowIfNull(v);
        _jsonl.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{{\"step\":{v.Step},\"val_loss\":{JsonSerializer.Serialize(v.Loss)},\"val_batches\":{v.Batches}}}"));
        Scalar("val_loss", v.Loss, (int)v.Step);
    }

    /// <summary>Records benchmark results of the checkpoint at <paramref name="step"/> as train.py logs the merged
    /// lmms-eval file: each key once as <c>lmms_eval/&lt;key&gt;</c> against that step.</summary>
    /// <param name="step">The checkpoint's optimizer step.</param>
    /// <param name="results">Result keys (<c>&lt;task&gt;_&lt;metric&gt;</c>) and values.</param>
    public void WriteEvaluation(long step, IEnumerable<KeyValuePair<string, double>> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var row = new Dictionary<string, object> { ["step"] = step };
        foreach (var (key, value) in results)
        {
            row[$"lmms_eval/{key}"] = value;
            Scalar($"lmms_eval/{key}", value, (int)step);
        }
        _jsonl.WriteLine(JsonSerializer.Serialize(row));
    }

    /// <summary>Records a pass over the training set: per source, <c>train_eval/&lt;source&gt;/loss</c> and
    /// <c>train_eval/&lt;source&gt;/perplexity</c> (and <c>/tokens</c> in the JSONL), against the step; the source name is
    /// kept to letters, digits, <c>.</c>, <c>_</c> and <c>-</c> (anything else becomes <c>_</c>).</summary>
    /// <param name="e">The result.</param>
    public void Write(TrainSetEvaluation e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var row = new Dictionary<string, object> { ["step"] = e.Step, ["epoch"] = e.Epoch };
        foreach (var s in e.Sources)
        {
            string tag = $"train_eval/{TagName(s.Source)}";
            row[$"{tag}/loss"] = s.Loss;
            row[$"{tag}/perplexity"] = s.Perplexity;
            row[$"{tag}/tokens"] = s.Tokens;
            Scalar($"{tag}/loss", s.Loss, (int)e.Step);
            Scalar($"{tag}/perplexity", s.Perplexity, (int)e.Step);
        }
        _jsonl.WriteLine(JsonSerializer.Serialize(row));
    }

    /// <summary>A source name as it appears in metric names.</summary>
    /// <param name="source">The name.</param>
    /// <returns>Letters, digits, '.', '_' and '-' kept, anything else '_'.</returns>
    public static string TagName(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return string.Concat(source.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_'));
    }

    private void Scalar(string tag, double value, int step)
    {
        if (double.IsFinite(value)) _tensorboard?.add_scalar(tag, (float)value, step);
    }

    /// <inheritdoc/>
    public void Dispose() => _jsonl.Dispose(); // TorchSharp's SummaryWriter writes each event through and holds no handle

}

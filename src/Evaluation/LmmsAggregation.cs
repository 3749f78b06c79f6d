namespace NanoVlm.Evaluation;

/// <summary>
/// lmms-eval's generic aggregations (lmms_eval/api/metrics.py <c>mean</c> and <c>mean_stderr</c>), used by the tasks
/// whose yaml says <c>aggregation: mean</c> (TextVQA, DocVQA, InfoVQA, ChartQA, ScienceQA).
/// </summary>
public static class LmmsAggregation
{
    /// <summary><c>sum(arr) / len(arr)</c>: left-to-right double addition (CPython 3.11's <c>sum</c>), one division.</summary>
    /// <exception cref="ArgumentException">No scores (Python raises ZeroDivisionError).</exception>
    public static double Mean(IReadOnlyList<double> scores)
    {
        if (scores.Count == 0) throw new ArgumentException("cannot average zero scores", nameof(scores));
        double sum = 0;
        foreach (var s in scores) sum += s;
        return sum / scores.Count;
    }

    /// <summary>
    /// <c>mean_stderr</c> = sample standard deviation / √n, or null where lmms-eval reports <c>"N/A"</c> (one score),
    /// which nanoVLM's result files then leave out.
    /// </summary>
    public static double? MeanStderr(IReadOnlyList<double> scores)
    {
        if (scores.Count <= 1) return null;
        double mu = Mean(scores), sum = 0;
        foreach (var s in scores) sum += (s - mu) * (s - mu);
        return Math.Sqrt(sum / (scores.Count - 1)) / Math.Sqrt(scores.Count);
    }
}

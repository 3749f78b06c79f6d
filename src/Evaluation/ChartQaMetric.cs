using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>
/// ChartQA's relaxed accuracy as lmms-eval computes it (<c>relaxed_correctness</c> in lmms_eval/tasks/chartqa/utils.py
/// at 654bd6c7, from Qwen-VL). The task reports the <see cref="LmmsAggregation.Mean"/> over all questions
/// (<c>relaxed_overall</c>) and over the <c>human_test</c> / other (<c>augmented</c>) questions separately.
/// </summary>
public static class ChartQaMetric
{
    /// <summary>The largest relative error still counted as correct.</summary>
    public const double MaxRelativeChange = 0.05;

    /// <summary>
    /// True if both parse as numbers (Python's <c>float()</c>: "1e3", "inf", "1_000", surrounding whitespace and
    /// Unicode digits accepted; a trailing "%" — every trailing "%" — divides by 100) and the gold number is non-zero
    /// and |pred − gold| / |gold| ≤ 5 %; otherwise true iff the lower-cased strings are equal.
    /// </summary>
    public static bool RelaxedCorrect(string prediction, string target)
    {
        double? p = ToFloat(prediction), t = ToFloat(target);
        if (p is not null && t is { } tv && tv != 0)
            return Math.Abs(p.Value - tv) / Math.Abs(tv) <= MaxRelativeChange;
        return PyText.Lower(prediction) == PyText.Lower(target);
    }

    /// <summary>1.0 or 0.0 (<c>chartqa_process_results</c>).</summary>
    public static double Score(string prediction, string target) => RelaxedCorrect(prediction, target) ? 1.0 : 0.0;

    private static double? ToFloat(string text)
    {
        if (text.EndsWith('%'))
            return PyFloat.TryParse(text.TrimEnd('%'), out var v) ? v / 100.0 : null;
        return PyFloat.TryParse(text, out var w) ? w : null;
    }
}

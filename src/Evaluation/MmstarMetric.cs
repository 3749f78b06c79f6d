using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>One scored MMStar question, as <c>mmstar_process_results</c> records it.</summary>
/// <param name="Category">The document's <c>category</c> (one of <see cref="MmstarMetric.Categories"/>).</param>
/// <param name="L2Category">The document's <c>l2_category</c>: the unit the aggregation averages over.</param>
/// <param name="Score">1 or 0 from <see cref="MmstarMetric.Score"/>.</param>
public readonly record struct MmstarSample(string Category, string L2Category, double Score);

/// <summary>MMStar as lmms-eval scores it (lmms_eval/tasks/mmstar/utils.py at 654bd6c7).</summary>
public static class MmstarMetric
{
    /// <summary>The six category metrics, in the yaml's order; <c>average</c> follows them.</summary>
    public static IReadOnlyList<string> Categories { get; } =
        ["coarse perception", "fine-grained perception", "instance reasoning", "logical reasoning", "science & technology", "math"];

    /// <summary>The metric over every question.</summary>
    public const string Average = "average";

    /// <summary>
    /// <c>exact_match(pred, gt)</c> ("brought from MMStar"): after lower-casing, newlines to spaces and stripping both,
    /// 1 if the prediction's first character is the answer, or it starts with "(" / "option " / "the answer is " and
    /// the character after that is the answer; else 0 (also for an empty prediction). Characters are code points.
    /// </summary>
    public static double Score(string prediction, string answer)
    {
        string a = PyText.Strip(PyText.Lower(answer).Replace('\n', ' '));
        string p = PyText.Strip(PyText.Lower(prediction).Replace('\n', ' '));
        var cps = PyText.CodePoints(p);
        if (cps.Length == 0) return 0.0; // predict[0] raises IndexError: scored 0
        if (Is(a, cps[0])) return 1.0;
        if (cps[0] == '(') return cps.Length > 1 && Is(a, cps[1]) ? 1.0 : 0.0; // predict[1] may raise: 0 either way
        if (PyText.Prefix(p, 7) == "option " && Is(a, cps[7])) return 1.0;
        if (PyText.Prefix(p, 14) == "the answer is " && cps.Length > 14 && Is(a, cps[14])) return 1.0;
        return 0.0;
    }

    private static bool Is(string s, int cp) => s == (cp > 0xFFFF ? char.ConvertFromUtf32(cp) : ((char)cp).ToString());

    /// <summary>
    /// <c>mmstar_aggregate_results</c> for each metric: the questions of that category (all of them for
    /// <c>average</c>) are averaged per <c>l2_category</c>, and the metric is the unweighted mean of those averages.
    /// Metrics without questions are absent, as in lmms-eval; order: <see cref="Categories"/>, then <see cref="Average"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Aggregate(IEnumerable<MmstarSample> samples)
    {
        var all = samples.ToList();
        var result = new Dictionary<string, double>();
        foreach (var metric in Categories.Append(Average))
        {
            var items = metric == Average ? all : all.Where(s => s.Category == metric).ToList();
            if (items.Count > 0) result[metric] = L2Average(items);
        }
        return result;
    }

    private static double L2Average(List<MmstarSample> items)
    {
        var byL2 = new Dictionary<string, List<double>>(); // insertion-ordered, like the Python dict
        var order = new List<string>();
        foreach (var s in items)
        {
            if (!byL2.TryGetValue(s.L2Category, out var list))
            {
                byL2[s.L2Category] = list = [];
                order.Add(s.L2Category);
            }
            list.Add(s.Score);
        }
        double total = 0;
        foreach (var l2 in order)
        {
            double sum = 0;
            foreach (var x in byL2[l2]) sum += x;
            total += sum / byL2[l2].Count;
        }
        return total / order.Count;
    }
}

using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>One scored MME question for <see cref="MmeMetric.Aggregate"/>.</summary>
/// <param name="QuestionId">The document's <c>question_id</c> (the image): MME asks two questions per image.</param>
/// <param name="Category">The document's <c>category</c>.</param>
/// <param name="Score">1.0 or 0.0 from <see cref="MmeMetric.Score"/>.</param>
public readonly record struct MmeSample(string QuestionId, string Category, double Score);

/// <summary>MME as lmms-eval scores it (lmms_eval/tasks/mme/utils.py at 654bd6c7).</summary>
public static class MmeMetric
{
    /// <summary>The ten perception categories (summed into <see cref="PerceptionScore"/>, at most 2000).</summary>
    public static IReadOnlyList<string> PerceptionCategories { get; } =
        ["existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR"];

    /// <summary>The four cognition categories (summed into <see cref="CognitionScore"/>, at most 800).</summary>
    public static IReadOnlyList<string> CognitionCategories { get; } =
        ["commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning"];

    /// <summary>The metric over the perception categories.</summary>
    public const string PerceptionScore = "mme_perception_score";

    /// <summary>The metric over every other category.</summary>
    public const string CognitionScore = "mme_cognition_score";

    /// <summary>
    /// <c>parse_pred_ans</c> ("brought from Otter Eval"): lower-cased, stripped, periods removed; "yes"/"no" as
    /// they are; a single "y"/"n"; otherwise "yes" or "no" found in the first four characters (yes first); else "other".
    /// </summary>
    public static string ParsePrediction(string prediction)
    {
        string p = PyText.Strip(PyText.Lower(prediction)).Replace(".", "");
        if (p is "yes" or "no") return p;
        if (PyText.Length(p) == 1) return p == "y" ? "yes" : p == "n" ? "no" : "other";
        string prefix = PyText.Prefix(p, 4);
        if (prefix.Contains("yes", StringComparison.Ordinal)) return "yes";
        if (prefix.Contains("no", StringComparison.Ordinal)) return "no";
        return "other";
    }

    /// <summary>1.0 if the parsed prediction equals the gold answer (normalised the same way), else 0.0.</summary>
    /// <exception cref="ArgumentException">The gold answer is not yes/no (lmms-eval asserts).</exception>
    public static double Score(string prediction, string answer)
    {
        string gt = PyText.Strip(PyText.Lower(answer)).Replace(".", "");
        if (gt is not ("yes" or "no"))
            throw new ArgumentException($"MME answer '{answer}' is not yes or no", nameof(answer));
        return ParsePrediction(prediction) == gt ? 1.0 : 0.0;
    }

    /// <summary>The metric a category counts towards (any category that is not perception counts as cognition).</summary>
    public static string MetricOf(string category) => PerceptionCategories.Contains(category) ? PerceptionScore : CognitionScore;

    /// <summary>
    /// <c>mme_aggregate_results</c> for both metrics: per category, per image, acc = 100 × mean of its two scores and
    /// acc+ = 100 if both are right; the category score is the mean over its images of acc + acc+ (0–200); a metric
    /// is the sum of its categories' scores (in first-seen order). Metrics without questions are absent.
    /// </summary>
    /// <exception cref="ArgumentException">An image without exactly two questions (lmms-eval asserts).</exception>
    public static IReadOnlyDictionary<string, double> Aggregate(IEnumerable<MmeSample> samples)
    {
        var byMetric = new Dictionary<string, List<MmeSample>>();
        foreach (var s in samples)
        {
            var metric = MetricOf(s.Category);
            if (!byMetric.TryGetValue(metric, out var list)) byMetric[metric] = list = [];
            list.Add(s);
        }
        var result = new Dictionary<string, double>();
        foreach (var metric in new[] { PerceptionScore, CognitionScore })
            if (byMetric.TryGetValue(metric, out var items)) result[metric] = Total(items);
        return result;
    }

    private static double Total(List<MmeSample> items)
    {
        var categories = new List<string>();
        var byCategory = new Dictionary<string, (List<string> Order, Dictionary<string, List<double>> Scores)>();
        foreach (var s in items)
        {
            if (!byCategory.TryGetValue(s.Category, out var c))
            {
                byCategory[s.Category] = c = ([], []);
                categories.Add(s.Category);
            }
            if (!c.Scores.TryGetValue(s.QuestionId, out var scores))
            {
                c.Scores[s.QuestionId] = scores = [];
                c.Order.Add(s.QuestionId);
            }
            scores.Add(s.Score);
        }
        double total = 0;
        foreach (var category in categories)
        {
            var (order, scores) = byCategory[category];
            double categoryTotal = 0;
            foreach (var q in order)
            {
                var s = scores[q];
                if (s.Count != 2)
                    throw new ArgumentException($"MME image '{q}' in category '{category}' has {s.Count} questions; MME scores pairs");
                double sum = s[0] + s[1];
                double acc = sum / 2 * 100.0;
                double accPlus = sum == 2 ? 100.0 : 0.0;
                categoryTotal += accPlus + acc;
            }
            total += categoryTotal / order.Count;
        }
        return total;
    }
}

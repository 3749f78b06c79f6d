using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>
/// Average Normalized Levenshtein Similarity as lmms-eval computes it for DocVQA and InfoVQA (<c>anls</c> in
/// lmms_eval/api/metrics.py at 654bd6c7, from Qwen-VL's infographicsvqa_eval.py); the task number is the
/// <see cref="LmmsAggregation.Mean"/> of the per-question scores.
/// </summary>
public static class AnlsMetric
{
    /// <summary>Scores below this are 0.</summary>
    public const double Threshold = 0.5;

    /// <summary>
    /// For each gold answer: the Levenshtein distance (in code points) between the answer and the prediction, both
    /// stripped, lower-cased and with whitespace runs collapsed to one space, divided by the longer of the two
    /// <em>raw</em> strings measured in code points after <c>upper()</c> (so "ß" counts 2); 0 if both are empty.
    /// Score = 1 − the smallest of those, or 0 when that is below <see cref="Threshold"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No gold answers.</exception>
    public static double Score(string prediction, IReadOnlyList<string> answers)
    {
        if (answers.Count == 0) throw new ArgumentException("ANLS needs at least one gold answer", nameof(answers));
        var det = PyText.CodePoints(PyText.CollapseSpaces(PyText.Lower(PyText.Strip(prediction))));
        int predLength = PyText.Length(PyText.Upper(prediction));
        double min = double.PositiveInfinity;
        foreach (var answer in answers)
        {
            var gt = PyText.CodePoints(PyText.CollapseSpaces(PyText.Lower(PyText.Strip(answer))));
            int dist = Levenshtein(gt, det);
            int length = Math.Max(PyText.Length(PyText.Upper(answer)), predLength);
            min = Math.Min(min, length == 0 ? 0.0 : (double)dist / length);
        }
        double result = 1 - min;
        return result < Threshold ? 0 : result;
    }

    /// <summary>Edit distance (insert, delete, substitute; cost 1 each) between two code-point sequences.</summary>
    internal static int Levenshtein(int[] a, int[] b)
    {
        if (a.Length > b.Length) (a, b) = (b, a);
        var prev = new int[a.Length + 1];
        var cur = new int[a.Length + 1];
        for (int i = 0; i <= a.Length; i++) prev[i] = i;
        for (int j = 0; j < b.Length; j++)
        {
            cur[0] = j + 1;
            for (int i = 0; i < a.Length; i++)
                cur[i + 1] = a[i] == b[j] ? prev[i] : 1 + Math.Min(Math.Min(prev[i], prev[i + 1]), cur[i]);
            (prev, cur) = (cur, prev);
        }
        return prev[a.Length];
    }
}

using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>ScienceQA's exact match as lmms-eval computes it (<c>sqa_process_results</c>, lmms_eval/tasks/scienceqa/utils.py at 654bd6c7).</summary>
public static class ScienceQaMetric
{
    /// <summary>
    /// 1.0 if the stripped prediction, lower-cased, is the answer's letter ("A" for index 0), or if it looks like
    /// "X. …" with X upper case and X lower-cased is the letter ("how llava parses it"); else 0.0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The answer index is not one of the choices.</exception>
    public static double Score(string prediction, int answerIndex, int choiceCount)
    {
        if (answerIndex < 0 || answerIndex >= choiceCount)
            throw new ArgumentOutOfRangeException(nameof(answerIndex), answerIndex, $"ScienceQA answer index is not one of the {choiceCount} choices");
        string target = ((char)('a' + answerIndex)).ToString();
        string pred = PyText.Strip(prediction);
        if (PyText.Lower(pred) == target) return 1.0;
        var cps = PyText.CodePoints(pred);
        if (cps.Length >= 2 && PyText.IsUpper(cps[0]) && cps[1] == '.')
            return PyText.Lower(char.ConvertFromUtf32(cps[0])) == target ? 1.0 : 0.0;
        return 0.0;
    }
}

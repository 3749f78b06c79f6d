using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>One scored OCRBench question for <see cref="OcrBenchMetric.Aggregate"/>.</summary>
/// <param name="QuestionType">The document's <c>question_type</c> (one of <see cref="OcrBenchMetric.QuestionTypes"/>).</param>
/// <param name="Score">1 or 0 from <see cref="OcrBenchMetric.Score"/>.</param>
public readonly record struct OcrBenchSample(string QuestionType, int Score);

/// <summary>OCRBench as lmms-eval scores it (<c>ocrbench_accuracy</c>; lmms_eval/tasks/ocrbench/utils.py at 654bd6c7).</summary>
public static class OcrBenchMetric
{
    /// <summary>The ten question types whose counts make up the final score.</summary>
    public static IReadOnlyList<string> QuestionTypes { get; } =
    [
        "Regular Text Recognition", "Irregular Text Recognition", "Artistic Text Recognition", "Handwriting Recognition",
        "Digit String Recognition", "Non-Semantic Text Recognition", "Scene Text-centric VQA", "Doc-oriented VQA",
        "Key Information Extraction", "Handwritten Mathematical Expression Recognition",
    ];

    /// <summary>
    /// <c>ocrbench_process_results</c>: 1 if any gold answer is a substring of the prediction, else 0. Both are
    /// lower-cased, stripped and have newlines turned into spaces; for the HME100k data set (maths expressions) all
    /// spaces are removed instead and the gold answer keeps its case (the prediction is still lower-cased).
    /// </summary>
    /// <param name="prediction">The model's (stripped) answer.</param>
    /// <param name="answers">The gold answer(s) (the data set has a string or a list of strings).</param>
    /// <param name="dataset">The document's <c>dataset</c> field.</param>
    public static int Score(string prediction, IReadOnlyList<string> answers, string dataset)
    {
        string pred = PyText.Strip(PyText.Lower(prediction));
        int score = 0;
        foreach (var gt in answers)
        {
            string answer, predict;
            if (dataset == "HME100k")
            {
                answer = PyText.Strip(gt).Replace('\n', ' ').Replace(" ", "");
                predict = PyText.Strip(pred).Replace('\n', ' ').Replace(" ", "");
            }
            else
            {
                answer = PyText.Strip(PyText.Lower(gt)).Replace('\n', ' ');
                predict = PyText.Strip(PyText.Lower(pred)).Replace('\n', ' ');
            }
            if (predict.Contains(answer, StringComparison.Ordinal)) score = 1;
        }
        return score;
    }

    /// <summary>
    /// <c>ocrbench_aggregate_accuracy</c>: the number of correct answers over the ten question types, divided by 1000
    /// (OCRBench's size) whatever the number of questions scored.
    /// </summary>
    /// <exception cref="ArgumentException">A question type outside <see cref="QuestionTypes"/> (lmms-eval: KeyError).</exception>
    public static double Aggregate(IEnumerable<OcrBenchSample> samples)
    {
        long total = 0;
        foreach (var s in samples)
        {
            if (!QuestionTypes.Contains(s.QuestionType))
                throw new ArgumentException($"OCRBench question_type '{s.QuestionType}' is not one of the ten OCRBench types", nameof(samples));
            total += s.Score;
        }
        return total / 1000.0;
    }
}

using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>
/// TextVQA's VQA accuracy as lmms-eval computes it (<c>exact_match</c> of <c>textvqa_process_results</c>,
/// lmms_eval/tasks/textvqa/utils.py at 654bd6c7); the task number is the <see cref="LmmsAggregation.Mean"/>.
/// </summary>
public static class VqaAccuracyMetric
{
    /// <summary>
    /// Prediction and gold answers normalised by <see cref="EvalAiAnswerProcessor.Process"/>; for each gold answer i,
    /// min(1, (number of the <em>other</em> gold answers equal to the prediction) / 3); the score is the exact mean
    /// of those (Python's <c>statistics.mean</c>: exact sum, one rounding). No gold answers: 0.
    /// </summary>
    public static double Score(string prediction, IReadOnlyList<string> answers)
    {
        if (answers.Count == 0) return 0;
        string pred = EvalAiAnswerProcessor.Process(prediction);
        var gts = answers.Select(EvalAiAnswerProcessor.Process).ToArray();
        var accs = new double[gts.Length];
        for (int i = 0; i < gts.Length; i++)
        {
            int matching = 0;
            for (int j = 0; j < gts.Length; j++)
                if (j != i && gts[j] == pred) matching++;
            accs[i] = Math.Min(1, matching / 3.0);
        }
        return ExactMean.Of(accs);
    }
}

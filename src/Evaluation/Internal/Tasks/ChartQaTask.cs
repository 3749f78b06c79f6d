namespace NanoVlm.Evaluation.Internal.Tasks;

/// <summary>lmms_eval/tasks/chartqa (lmms-lab/ChartQA, split test).</summary>
internal sealed class ChartQaTask() : EvalTask("chartqa", 16)
{
    public override string DocToText(EvalDocument doc) => doc.GetString("question") + "\nAnswer the question with a single word.";

    private protected override IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed)
    {
        List<double> all = [], human = [], augmented = [];
        for (int i = 0; i < docs.Count; i++)
        {
            double score = ChartQaMetric.Score(predictions[i], docs[i].GetString("answer"));
            all.Add(score);
            (docs[i].GetString("type") == "human_test" ? human : augmented).Add(score);
        }
        var result = new Dictionary<string, double>();
        AddMean(result, "relaxed_overall", all);
        AddMean(result, "relaxed_human_split", human);
        AddMean(result, "relaxed_augmented_split", augmented);
        return result;
    }
}

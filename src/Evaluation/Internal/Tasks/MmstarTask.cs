namespace NanoVlm.Evaluation.Internal.Tasks;

/// <summary>lmms_eval/tasks/mmstar (Lin-Chen/MMStar, split val).</summary>
internal sealed class MmstarTask() : EvalTask("mmstar", 50)
{
    public override string DocToText(EvalDocument doc) =>
        QuestionWithPostPrompt(doc, "\nAnswer with the option's letter from the given choices directly");

    private protected override IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed) =>
        MmstarMetric.Aggregate(docs.Select((d, i) =>
            new MmstarSample(d.GetString("category"), d.GetString("l2_category"), MmstarMetric.Score(predictions[i], d.GetString("answer")))));
}

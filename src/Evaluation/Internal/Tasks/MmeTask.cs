namespace NanoVlm.Evaluation.Internal.Tasks;

/// <summary>lmms_eval/tasks/mme (lmms-lab/MME, split test).</summary>
internal sealed class MmeTask() : EvalTask("mme", 16)
{
    public override string DocToText(EvalDocument doc) =>
        QuestionWithPostPrompt(doc, "\nAnswer the question using a single word or phrase.");

    private protected override IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed) =>
        MmeMetric.Aggregate(docs.Select((d, i) =>
            new MmeSample(d.GetString("question_id"), d.GetString("category"), MmeMetric.Score(predictions[i], d.GetString("answer")))));
}

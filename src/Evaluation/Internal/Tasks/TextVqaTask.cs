namespace NanoVlm.Evaluation.Internal.Tasks;

/// <summary>lmms_eval/tasks/textvqa, textvqa_val (lmms-lab/textvqa, split validation).</summary>
internal sealed class TextVqaTask() : EvalTask("textvqa_val", 50)
{
    public override string DocToText(EvalDocument doc) =>
        PyText.Capitalize(doc.GetString("question")) + "\nAnswer the question using a single word or phrase.";

    private protected override IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed)
    {
        // textvqa_process_results: no (or null) answers scores 0
        var scores = docs.Select((d, i) => d.HasValue("answers") ? VqaAccuracyMetric.Score(predictions[i], d.GetStrings("answers")) : 0.0).ToList();
        var result = new Dictionary<string, double>();
        AddMean(result, "exact_match", scores);
        return result;
    }
}

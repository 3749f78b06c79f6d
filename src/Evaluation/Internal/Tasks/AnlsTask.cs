namespace NanoVlm.Evaluation.Internal.Tasks;

/// <summary>lmms_eval/tasks/docvqa (docvqa_val) and infovqa (infovqa_val): lmms-lab/DocVQA, split validation.</summary>
internal sealed class AnlsTask(string name) : EvalTask(name, 32)
{
    public override string DocToText(EvalDocument doc) =>
        doc.GetString("question") + "\nAnswer the question using a single word or phrase.";

    private protected override IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed)
    {
        var result = new Dictionary<string, double>();
        AddMean(result, "anls", docs.Select((d, i) => AnlsMetric.Score(predictions[i], d.GetStrings("answers"))).ToList());
        return result;
    }
}

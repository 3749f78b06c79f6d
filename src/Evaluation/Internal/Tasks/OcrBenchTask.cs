namespace NanoVlm.Evaluation.Internal.Tasks;

/// <summary>lmms_eval/tasks/ocrbench (echo840/OCRBench, split test).</summary>
internal sealed class OcrBenchTask() : EvalTask("ocrbench", 128)
{
    public override string DocToText(EvalDocument doc) => PyText.Strip(doc.GetString("question"));

    private protected override IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed) =>
        new Dictionary<string, double>
        {
            ["ocrbench_accuracy"] = OcrBenchMetric.Aggregate(docs.Select((d, i) => new OcrBenchSample(
                d.GetString("question_type"), OcrBenchMetric.Score(predictions[i], d.GetStrings("answer"), d.GetString("dataset"))))),
        };
}

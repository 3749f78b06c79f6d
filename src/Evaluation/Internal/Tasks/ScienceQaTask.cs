namespace NanoVlm.Evaluation.Internal.Tasks;

/// <summary>lmms_eval/tasks/scienceqa: scienceqa (ScienceQA-FULL) and scienceqa_img (ScienceQA-IMG), split test.</summary>
internal sealed class ScienceQaTask(string name) : EvalTask(name, 16)
{
    public override string DocToText(EvalDocument doc)
    {
        // sqa_doc_to_text: a non-empty hint becomes "Context: …\n"; an empty one adds nothing (a null one would print
        // "None", as the f-string does).
        string? hint = doc.GetStringOrNull("hint");
        string context = hint is null ? "None" : hint.Length > 0 ? $"Context: {hint}\n" : "";
        var choices = doc.GetStrings("choices");
        string choicesText = string.Join("\n", choices.Select((c, i) => $"{(char)('A' + i)}. {c}"));
        return $"{context}{doc.GetString("question")}\n{choicesText}\nAnswer with the option's letter from the given choices directly.";
    }

    public override IReadOnlyList<string> ImageColumns(EvalDocument doc) => doc.HasValue("image") ? ["image"] : [];

    private protected override IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed)
    {
        var result = new Dictionary<string, double>();
        AddMean(result, "exact_match", docs.Select((d, i) =>
            ScienceQaMetric.Score(predictions[i], (int)d.GetInt64("answer"), d.GetStrings("choices").Count)).ToList());
        return result;
    }
}

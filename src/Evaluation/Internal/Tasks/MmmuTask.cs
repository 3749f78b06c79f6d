using System.Text.RegularExpressions;

namespace NanoVlm.Evaluation.Internal.Tasks;

/// <summary>lmms_eval/tasks/mmmu, mmmu_val (lmms-lab/MMMU, split validation).</summary>
internal sealed class MmmuTask(string name) : EvalTask(name, 16)
{
    private const string MultipleChoicePrompt = "Answer with the option's letter from the given choices directly.";
    private const string OpenPrompt = "Answer the question using a single word or phrase.";
    private static readonly Regex ImageToken = new(@"<image \d+>", RegexOptions.CultureInvariant);

    public override string DocToText(EvalDocument doc) => ConstructPrompt(doc, MultipleChoicePrompt, OpenPrompt);

    // construct_prompt: the multiple-choice options as "A. …" lines; the doc's options column is a Python list repr.
    private static string ConstructPrompt(EvalDocument doc, string mcPrompt, string openPrompt)
    {
        string question = doc.GetString("question");
        if (doc.GetString("question_type") != "multiple-choice") return $"{question}\n\n{openPrompt}";
        var options = Options(doc);
        string parsed = string.Join("\n", options.Select((o, i) => $"{(char)('A' + i)}. {o}"));
        return $"{question}\n{parsed}\n\n{mcPrompt}";
    }

    // The lmms-lab parquet stores the list's Python repr (lmms-eval: ast.literal_eval); a real list is taken as is.
    private static IReadOnlyList<string> Options(EvalDocument doc)
    {
        if (doc.Raw("options") is not string text) return doc.GetStrings("options");
        try
        {
            return PyLiteral.ParseStringList(text, $"{doc.Source}: column 'options'");
        }
        catch (FormatException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    // mmmu_doc_to_visual: the <image k> tokens of the prompt (with empty pre/post prompts), deduplicated and sorted
    // as strings, as column names image_k.
    public override IReadOnlyList<string> ImageColumns(EvalDocument doc) =>
        ImageToken.Matches(ConstructPrompt(doc, "", ""))
            .Select(m => m.Value.Trim('<', '>').Replace(' ', '_'))
            .Distinct().Order(StringComparer.Ordinal).ToList();

    private protected override IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed)
    {
        var fallback = MmmuMetric.PythonRandomChoice(randomSeed);
        var samples = new List<MmmuSample>(docs.Count);
        for (int i = 0; i < docs.Count; i++)
        {
            var d = docs[i];
            string answer = d.GetString("answer");
            bool correct = d.GetString("question_type") == "multiple-choice"
                ? MmmuMetric.ScoreMultipleChoice(MmmuMetric.ParseMultipleChoice(predictions[i], Options(d), fallback), answer)
                : MmmuMetric.ScoreOpen(predictions[i], answer);
            samples.Add(new MmmuSample(MmmuMetric.SubjectOf(d.GetString("id")), correct));
        }
        return new Dictionary<string, double> { ["mmmu_acc"] = MmmuMetric.Aggregate(samples) };
    }
}

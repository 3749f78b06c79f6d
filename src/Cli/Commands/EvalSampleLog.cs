using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Evaluation;

// Namespace NanoVlm.Cli (not .Commands) so the commands can name it without a using.
namespace NanoVlm.Cli;

/// <summary>One evaluated document of <c>nanovlm eval --log-samples</c>.</summary>
/// <param name="Task">The task (or the own data file's name).</param>
/// <param name="Index">0-based document index in the task's input order.</param>
/// <param name="Source">Where the document came from (file and row / line).</param>
/// <param name="Context">The question as the task states it (lmms-eval's <c>doc_to_text</c>; the question for own data).</param>
/// <param name="Prompt">The full prompt the model was given (chat template, image placeholder strings, formatting).</param>
/// <param name="Prediction">The decoded answer, unstripped.</param>
/// <param name="References">The document's reference answer(s) as stored.</param>
/// <param name="Scores">The task's metrics computed over this document alone.</param>
internal sealed record EvalSample(string Task, int Index, string Source, string Context, string Prompt, string Prediction,
    object? References, IReadOnlyDictionary<string, double> Scores);

/// <summary>
/// <c>--log-samples</c> (lmms-eval's <c>--log_samples</c>, in this project's own format): one JSON object per document,
/// per line, in <c>{part without .json}.samples.jsonl</c> beside the result part, so the part's merge
/// (<c>step_{N}_*.json</c>) never picks it up. Keys: <c>task</c>, <c>index</c>, <c>source</c>, <c>context</c>,
/// <c>prompt</c>, <c>prediction</c>, <c>references</c>, <c>scores</c> (see <see cref="EvalSample"/>).
/// </summary>
internal static class EvalSampleLog
{
    private static readonly JsonSerializerOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The samples file beside <paramref name="partPath"/>.</summary>
    public static string PathFor(string partPath) => Path.ChangeExtension(partPath, null) + ".samples.jsonl";

    /// <summary>Writes the samples (replacing an older file).</summary>
    public static void Write(string path, IEnumerable<EvalSample> samples)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        foreach (var s in samples)
            writer.WriteLine(JsonSerializer.Serialize(new
            {
                task = s.Task, index = s.Index, source = s.Source, context = s.Context, prompt = s.Prompt,
                prediction = s.Prediction, references = s.References, scores = s.Scores,
            }, Options));
    }

    /// <summary>A benchmark task's samples: prompts rebuilt by the evaluator, each document scored alone.</summary>
    public static IEnumerable<EvalSample> ForTask(Evaluator evaluator, EvalTask task, IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> answers) =>
        docs.Select((doc, i) => new EvalSample(task.Name, i, doc.Source, task.DocToText(doc), evaluator.PromptText(task, doc), answers[i],
            References(doc), task.Score([doc], [answers[i]])));

    /// <summary>Own data's samples.</summary>
    public static IEnumerable<EvalSample> ForQuestions(Evaluator evaluator, string name, string metric, IReadOnlyList<string> sources,
        IReadOnlyList<EvalQuestion> questions, IReadOnlyList<IReadOnlyList<string>> references, IReadOnlyList<string> answers) =>
        questions.Select((q, i) => new EvalSample(name, i, sources[i], q.Question, evaluator.PromptText(name, q), answers[i],
            references[i], CustomEvalSet.Score(metric, [answers[i]], [references[i]])));

    // The reference columns of the benchmark layouts: "answers" (VQA-style lists) or "answer".
    private static object? References(EvalDocument doc)
    {
        var value = doc.Has("answers") ? doc.Raw("answers") : doc.Raw("answer");
        return value switch
        {
            IEnumerable<object?> list when value is not string => list.ToList(),
            _ => value,
        };
    }
}

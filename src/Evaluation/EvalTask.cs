using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>
/// One lmms-eval benchmark as nanoVLM evaluates it: the prompt (<see cref="DocToText"/> with the task yaml's default
/// pre/post prompts, then <see cref="Prompt"/>), the generation length, and the scoring of the model's answers into
/// the numbers lmms-eval reports. Get one from <see cref="EvalTasks.Get"/>. Generation is greedy for every task.
/// </summary>
public abstract class EvalTask
{
    private protected EvalTask(string name, int maxNewTokens)
    {
        Name = name;
        MaxNewTokens = maxNewTokens;
    }

    /// <summary>The lmms-eval task name, e.g. "mmstar", "docvqa_val".</summary>
    public string Name { get; }

    /// <summary>The yaml's <c>generation_kwargs.max_new_tokens</c>, or nanoVLM's wrapper default of 50.</summary>
    public int MaxNewTokens { get; }

    /// <summary>The task's <c>doc_to_text</c> with its default <c>lmms_eval_specific_kwargs</c>.</summary>
    /// <exception cref="InvalidDataException">A column the task needs is missing or of the wrong type.</exception>
    public abstract string DocToText(EvalDocument doc);

    /// <summary>The image columns the task's <c>doc_to_visual</c> uses, in its order (MMMU: the <c>image_k</c>
    /// referenced by the prompt; ScienceQA: none when the image is null; otherwise <c>image</c>).</summary>
    public virtual IReadOnlyList<string> ImageColumns(EvalDocument doc) => ["image"];

    /// <summary>The full model prompt (<see cref="NanoVlmPrompt.Build"/> over <see cref="DocToText"/>).</summary>
    /// <param name="doc">The document.</param>
    /// <param name="imageStrings">One placeholder string per image of <see cref="ImageColumns"/>.</param>
    public string Prompt(EvalDocument doc, IReadOnlyList<string> imageStrings) => NanoVlmPrompt.Build(Name, DocToText(doc), imageStrings);

    /// <summary>
    /// Scores the decoded generations (stripped as lmms-eval does) against the documents, in document order, and
    /// aggregates them into lmms-eval's metrics for this task, keyed as lmms-eval names them without the filter
    /// suffix ("average", "anls", "anls_stderr", …); <c>_stderr</c> entries appear where lmms-eval computes a numeric
    /// one (aggregation "mean" over more than one sample).
    /// </summary>
    /// <param name="docs">The documents.</param>
    /// <param name="generations">The decoded model output for each document.</param>
    /// <param name="randomSeed">Seeds MMMU's random fallback (see <see cref="MmmuMetric.PythonRandomChoice"/>); lmms-eval's default is 0.</param>
    /// <exception cref="ArgumentException">Counts differ, or nothing to score.</exception>
    /// <exception cref="InvalidDataException">A document lacks a column the metric needs.</exception>
    public IReadOnlyDictionary<string, double> Score(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> generations, int randomSeed = 0)
    {
        if (docs.Count != generations.Count)
            throw new ArgumentException($"{Name}: {docs.Count} documents but {generations.Count} generations", nameof(generations));
        if (docs.Count == 0) throw new ArgumentException($"{Name}: no documents to score", nameof(docs));
        return ScoreStripped(docs, generations.Select(PyText.Strip).ToList(), randomSeed);
    }

    private protected abstract IReadOnlyDictionary<string, double> ScoreStripped(IReadOnlyList<EvalDocument> docs, IReadOnlyList<string> predictions, int randomSeed);

    /// <summary>Adds <c>key</c> (the mean) and, when lmms-eval has a number for it, <c>key_stderr</c>.</summary>
    private protected static void AddMean(Dictionary<string, double> result, string key, IReadOnlyList<double> scores)
    {
        if (scores.Count == 0) return;
        result[key] = LmmsAggregation.Mean(scores);
        if (LmmsAggregation.MeanStderr(scores) is { } stderr) result[key + "_stderr"] = stderr;
    }

    /// <summary>The stripped question-plus-post-prompt of MMStar and MME (<c>mmstar_doc_to_text</c>, <c>mme_doc_to_text</c>).</summary>
    private protected static string QuestionWithPostPrompt(EvalDocument doc, string postPrompt) =>
        PyText.Strip(doc.GetString("question")).Replace(" Please answer yes or no.", "", StringComparison.Ordinal) + postPrompt;
}

namespace NanoVlm.Evaluation;

/// <summary>
/// nanoVLM's per-benchmark prompt rules (<c>NanoVLMWrapper.get_benchmark_formatting</c>, eval/lmms_eval_wrapper.py at
/// 4e0c096): text put before the task's prompt, literal replacements applied after that (in order), text appended,
/// and text that starts the assistant's turn.
/// </summary>
/// <param name="UserPrefix">Prepended to the task's prompt.</param>
/// <param name="TextReplacements">Literal (old, new) replacements, applied in order to prefix + prompt.</param>
/// <param name="UserSuffix">Appended after the replacements.</param>
/// <param name="AssistantPrefix">Appended after the ChatML generation prompt.</param>
public sealed record BenchmarkFormatting(
    string UserPrefix, IReadOnlyList<KeyValuePair<string, string>> TextReplacements, string UserSuffix, string AssistantPrefix)
{
    /// <summary>No formatting: what every task outside nanoVLM's table gets.</summary>
    public static BenchmarkFormatting None { get; } = new("", [], "", "");

    private static readonly BenchmarkFormatting MultipleChoice = new("",
    [
        new("\nOptions:", "\nChoices:"),
        new("\nA. ", "\nChoices:\nA. "),
        new("Please select the correct answer from the options above.", "Answer with the letter."),
        new("Answer with the option's letter from the given choices directly", "Answer with the letter directly"),
    ], "", "Answer:");

    private static readonly BenchmarkFormatting DocVqa = new(
        "Give a short and terse answer to the following question. "
        + "Do not paraphrase or reformat the text you see in the image. Do not include any full stops. "
        + "Just give the answer without additional explanation. Question: ", [], "", "");

    private static readonly BenchmarkFormatting ChartVqa = new(
        "For the question below, follow the following instructions:\n"
        + "-The answer should contain as few words as possible.\n"
        + "-Don't paraphrase or reformat the text you see in the image.\n"
        + "-Answer a binary question with Yes or No.\n"
        + "-When asked to give a numerical value, provide a number like 2 instead of Two.\n"
        + "-If the final answer has two or more items, provide it in the list format like [1, 2].\n"
        + "-When asked to give a ratio, give out the decimal value like 0.25 instead of 1:4.\n"
        + "-When asked to give a percentage, give out the whole value like 17 instead of decimal like 0.17%.\n"
        + "-Don't include any units in the answer.\n"
        + "-Do not include any full stops at the end of the answer.\n"
        + "-Try to include the full label from the graph when asked about an entity.\n"
        + "Question: ", [], "", "");

    private static readonly BenchmarkFormatting TextVqa = new(
        "Answer the following question about the image using as few words as possible. "
        + "Follow these additional instructions:\n"
        + "-Always answer a binary question with Yes or No.\n"
        + "-When asked what time it is, reply with the time seen in the image.\n"
        + "-Do not put any full stops at the end of the answer.\n"
        + "-Do not put quotation marks around the answer.\n"
        + "-An answer with one or two words is favorable.\n"
        + "-Do not apply common sense knowledge. The answer can be found in the image.\n"
        + "Question: ", [], "", "");

    private static readonly BenchmarkFormatting Mmmu = new("",
    [
        new("Question:", ""),
        new("Answer with the option's letter from the given choices directly.", "Answer with the letter directly."),
        new("\nA. ", "\nChoices:\nA. "),
    ], "", "Answer:");

    private static readonly BenchmarkFormatting BriefAnswer = new("", [], "\nGive a very brief answer.", "");

    // In nanoVLM's order; the one plain-string key, "chartvqa", matches no lmms-eval task (that task is "chartqa"),
    // so ChartQA gets no formatting — reproduced as is.
    private static readonly (string[] Tasks, BenchmarkFormatting Formatting)[] Table =
    [
        (["ai2d", "mmstar", "seedbench", "scienceqa"], MultipleChoice),
        (["docvqa_val", "docvqa_test"], DocVqa),
        (["chartvqa"], ChartVqa),
        (["textvqa_val", "textvqa_test"], TextVqa),
        (["mmmu_val", "mmmu_test"], Mmmu),
        (["infovqa_val", "mme", "ocrbench"], BriefAnswer),
    ];

    /// <summary>The formatting nanoVLM applies to <paramref name="task"/> (exact task name; <see cref="None"/> if unlisted).</summary>
    public static BenchmarkFormatting For(string task)
    {
        foreach (var (tasks, formatting) in Table)
            if (tasks.Contains(task)) return formatting;
        return None;
    }

    /// <summary><c>apply_benchmark_formatting</c> on the user side: prefix, replacements, suffix.</summary>
    public string FormatUserText(string context)
    {
        if (UserPrefix.Length > 0) context = UserPrefix + context;
        foreach (var (oldText, newText) in TextReplacements) context = context.Replace(oldText, newText, StringComparison.Ordinal);
        if (UserSuffix.Length > 0) context += UserSuffix;
        return context;
    }
}

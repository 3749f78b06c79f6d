namespace NanoVlm.Evaluation;

/// <summary>
/// The prompt nanoVLM's lmms-eval wrapper feeds the model (<c>NanoVLMWrapper.generate_until</c>, eval/lmms_eval_wrapper.py
/// at 4e0c096): the task's prompt with <see cref="BenchmarkFormatting"/>, after the images' placeholder strings, as one
/// ChatML user turn with nanoVLM's chat template (no system prompt), the generation prompt, and the assistant prefix.
/// </summary>
public static class NanoVlmPrompt
{
    /// <summary>
    /// <c>"&lt;|im_start|&gt;user\n" + images + formatted prompt + "&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n" + assistant prefix</c>.
    /// </summary>
    /// <param name="task">The lmms-eval task name (decides the <see cref="BenchmarkFormatting"/>).</param>
    /// <param name="context">The task's prompt (<see cref="EvalTask.DocToText"/>).</param>
    /// <param name="imageStrings">One placeholder string per image, each made for that image alone — nanoVLM's
    /// <c>get_image_string(tokenizer, [grid], mp_image_token_length)</c>, i.e. NanoVlm.Loader's
    /// <c>ImageTokenString.Build([grid])</c> — so evaluation prompts have no <c>&lt;image: k&gt;</c> markers.</param>
    public static string Build(string task, string context, IReadOnlyList<string> imageStrings)
    {
        var formatting = BenchmarkFormatting.For(task);
        string content = string.Concat(imageStrings) + formatting.FormatUserText(context);
        return "<|im_start|>user\n" + content + "<|im_end|>\n" + "<|im_start|>assistant\n" + formatting.AssistantPrefix;
    }
}

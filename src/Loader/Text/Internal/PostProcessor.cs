namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// The special-token ids a HF post-processor puts around a single sequence when <c>add_special_tokens</c> is true
/// (tokenizers' <c>TemplateProcessing</c> <c>single</c> template, <c>RobertaProcessing</c>/<c>BertProcessing</c>
/// cls/sep); <c>ByteLevel</c> adds none (it only fixes offsets).
/// </summary>
internal sealed record PostProcessor(int[] Prefix, int[] Suffix)
{
    public static readonly PostProcessor None = new([], []);
}

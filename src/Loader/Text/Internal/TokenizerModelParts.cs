using Microsoft.ML.Tokenizers;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>
/// What a <see cref="VlmTokenizer"/> encodes and decodes with: a Microsoft.ML.Tokenizers model (SentencePiece .model)
/// or this library's <see cref="BpeModel"/> (tokenizer.json, vocab.json + merges.txt), and the tokenizer.json
/// components around it.
/// </summary>
/// <param name="MlModel">The Microsoft.ML.Tokenizers model, or null when <paramref name="Own"/> is used.</param>
/// <param name="Own">This library's BPE (byte-level or SentencePiece-style), or null.</param>
/// <param name="PreTokenizer">The pre-tokenizer run before <paramref name="Own"/>, or null for none.</param>
/// <param name="Normalizer">The normalizer steps run before the pre-tokenizer, or null for none.</param>
/// <param name="Decoder">The tokenizer.json decoder chain; null for a SentencePiece .model (decoded by its model).</param>
/// <param name="Post">Special tokens the post-processor adds with <c>add_special_tokens</c>.</param>
/// <param name="SentencePiece">This library's encoder for a SentencePiece BPE .model (then <paramref name="MlModel"/>
/// only decodes), or null.</param>
internal sealed record TokenizerModelParts(Tokenizer? MlModel, BpeModel? Own = null, SplitPreTokenizer? PreTokenizer = null,
    TextNormalizer? Normalizer = null, TokenDecoder? Decoder = null, PostProcessor? Post = null,
    SentencePieceBpeModel? SentencePiece = null);

using NanoVlm.Loader.Text;

namespace NanoVlm.Engine;

/// <summary>Finds the tokenizer that belongs to a checkpoint: an explicit path, else <c>tokenizer.json</c> or
/// <c>tokenizer.model</c> in the checkpoint folder. There is no hub access, so a checkpoint without one names the
/// config's <c>lm_tokenizer</c> to fetch.</summary>
public static class CheckpointTokenizer
{
    /// <summary>The word that selects the built-in tokenizer (<see cref="VlmTokenizer.LoadDefault"/>).</summary>
    public const string BuiltIn = "default";

    /// <summary>Loads the tokenizer for <paramref name="checkpointDir"/>.</summary>
    /// <param name="checkpointDir">The checkpoint folder.</param>
    /// <param name="config">Its configuration (named in the error).</param>
    /// <param name="explicitPath">A <c>tokenizer.json</c>, a SentencePiece <c>.model</c>, <c>default</c>, or null.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">No tokenizer was given or found.</exception>
    public static VlmTokenizer Load(string checkpointDir, VlmConfig config, string? explicitPath = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (explicitPath == BuiltIn) return VlmTokenizer.LoadDefault();
        if (explicitPath is not null && !File.Exists(explicitPath))
            throw new FileNotFoundException($"Tokenizer file '{explicitPath}' does not exist.", explicitPath);
        if (SourcePath(checkpointDir, explicitPath) is { } path) return Open(path);
        throw new FileNotFoundException(
            $"No tokenizer for checkpoint '{checkpointDir}': it has no tokenizer.json (or tokenizer.model) and no --tokenizer was given. " +
            $"Its config names lm_tokenizer '{config.LmTokenizer}': put that tokenizer's tokenizer.json into the checkpoint folder or pass --tokenizer PATH.");
    }

    private static VlmTokenizer Open(string path) => path.EndsWith(".model", StringComparison.OrdinalIgnoreCase)
        ? VlmTokenizer.FromSentencePiece(path, new VlmTokenizerOptions { EosToken = "<|im_end|>" })
        : VlmTokenizer.FromTokenizerJson(path);

    /// <summary>The file a tokenizer was loaded from: <see cref="Load"/>'s path, or null for the built-in one.</summary>
    /// <param name="checkpointDir">The checkpoint folder.</param>
    /// <param name="explicitPath">As for <see cref="Load"/>.</param>
    /// <returns>The path, or null.</returns>
    public static string? SourcePath(string checkpointDir, string? explicitPath)
    {
        if (explicitPath == BuiltIn) return null;
        if (explicitPath is not null) return explicitPath;
        return new[] { "tokenizer.json", "tokenizer.model" }.Select(n => Path.Combine(checkpointDir, n)).FirstOrDefault(File.Exists);
    }

    /// <summary>Puts the tokenizer into a checkpoint folder so the checkpoint is self-contained: a copy of
    /// <paramref name="sourcePath"/> under its kind's name, or the built-in SentencePiece model as <c>tokenizer.model</c>.</summary>
    /// <param name="sourcePath">The tokenizer file, or null for the built-in tokenizer.</param>
    /// <param name="checkpointDir">The folder.</param>
    public static void Save(string? sourcePath, string checkpointDir)
    {
        if (sourcePath is not null)
        {
            string name = sourcePath.EndsWith(".model", StringComparison.OrdinalIgnoreCase) ? "tokenizer.model" : "tokenizer.json";
            File.Copy(sourcePath, Path.Combine(checkpointDir, name), overwrite: true);
            return;
        }
        using var resource = typeof(VlmTokenizer).Assembly.GetManifestResourceStream(BuiltInResource)
            ?? throw new InvalidOperationException($"The built-in tokenizer resource '{BuiltInResource}' is missing.");
        using var file = File.Create(Path.Combine(checkpointDir, "tokenizer.model"));
        resource.CopyTo(file);
    }

    // NanoVlm.Loader's embedded default tokenizer (a SentencePiece model).
    private const string BuiltInResource = "NanoVlm.Loader.Assets.default_tokenizer.model";

    /// <summary>Text of generated ids the way nanoVLM decodes answers (<c>skip_special_tokens=True</c>): special and
    /// added tokens (EOS, ChatML markers, image tokens) are left out.</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="ids">Generated ids.</param>
    /// <returns>The text.</returns>
    public static string DecodeAnswer(VlmTokenizer tokenizer, ReadOnlySpan<int> ids)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var special = new HashSet<int>(tokenizer.AtomicTokens.Values) { tokenizer.EosTokenId };
        var kept = new List<int>(ids.Length);
        foreach (int id in ids) if (!special.Contains(id)) kept.Add(id);
        return tokenizer.Decode(kept.ToArray());
    }
}

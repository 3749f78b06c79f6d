using System.Text.Json;

// Namespace NanoVlm.Cli, as the commands.
namespace NanoVlm.Cli;

/// <summary>
/// Where a LoRA run's base weights came from, written to <c>RUN/lora_base.json</c> when the run starts: its checkpoints
/// hold merged weights, so <c>--resume</c> rebuilds the base the same way (the checkpoint folder, or a fresh model of
/// the run's config with train.py's seed, plus the backbones) and the adapters check it by fingerprint.
/// </summary>
/// <param name="Checkpoint">The --checkpoint folder (full path), or null for a fresh model.</param>
/// <param name="VisionBackbone">The --vision-backbone file, or null.</param>
/// <param name="LanguageBackbone">The --language-backbone file, or null.</param>
internal sealed record LoraRunBase(string? Checkpoint, string? VisionBackbone, string? LanguageBackbone)
{
    public const string FileName = "lora_base.json";

    public void Write(string runDir)
        => File.WriteAllText(Path.Combine(runDir, FileName), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));

    public static LoraRunBase Read(string runDir)
    {
        string path = Path.Combine(runDir, FileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"{runDir}: cannot resume a LoRA run without {FileName} (where its base weights came from).");
        try
        {
            return JsonSerializer.Deserialize<LoraRunBase>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: damaged ({e.Message}).", e);
        }
    }
}

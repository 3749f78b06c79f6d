using NanoVlm.Engine.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine;

/// <summary>
/// nanoVLM checkpoints: a folder with <c>config.json</c> (<see cref="VlmConfig"/>) and <c>model.safetensors</c>, as
/// nanoVLM's <c>save_pretrained</c> / <c>from_pretrained</c> write and read them. Files written here load in nanoVLM
/// (float32, the tied head stored once as <c>decoder.head.weight</c>, <c>decoder.rotary_embd.inv_freq</c> included, no
/// extra keys) and nanoVLM's files load here (F32, BF16 or F16).
/// </summary>
public static class Checkpoint
{
    /// <summary>The config file's name.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The weights file's name.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>Saves <paramref name="model"/> into <paramref name="directory"/>. Both files are written under temporary
    /// names and renamed into place, so a crash or a full disk never leaves a half-written checkpoint behind the
    /// final names.</summary>
    /// <param name="model">The model.</param>
    /// <param name="directory">The folder (created if needed).</param>
    public static void Save(VisionLanguageModel model, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(directory);
        var (tensors, metadata) = FileTensors(model);
        string weights = Path.Combine(directory, WeightsFile), config = Path.Combine(directory, ConfigFile);
        string tmpWeights = weights + ".tmp", tmpConfig = config + ".tmp";
        try
        {
            using (var fs = new FileStream(tmpWeights, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                SafeTensorsWriter.Write(fs, tensors, metadata);
                fs.Flush(flushToDisk: true);
            }
            model.Config.Write(tmpConfig);
            File.Move(tmpWeights, weights, overwrite: true);
            File.Move(tmpConfig, config, overwrite: true);
        }
        catch
        {
            File.Delete(tmpWeights);
            File.Delete(tmpConfig);
            throw;
        }
    }

    /// <summary>Loads a checkpoint folder.</summary>
    /// <param name="directory">Folder with config.json and model.safetensors.</param>
    /// <param name="imageTokenId">The tokenizer's <c>&lt;|image|&gt;</c> id.</param>
    /// <param name="device">Where the model goes (CPU when null).</param>
    /// <returns>The model, in evaluation mode.</returns>
    /// <exception cref="InvalidDataException">A file is missing, truncated or corrupt, or the weights do not fit the
    /// configuration (every missing, unexpected or mis-shaped key is named).</exception>
    public static VisionLanguageModel Load(string directory, int imageTokenId, Device? device = null)
    {
        string config = Path.Combine(directory, ConfigFile), weights = Path.Combine(directory, WeightsFile);
        if (!File.Exists(config)) throw new InvalidDataException($"{directory}: not a nanoVLM checkpoint ({ConfigFile} is missing).");
        if (!File.Exists(weights)) throw new InvalidDataException($"{directory}: not a nanoVLM checkpoint ({WeightsFile} is missing).");
        var cfg = VlmConfig.Read(config);
        var model = new VisionLanguageModel(cfg, imageTokenId);
        try
        {
            LoadWeights(model, weights);
            if (device is not null && device.type != DeviceType.CPU) model.to(device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    /// <summary>Copies the tensors of <paramref name="path"/> into <paramref name="model"/> with nanoVLM's strict rules:
    /// every parameter and persistent buffer must be in the file with its shape, and the file may hold nothing else;
    /// of the tied head/embedding either name (or both, if equal) is enough. Only F32/BF16/F16 are accepted
    /// (converted to the parameter's dtype).</summary>
    /// <param name="model">The model.</param>
    /// <param name="path">The safetensors file.</param>
    /// <exception cref="InvalidDataException">The file does not match the model; one message lists every key.</exception>
    public static void LoadWeights(VisionLanguageModel model, string path)
    {
        using var file = SafeTensorsFile.Open(path);
        var targets = ModelTensors(model);
        var problems = new List<string>();
        var aliases = TiedAliases(model);
        foreach (var (name, entry) in file.Tensors)
        {
            if (!targets.TryGetValue(name, out var target))
            {
                problems.Add($"unexpected key '{name}'");
                continue;
            }
            if (!target.shape.SequenceEqual(entry.Shape))
                problems.Add($"'{name}' has shape [{string.Join(", ", entry.Shape)}] in the file but [{string.Join(", ", target.shape)}] in the model");
            else if (entry.DType is not ("F32" or "BF16" or "F16"))
                problems.Add($"'{name}' has dtype {entry.DType}; weights must be F32, BF16 or F16");
        }
        foreach (var name in targets.Keys)
        {
            if (file.Tensors.ContainsKey(name)) continue;
            if (aliases.TryGetValue(name, out var other) && file.Tensors.ContainsKey(other)) continue;
            problems.Add($"missing key '{name}'");
        }
        if (aliases.Count > 0)
        {
            var pair = aliases.First();
            if (file.Tensors.ContainsKey(pair.Key) && file.Tensors.ContainsKey(pair.Value) && problems.Count == 0)
            {
                using var a = file.View(pair.Key);
                using var b = file.View(pair.Value);
                if (!a.to(ScalarType.Float32).equal(b.to(ScalarType.Float32)).all().item<bool>())
                    problems.Add($"the tied weights '{pair.Key}' and '{pair.Value}' are both in the file and differ");
            }
        }
        if (problems.Count > 0)
            throw new InvalidDataException($"{path}: the weights do not match the model configuration: {string.Join("; ", problems)}.");
        using var noGrad = torch.no_grad();
        foreach (var (name, _) in file.Tensors)
        {
            using var view = file.View(name);
            targets[name].copy_(view);
        }
    }

    /// <summary>The tensors a checkpoint file holds for <paramref name="model"/>, as nanoVLM's safetensors
    /// <c>save_model</c> picks them: the state dict with, of the names sharing one tensor, only the alphabetically first
    /// kept (the tied pair keeps <c>decoder.head.weight</c>), and <c>__metadata__</c> mapping each dropped name to the
    /// kept one.</summary>
    /// <param name="model">The model.</param>
    /// <returns>Tensors by name, and the metadata.</returns>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) FileTensors(VisionLanguageModel model)
    {
        var all = ModelTensors(model);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (dropped, kept) in TiedAliases(model))
            if (string.CompareOrdinal(kept, dropped) < 0)
            {
                all.Remove(dropped);
                metadata[dropped] = kept;
            }
        return (all, metadata);
    }

    // Parameters and persistent buffers by state-dict name.
    private static Dictionary<string, Tensor> ModelTensors(VisionLanguageModel model)
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in model.named_parameters()) d[name] = p;
        foreach (var (name, b) in model.named_buffers(include_nonpersistent: false)) d[name] = b;
        // TorchSharp lists a shared parameter under its first name only; add the tied head explicitly.
        if (model.Config.LmTieWeights)
        {
            var w = model.Decoder.TokenEmbedding.weight!;
            d["decoder.head.weight"] = w;
            d["decoder.token_embedding.weight"] = w;
        }
        return d;
    }

    // name → the other name of the same tensor (both directions) for the tied head/embedding.
    private static Dictionary<string, string> TiedAliases(VisionLanguageModel model) => model.Config.LmTieWeights
        ? new(StringComparer.Ordinal)
        {
            ["decoder.token_embedding.weight"] = "decoder.head.weight",
            ["decoder.head.weight"] = "decoder.token_embedding.weight",
        }
        : new(StringComparer.Ordinal);
}

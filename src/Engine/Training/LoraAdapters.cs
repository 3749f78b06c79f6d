using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NanoVlm.Engine.Checkpoints;
using NanoVlm.Engine.Internal;
using NanoVlm.Engine.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Training;

/// <summary>
/// The LoRA adapters attached to a model's vision encoder and language model (PEFT's <c>LoraModel</c> over nanoVLM):
/// one <see cref="LoraLinear"/> per targeted linear layer, outside the model's own parameters, so the model's state
/// dict, its checkpoints and <see cref="Checkpoint"/> never see them. <see cref="Merge"/> adds <c>B·A·scaling</c> into
/// the base weights for the duration of a save (the checkpoint is a plain nanoVLM one); <see cref="Save"/> and
/// <see cref="Load"/> keep the adapters' own state (<c>lora_adapters.safetensors</c> + <c>lora.json</c>) for resuming.
/// </summary>
public sealed class LoraAdapters : IDisposable
{
    /// <summary>The adapters' weights in a checkpoint folder.</summary>
    public const string WeightsFile = "lora_adapters.safetensors";

    /// <summary>The adapters' settings and the base weights' fingerprint in a checkpoint folder.</summary>
    public const string ConfigFile = "lora.json";

    private readonly List<Entry> _entries;

    private LoraAdapters(LoraOptions options, List<Entry> entries)
    {
        Options = options;
        _entries = entries;
        BaseFingerprint = Fingerprint(entries);
    }

    /// <summary>The settings.</summary>
    public LoraOptions Options { get; }

    /// <summary>Full module paths of the adapted layers (e.g. <c>decoder.blocks.0.attn.q_proj</c>), in model order.</summary>
    public IReadOnlyList<string> AdaptedLayers => _entries.Select(e => e.Path).ToList();

    /// <summary>SHA-256 of the adapted layers' base weights when the adapters were attached: a resumed run checks it,
    /// since the checkpoint holds merged weights and the base comes from where the run started.</summary>
    public string BaseFingerprint { get; }

    /// <summary>Every adapter parameter (A then B of each layer, in model order).</summary>
    public IReadOnlyList<Parameter> Parameters => ParametersUnder("");

    /// <summary>The adapter parameters of the layers whose path starts with <paramref name="prefix"/>
    /// (<c>vision_encoder.</c>, <c>decoder.</c>).</summary>
    /// <param name="prefix">A module path prefix.</param>
    /// <returns>A then B of each such layer, in model order.</returns>
    public IReadOnlyList<Parameter> ParametersUnder(string prefix)
        => _entries.Where(e => e.Path.StartsWith(prefix, StringComparison.Ordinal)).SelectMany(e => new[] { e.Adapter.A, e.Adapter.B }).ToList();

    /// <summary>Attaches adapters (PEFT's initialisation: A kaiming-uniform(a = √5), B zero, so the model's output is
    /// unchanged) to the targeted linear layers of the vision encoder and/or the language model.</summary>
    /// <param name="model">The model (its layers get the adapters; its parameters stay as they are).</param>
    /// <param name="options">The settings.</param>
    /// <param name="vision">Adapt the vision encoder's layers.</param>
    /// <param name="language">Adapt the language model's layers.</param>
    /// <returns>The adapters.</returns>
    /// <exception cref="ArgumentException">A target that names no layer, or targets that match nothing in the chosen
    /// parts; the message lists the layer names there are.</exception>
    public static LoraAdapters Attach(VisionLanguageModel model, LoraOptions options, bool vision = true, bool language = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var all = new List<(string Path, IAdaptableModule Host, string Name, Linear Layer)>();
        var seen = new HashSet<IAdaptableModule>(ReferenceEqualityComparer.Instance);
        foreach (var (path, module) in model.named_modules())
            if (module is IAdaptableModule host && seen.Add(host))
                foreach (var (name, layer) in host.Adapters.Linears)
                    all.Add(($"{path}.{name}", host, name, layer));
        string names = string.Join(", ", all.Select(a => a.Name).Distinct());
        foreach (var target in options.TargetModules)
            if (!all.Any(a => new LoraOptions { TargetModules = [target] }.Targets(a.Path)))
                throw new ArgumentException($"lora_target_modules: '{target}' matches no linear layer of the model (the layers are {names}, under vision_encoder.blocks.N.attn/mlp and decoder.blocks.N.attn/mlp).");
        var chosen = all.Where(a => options.Targets(a.Path)
            && (vision && a.Path.StartsWith("vision_encoder.", StringComparison.Ordinal) || language && a.Path.StartsWith("decoder.", StringComparison.Ordinal))).ToList();
        if (chosen.Count == 0)
            throw new ArgumentException($"lora_target_modules [{string.Join(", ", options.TargetModules)}] match no layer of the parts being trained " +
                $"({(vision ? "vision encoder" : "")}{(vision && language ? ", " : "")}{(language ? "language model" : "")}{(!vision && !language ? "none: both are frozen" : "")}).");
        var entries = new List<Entry>();
        foreach (var (path, host, name, layer) in chosen)
        {
            var w = layer.weight!;
            var adapter = new LoraLinear(w.shape[1], w.shape[0], options.Rank, options.Alpha, options.Dropout, w.device);
            host.Adapters.Attach(name, adapter);
            entries.Add(new Entry(path, host, name, layer, adapter));
        }
        return new LoraAdapters(options, entries);
    }

    /// <summary>Adds each adapter's <c>B·A·scaling</c> into its layer's weight until the returned scope is disposed,
    /// which puts the exact base weights back (copies, not a subtraction). For saving: while merged, a forward would
    /// count the adapters twice.</summary>
    /// <returns>The scope.</returns>
    public IDisposable Merge()
    {
        var saved = new List<(Tensor Weight, Tensor Copy)>();
        using var noGrad = no_grad();
        try
        {
            foreach (var e in _entries)
            {
                var w = e.Layer.weight!;
                saved.Add((w, w.detach().clone()));
                using var delta = e.Adapter.DeltaWeight();
                w.add_(delta.to(w.dtype), Scalars.One);
            }
        }
        catch
        {
            Restore(saved);
            throw;
        }
        return new RestoreScope(saved);
    }

    /// <summary>Adds the adapters into the base weights for good and removes them from the model (PEFT's
    /// <c>merge_and_unload</c>): the model is then a plain nanoVLM model with the fine-tuned weights.</summary>
    public void MergeAndUnload()
    {
        using (no_grad())
            foreach (var e in _entries)
            {
                using var delta = e.Adapter.DeltaWeight();
                e.Layer.weight!.add_(delta.to(e.Layer.weight!.dtype), Scalars.One);
            }
        Dispose();
    }

    /// <summary>Writes <see cref="WeightsFile"/> (<c>&lt;layer path&gt;.lora_A</c> / <c>.lora_B</c>) and
    /// <see cref="ConfigFile"/> into <paramref name="directory"/>.</summary>
    /// <param name="directory">A checkpoint folder.</param>
    public void Save(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        var tensors = _entries.SelectMany(e => new[]
        {
            new KeyValuePair<string, Tensor>(e.Path + ".lora_A", e.Adapter.A),
            new KeyValuePair<string, Tensor>(e.Path + ".lora_B", e.Adapter.B),
        });
        using (var fs = new FileStream(Path.Combine(directory, WeightsFile), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            SafeTensorsWriter.Write(fs, tensors);
            fs.Flush(flushToDisk: true);
        }
        var state = new LoraState(Options.Rank, Options.Alpha, Options.Dropout, [.. Options.TargetModules], [.. AdaptedLayers], BaseFingerprint);
        File.WriteAllText(Path.Combine(directory, ConfigFile), JsonSerializer.Serialize(state, s_json));
    }

    /// <summary>Reads the LoRA settings a checkpoint folder was trained with, or null when it has none.</summary>
    /// <param name="directory">A checkpoint folder.</param>
    /// <returns>The settings, or null.</returns>
    /// <exception cref="InvalidDataException">A damaged <see cref="ConfigFile"/>.</exception>
    public static LoraOptions? ReadOptions(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!File.Exists(Path.Combine(directory, ConfigFile))) return null;
        var s = ReadState(directory);
        return new LoraOptions { Rank = s.Rank, Alpha = s.Alpha, Dropout = s.Dropout, TargetModules = s.TargetModules };
    }

    /// <summary>Loads the adapters saved in <paramref name="directory"/> into these adapters, after checking that they
    /// were trained with the same settings on the same layers and on the same base weights.</summary>
    /// <param name="directory">A checkpoint folder written with LoRA.</param>
    /// <exception cref="InvalidDataException">A missing or damaged file, other settings, other layers, or other base
    /// weights (each named).</exception>
    public void Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string weights = Path.Combine(directory, WeightsFile);
        if (!File.Exists(Path.Combine(directory, ConfigFile)) || !File.Exists(weights))
            throw new InvalidDataException($"{directory}: cannot resume LoRA training from it: {ConfigFile} or {WeightsFile} is missing (it was not saved by a LoRA run).");
        var s = ReadState(directory);
        if (s.Rank != Options.Rank || s.Alpha != Options.Alpha || s.Dropout != Options.Dropout || !s.TargetModules.SequenceEqual(Options.TargetModules))
            throw new InvalidDataException($"{directory}: the adapters were trained with lora_rank {s.Rank}, lora_alpha {s.Alpha}, lora_dropout {s.Dropout}, " +
                $"lora_target_modules [{string.Join(", ", s.TargetModules)}]; this run has {Options.Rank}, {Options.Alpha}, {Options.Dropout}, [{string.Join(", ", Options.TargetModules)}].");
        if (!s.AdaptedLayers.SequenceEqual(AdaptedLayers))
            throw new InvalidDataException($"{directory}: the adapters are on other layers ({s.AdaptedLayers.Length} saved, {_entries.Count} here): " +
                "resume with the run's learning rates and frozen parts (--freeze, lr_*), which decide the parts that get adapters.");
        if (s.BaseFingerprint != BaseFingerprint)
            throw new InvalidDataException($"{directory}: the base weights differ from the ones the adapters were trained on: resume a LoRA run from " +
                "the same starting point (the same --checkpoint / backbones, or the same preset's fresh model).");
        using var file = SafeTensorsFile.Open(weights);
        using var noGrad = no_grad();
        foreach (var e in _entries)
            foreach (var (key, p) in new[] { (e.Path + ".lora_A", e.Adapter.A), (e.Path + ".lora_B", e.Adapter.B) })
            {
                if (!file.Tensors.TryGetValue(key, out var entry)) throw new InvalidDataException($"{weights}: missing key '{key}'.");
                if (!entry.Shape.SequenceEqual(p.shape))
                    throw new InvalidDataException($"{weights}: '{key}' has shape [{string.Join(", ", entry.Shape)}], the adapter [{string.Join(", ", p.shape)}].");
                using var view = file.View(key);
                p.copy_(view);
            }
    }

    /// <summary>Copies every tensor of a checkpoint's <c>model.safetensors</c> into <paramref name="model"/> except the
    /// adapted layers' weights (merged there): the parts trained in full, and the frozen rest.</summary>
    /// <param name="model">The model the adapters are attached to.</param>
    /// <param name="weightsPath">The checkpoint's <c>model.safetensors</c>.</param>
    /// <exception cref="InvalidDataException">A tensor missing or mis-shaped, named.</exception>
    public void LoadUnadapted(VisionLanguageModel model, string weightsPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        var adapted = _entries.Select(e => e.Path + ".weight").ToHashSet(StringComparer.Ordinal);
        var (targets, _) = Checkpoint.FileTensors(model);
        using var file = SafeTensorsFile.Open(weightsPath);
        var problems = targets.Where(t => !adapted.Contains(t.Key) && (!file.Tensors.TryGetValue(t.Key, out var e) || !e.Shape.SequenceEqual(t.Value.shape)))
            .Select(t => t.Key).ToList();
        if (problems.Count > 0) throw new InvalidDataException($"{weightsPath}: missing or mis-shaped: {string.Join(", ", problems)}.");
        using var noGrad = no_grad();
        foreach (var (name, t) in targets)
        {
            if (adapted.Contains(name)) continue;
            using var view = file.View(name);
            t.copy_(view);
        }
    }

    /// <summary>Removes the adapters from the model (its base weights are as they were) and frees them.</summary>
    public void Dispose()
    {
        foreach (var host in _entries.Select(e => e.Host).Distinct()) host.Adapters.DetachAll();
        foreach (var e in _entries) e.Adapter.Dispose();
        _entries.Clear();
    }

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static LoraState ReadState(string directory)
    {
        string path = Path.Combine(directory, ConfigFile);
        try
        {
            return JsonSerializer.Deserialize<LoraState>(File.ReadAllText(path), s_json) ?? throw new InvalidDataException($"{path}: empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: damaged LoRA state ({e.Message}).", e);
        }
    }

    private static string Fingerprint(List<Entry> entries)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var e in entries)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(e.Path));
            using var cpu = e.Layer.weight!.detach().to(CPU).to(ScalarType.Float32).contiguous();
            hash.AppendData(cpu.bytes);
        }
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    private static void Restore(List<(Tensor Weight, Tensor Copy)> saved)
    {
        using var noGrad = no_grad();
        foreach (var (w, copy) in saved)
        {
            w.copy_(copy);
            copy.Dispose();
        }
        saved.Clear();
    }

    private sealed record Entry(string Path, IAdaptableModule Host, string Name, Linear Layer, LoraLinear Adapter);

    private sealed record LoraState(int Rank, double Alpha, double Dropout, string[] TargetModules, string[] AdaptedLayers, string BaseFingerprint);

    private sealed class RestoreScope(List<(Tensor Weight, Tensor Copy)> saved) : IDisposable
    {
        public void Dispose() => Restore(saved);
    }
}

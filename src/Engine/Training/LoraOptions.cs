using System.Text.Json;
using System.Text.RegularExpressions;

namespace NanoVlm.Engine.Training;

/// <summary>
/// LoRA settings (PEFT's <c>LoraConfig</c> terms: r, lora_alpha, lora_dropout, target_modules). nanoVLM has no LoRA,
/// so its configuration file has no such keys; ours are <c>lora_rank</c>, <c>lora_alpha</c>, <c>lora_dropout</c> and
/// <c>lora_target_modules</c>.
/// </summary>
/// <remarks>A target is matched against the full nanoVLM module path of every adaptable linear layer of the vision
/// encoder and the language model (e.g. <c>decoder.blocks.3.attn.q_proj</c>): a plain name matches the path or its
/// last segments (<c>q_proj</c>, <c>attn.out_proj</c>), as PEFT's list of names does; a name with <c>*</c> is a glob
/// over the whole path (<c>decoder.*.out_proj</c>: the language model's only).</remarks>
public sealed record LoraOptions
{
    /// <summary>Every linear layer of nanoVLM's ViT and language model blocks.</summary>
    public static IReadOnlyList<string> AllLinearTargets { get; } =
        ["q_proj", "k_proj", "v_proj", "out_proj", "gate_proj", "up_proj", "down_proj", "qkv_proj", "fc1", "fc2"];

    /// <summary>r, the adapters' rank (≥ 1).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>lora_alpha: the adapter's output is scaled by alpha / r.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>lora_dropout: dropout on the adapters' input during training.</summary>
    public double Dropout { get; init; }

    /// <summary>target_modules (default: <see cref="AllLinearTargets"/>).</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = AllLinearTargets;

    /// <summary>Whether <paramref name="modulePath"/> (a linear layer's full module path) is a target.</summary>
    /// <param name="modulePath">E.g. <c>decoder.blocks.0.mlp.up_proj</c>.</param>
    /// <returns>True when a target matches it.</returns>
    public bool Targets(string modulePath)
    {
        ArgumentNullException.ThrowIfNull(modulePath);
        foreach (var t in TargetModules)
        {
            if (t.Contains('*', StringComparison.Ordinal))
            {
                var pattern = "^" + string.Join(".*", t.Split('*').Select(Regex.Escape)) + "$";
                if (Regex.IsMatch(modulePath, pattern, RegexOptions.CultureInvariant)) return true;
            }
            else if (modulePath == t || modulePath.EndsWith("." + t, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value out of range, named by its configuration key.</exception>
    public void Validate()
    {
        if (Rank < 1) throw new ArgumentException($"lora_rank must be ≥ 1 (is {Rank}).");
        if (!double.IsFinite(Alpha) || Alpha <= 0) throw new ArgumentException($"lora_alpha must be > 0 (is {Alpha}).");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"lora_dropout must be in [0, 1) (is {Dropout}).");
        if (TargetModules.Count == 0 || TargetModules.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("lora_target_modules must name at least one module, and no empty name.");
    }

    /// <summary>Parses a comma-separated target list (<c>q_proj,v_proj</c>).</summary>
    /// <param name="list">The list.</param>
    /// <returns>The names.</returns>
    public static IReadOnlyList<string> ParseTargets(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        return list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The LoRA settings of a configuration file: null when it has no <c>lora_rank</c> (or it is 0), else
    /// <paramref name="fallback"/> (or the defaults) with the file's <c>lora_*</c> keys applied.</summary>
    /// <param name="config">The configuration file.</param>
    /// <param name="fallback">The settings so far (null: LoRA off so far).</param>
    /// <returns>The settings, or null for none.</returns>
    /// <exception cref="InvalidDataException">A value of the wrong type, naming the file and key.</exception>
    public static LoraOptions? From(NanoVlm.Loader.Configuration.NanovlmConfig config, LoraOptions? fallback)
    {
        ArgumentNullException.ThrowIfNull(config);
        bool any = new[] { "lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules" }.Any(k => config.TryGetValue(k, out _));
        if (!any) return fallback;
        var o = fallback ?? new LoraOptions();
        if (config.TryGetValue("lora_rank", out var r))
        {
            if (r.ValueKind != JsonValueKind.Number || !r.TryGetInt32(out int rank) || rank < 0)
                throw new InvalidDataException($"{config.Source}: key 'lora_rank': expected an integer ≥ 0 (0 = no LoRA), found {r.GetRawText()}");
            if (rank == 0) return null;
            o = o with { Rank = rank };
        }
        else if (fallback is null)
            throw new InvalidDataException($"{config.Source}: lora_* keys without 'lora_rank': set lora_rank (e.g. 8) to train LoRA adapters.");
        o = o with { Alpha = Number(config, "lora_alpha", o.Alpha), Dropout = Number(config, "lora_dropout", o.Dropout) };
        if (config.TryGetValue("lora_target_modules", out var t))
        {
            o = o with
            {
                TargetModules = t.ValueKind switch
                {
                    JsonValueKind.String => ParseTargets(t.GetString()!),
                    JsonValueKind.Array when t.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                        => t.EnumerateArray().Select(e => e.GetString()!).ToList(),
                    _ => throw new InvalidDataException($"{config.Source}: key 'lora_target_modules': expected a list of module names or a comma-separated string, found {t.GetRawText()}"),
                },
            };
        }
        try
        {
            o.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{config.Source}: {e.Message}", e);
        }
        return o;
    }

    private static double Number(NanoVlm.Loader.Configuration.NanovlmConfig config, string key, double fallback)
    {
        if (!config.TryGetValue(key, out var v)) return fallback;
        return v.ValueKind == JsonValueKind.Number
            ? v.GetDouble()
            : throw new InvalidDataException($"{config.Source}: key '{key}': expected a number, found {v.GetRawText()}");
    }
}

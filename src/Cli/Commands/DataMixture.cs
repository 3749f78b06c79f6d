using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using NanoVlm.Loader.Configuration;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Loader.Text;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// The data of <c>nanovlm loader</c>, <c>profile</c> and <c>train</c> as a weighted, staged mixture: <c>--data PATH</c>
/// (weight 1, stage 0) and every <c>--mix PATH:WEIGHT[:STAGE]</c>, or the configuration file's
/// <c>train_mixture</c> (a list of the same strings) when no flag names data.
/// </summary>
internal sealed class DataMixture
{
    /// <summary>The configuration file's key: a list of <c>"PATH:WEIGHT[:STAGE]"</c> strings.</summary>
    public const string ConfigKey = "train_mixture";

    /// <summary>One source: its path, sampling weight within its stage, and stage.</summary>
    public readonly record struct Entry(string Path, double Weight, int Stage);

    private DataMixture(IReadOnlyList<Entry> entries) => Entries = entries;

    /// <summary>The sources, in mixture order (the loader's source index).</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>The <c>--mix</c> option (repeatable).</summary>
    /// <param name="more">Text added to the description (what the command does with stages), or null.</param>
    public static Option<string[]> CreateOption(string? more = null) => new("--mix")
    {
        Description = "Add a mixture source PATH:WEIGHT[:STAGE] (repeatable; e.g. --mix business.parquet:10 --mix general.parquet:1). " +
            "Stages run in ascending order (default 0), each until its sources end. With --data, that path joins with weight 1, stage 0. " +
            $"Config key {ConfigKey}: a list of the same strings, used when no flag names data.{(more is null ? "" : " " + more)}",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>PATH:WEIGHT or PATH:WEIGHT:STAGE (the path may itself contain ':').</summary>
    /// <param name="spec">The text.</param>
    /// <param name="where">Where it was written, for the error (e.g. <c>--mix</c>).</param>
    /// <exception cref="ArgumentException">Not of that form, a weight ≤ 0 or a negative stage.</exception>
    public static Entry Parse(string spec, string where = "--mix")
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Split(':');
        if (parts.Length >= 3 && int.TryParse(parts[^1], CultureInfo.InvariantCulture, out var stage) && stage >= 0
            && double.TryParse(parts[^2], NumberStyles.Float, CultureInfo.InvariantCulture, out var w3) && w3 > 0 && double.IsFinite(w3))
            return new Entry(string.Join(':', parts[..^2]), w3, stage);
        if (parts.Length >= 2 && double.TryParse(parts[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var w) && w > 0 && double.IsFinite(w))
            return new Entry(string.Join(':', parts[..^1]), w, 0);
        throw new ArgumentException($"{where} {spec}: expected PATH:WEIGHT or PATH:WEIGHT:STAGE with a positive weight and a stage ≥ 0.");
    }

    /// <summary>The mixture the command line (or else the configuration file) names: <paramref name="data"/> first
    /// (weight 1, stage 0), then <paramref name="mixes"/>; the file's <see cref="ConfigKey"/> when neither is given;
    /// null when nothing names data (the command's built-in default).</summary>
    /// <exception cref="ArgumentException">A bad <c>--mix</c>.</exception>
    /// <exception cref="ConfigFileException">A bad <see cref="ConfigKey"/> value (naming the file and the entry).</exception>
    public static DataMixture? From(string? data, IReadOnlyList<string>? mixes, NanovlmConfig? file = null)
    {
        var entries = (mixes ?? []).Select(m => Parse(m)).ToList();
        if (data is not null) entries.Insert(0, new Entry(data, 1, 0));
        if (entries.Count == 0 && file is not null && file.TryGetValue(ConfigKey, out var list)) entries = FromConfig(file.Source, list);
        return entries.Count == 0 ? null : new DataMixture(entries);
    }

    /// <summary>A mixture of one path.</summary>
    public static DataMixture Single(string path) => new([new Entry(path, 1, 0)]);

    private static List<Entry> FromConfig(string source, JsonElement list)
    {
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            throw new ConfigFileException(source, ConfigKey, $"expected a non-empty list of \"PATH:WEIGHT[:STAGE]\" strings, found {list.GetRawText()}");
        var entries = new List<Entry>();
        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw new ConfigFileException(source, ConfigKey, $"entry {i}: expected a \"PATH:WEIGHT[:STAGE]\" string, found {item.GetRawText()}");
            try { entries.Add(Parse(item.GetString()!, $"entry {i}:")); }
            catch (ArgumentException e) { throw new ConfigFileException(source, ConfigKey, e.Message, e); }
            i++;
        }
        return entries;
    }

    /// <summary>The mixture for the logs: the path alone for one source, else each with its weight (and stage).</summary>
    public string Describe() => string.Join(" + ", Entries.Select(m => Entries.Count == 1 ? m.Path
        : m.Stage == 0 ? $"{m.Path} (weight {m.Weight.ToString(CultureInfo.InvariantCulture)})"
        : $"{m.Path} (weight {m.Weight.ToString(CultureInfo.InvariantCulture)}, stage {m.Stage})"));

    /// <summary>Each source's name for metrics (<c>train_eval/&lt;name&gt;/loss</c>): its file or folder name, with
    /// <c>#2</c>, <c>#3</c>... after a name an earlier source already has.</summary>
    public IReadOnlyList<string> SourceNames()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        return [.. Entries.Select(e =>
        {
            string name = Path.GetFileName(e.Path.TrimEnd('/', '\\'));
            if (name.Length == 0) name = "data";
            int n = seen[name] = seen.GetValueOrDefault(name) + 1;
            return n == 1 ? name : $"{name}#{n}";
        })];
    }

    /// <summary>Opens every source. For training (<paramref name="earlierStagesOnce"/>), each stage below the last is one
    /// pass over its sources and the last stage repeats as the loader's epochs say (a run that never ends its data
    /// otherwise never leaves stage 0).</summary>
    /// <param name="earlierStagesOnce">Give the sources of every stage but the last one epoch.</param>
    /// <param name="flattenStages">Put every source in stage 0 (a weighted pass over all of them).</param>
    /// <returns>The sources; dispose it to close them.</returns>
    public OpenSources Open(bool earlierStagesOnce = false, bool flattenStages = false)
    {
        int last = Entries.Max(e => e.Stage);
        var opened = new OpenSources();
        try
        {
            foreach (var e in Entries)
                opened.Sources.Add(new MixtureSource(RowSources.Open(e.Path), e.Weight)
                {
                    Stage = flattenStages ? 0 : e.Stage,
                    Epochs = earlierStagesOnce && !flattenStages && e.Stage < last ? 1 : null,
                });
        }
        catch
        {
            opened.Dispose();
            throw;
        }
        return opened;
    }

    /// <summary>The loader over <paramref name="sources"/> (opened from this mixture), continuing at <paramref name="state"/>,
    /// reporting dropped rows to <paramref name="log"/>.</summary>
    /// <exception cref="ArgumentException">The state was saved for another mixture or other loader options (naming the checkpoint).</exception>
    public DataLoader Loader(OpenSources sources, DataLoaderOptions options, LoaderState? state, VlmTokenizer tokenizer, string? checkpoint,
        Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(sources);
        try
        {
            return new DataLoader(sources.Sources, options, state, tokenizer) { Log = log };
        }
        catch (ArgumentException e) when (state is not null && e.ParamName == "resumeFrom")
        {
            throw new ArgumentException($"--resume {checkpoint}: its loader state was saved for another data mixture or other loader options than " +
                $"this run's ({Describe()}): resume with the data (--data, --mix) and batch and sequence settings the run started with.", e);
        }
    }

    /// <summary>One weighted pass over every source (each read to its end, stages flattened) with one worker: the
    /// training set as the per-source evaluation reads it.</summary>
    public IEnumerable<Batch> OnePass(DataLoaderOptions options, VlmTokenizer tokenizer)
    {
        using var sources = Open(flattenStages: true);
        using var loader = new DataLoader(sources.Sources, options with { Epochs = 1, Workers = 1 }, null, tokenizer);
        foreach (var batch in loader) yield return batch;
    }

    /// <summary>The opened sources of a mixture (closed together).</summary>
    public sealed class OpenSources : IDisposable
    {
        /// <summary>The loader's sources, in mixture order.</summary>
        public List<MixtureSource> Sources { get; } = [];

        /// <inheritdoc/>
        public void Dispose()
        {
            foreach (var s in Sources) s.Source.Dispose();
        }
    }
}

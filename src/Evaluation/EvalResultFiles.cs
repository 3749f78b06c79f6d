using System.Text;
using System.Text.RegularExpressions;
using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>A part that <see cref="EvalResultFiles.Merge"/> could not use and left in place.</summary>
/// <param name="Path">The file.</param>
/// <param name="Reason">Why (invalid JSON with the offset, no "results" object, …).</param>
public sealed record CorruptResultPart(string Path, string Reason);

/// <summary>What <see cref="EvalResultFiles.Merge"/> did.</summary>
/// <param name="MergedPath">The <c>step_{N}.json</c> written, or null when there was nothing to merge.</param>
/// <param name="MergedParts">The parts merged (in merge order) and deleted.</param>
/// <param name="CorruptParts">The parts that could not be read: reported, not merged, not deleted.</param>
public sealed record EvalMergeReport(string? MergedPath, IReadOnlyList<string> MergedParts, IReadOnlyList<CorruptResultPart> CorruptParts)
{
    /// <summary>True when every part was merged (a caller should fail otherwise).</summary>
    public bool Complete => CorruptParts.Count == 0;
}

/// <summary>
/// nanoVLM's evaluation result files: <c>{out}/{run}/step_{N}_{tasks}.json</c> written per evaluation job
/// (run_evaluation.py) and merged into <c>step_{N}.json</c> (merge_eval_results.py), which the trainer logs
/// as <c>lmms_eval/{key}</c>. The schema is <c>{"global_step": N, "results": {"{task}_{metric}": value}}</c>, written
/// as Python's <c>json.dump(…, indent=4)</c> writes it.
/// </summary>
public static class EvalResultFiles
{
    /// <summary>The results key for an lmms-eval metric: <c>f"{task}_{metric_key.split(',')[0]}"</c> (drops the ",none" filter).</summary>
    public static string ResultKey(string task, string metricKey) => $"{task}_{metricKey.Split(',')[0]}";

    /// <summary>A task's metrics (<see cref="EvalTask.Score"/>) as results entries, keyed by <see cref="ResultKey"/>.</summary>
    public static IEnumerable<KeyValuePair<string, double>> ResultsOf(string task, IReadOnlyDictionary<string, double> metrics) =>
        metrics.Select(kv => new KeyValuePair<string, double>(ResultKey(task, kv.Key), kv.Value));

    /// <summary><c>{outDir}/{runName}/step_{N}_{tasks with '/' → '_'}.json</c>.</summary>
    public static string PartPath(string outDir, string runName, long globalStep, string tasks) =>
        Path.Combine(outDir, runName, $"step_{globalStep}_{tasks.Replace('/', '_')}.json");

    /// <summary><c>{outDir}/{runName}/step_{N}.json</c>.</summary>
    public static string MergedPath(string outDir, string runName, long globalStep) =>
        Path.Combine(outDir, runName, $"step_{globalStep}.json");

    /// <summary>The result file's text (<c>json.dump(output_data, f, indent=4)</c>; floats as Python's repr; a repeated
    /// key keeps its first position and last value, as the script's dict does).</summary>
    public static string Format(long globalStep, IEnumerable<KeyValuePair<string, double>> results) =>
        PyJson.Write(Document(globalStep, Dedupe(results.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value)))));

    /// <summary>
    /// Writes one evaluation job's part, as run_evaluation.py does after <c>cli_evaluate</c>: creates the run folder
    /// and writes <see cref="PartPath"/>. Returns the path.
    /// </summary>
    /// <param name="outDir">The results root (nanoVLM: <c>eval_results</c>).</param>
    /// <param name="runName">The training run's name.</param>
    /// <param name="globalStep">The checkpoint's step.</param>
    /// <param name="tasks">The job's task list as given (e.g. "mmstar,mmmu_val"); '/' becomes '_' in the file name.</param>
    /// <param name="results">Entries in order (<see cref="ResultsOf"/>); a repeated key keeps its first position and last value.</param>
    public static string WritePart(string outDir, string runName, long globalStep, string tasks, IEnumerable<KeyValuePair<string, double>> results)
    {
        var path = PartPath(outDir, runName, globalStep, tasks);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteAtomically(path, Format(globalStep, results));
        return path;
    }

    /// <summary>
    /// merge_eval_results.py: every <c>step_{N}_*.json</c> of the run folder (in ordinal name order; Python's glob order
    /// is the file system's) is read and its "results" merged key by key (later parts win) into <see cref="MergedPath"/>,
    /// and the merged parts are deleted. Unlike the script: a part that is not valid JSON or has no "results" object is
    /// reported in <see cref="EvalMergeReport.CorruptParts"/> and left in place (the script crashes on the first, having
    /// deleted the parts before it, and drops the second silently); the merged file is written before any part is
    /// deleted; and an existing <c>step_{N}.json</c> is merged into, not overwritten, so merging again after fixing a
    /// part loses nothing. No parts: nothing is written (<see cref="EvalMergeReport.MergedPath"/> is null).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No folder for the run.</exception>
    /// <exception cref="InvalidDataException">The existing <c>step_{N}.json</c> is itself unreadable (nothing is changed).</exception>
    public static EvalMergeReport Merge(string outDir, string runName, long globalStep)
    {
        var dir = Path.Combine(outDir, runName);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"no evaluation results folder {dir}");
        var prefix = $"step_{globalStep}_";
        var parts = Directory.EnumerateFiles(dir, "*.json")
            .Where(p => Path.GetFileName(p).StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        if (parts.Count == 0) return new EvalMergeReport(null, [], []);

        var mergedPath = MergedPath(outDir, runName, globalStep);
        var merged = new List<KeyValuePair<string, object?>>();
        if (File.Exists(mergedPath))
        {
            var existing = ReadResults(mergedPath, out var error)
                ?? throw new InvalidDataException($"{mergedPath}: cannot merge into it: {error}");
            merged.AddRange(existing);
        }
        var used = new List<string>();
        var corrupt = new List<CorruptResultPart>();
        foreach (var part in parts)
        {
            var results = ReadResults(part, out var error);
            if (results is null) { corrupt.Add(new CorruptResultPart(part, error!)); continue; }
            merged.AddRange(results);
            used.Add(part);
        }
        if (used.Count == 0) return new EvalMergeReport(null, [], corrupt);
        WriteAtomically(mergedPath, PyJson.Write(Document(globalStep, Dedupe(merged))));
        foreach (var part in used) File.Delete(part);
        return new EvalMergeReport(mergedPath, used, corrupt);
    }

    /// <summary>
    /// The merged files of a run folder, as train.py finds them (<c>^step_(\d+)\.json$</c>), by step, with their
    /// numeric results (what it logs as <c>lmms_eval/{key}</c>); unreadable files are skipped and named in
    /// <paramref name="unreadable"/>.
    /// </summary>
    public static IReadOnlyList<(long Step, IReadOnlyList<KeyValuePair<string, double>> Results)> ReadMerged(string runDir, out IReadOnlyList<CorruptResultPart> unreadable)
    {
        var found = new List<(long, IReadOnlyList<KeyValuePair<string, double>>)>();
        var bad = new List<CorruptResultPart>();
        if (Directory.Exists(runDir))
            foreach (var path in Directory.EnumerateFiles(runDir))
            {
                var m = MergedName.Match(Path.GetFileName(path));
                if (!m.Success || !long.TryParse(m.Groups[1].Value, out long step)) continue;
                var results = ReadResults(path, out var error);
                if (results is null) { bad.Add(new CorruptResultPart(path, error!)); continue; }
                found.Add((step, results.Where(kv => kv.Value is PyJson.Number).Select(kv =>
                    new KeyValuePair<string, double>(kv.Key, ((PyJson.Number)kv.Value!).Integer is { } i ? (double)i : ((PyJson.Number)kv.Value!).Float)).ToList()));
            }
        unreadable = bad;
        return found.OrderBy(f => f.Item1).ToList();
    }

    private static readonly Regex MergedName = new(@"^step_(\d+)\.json$", RegexOptions.CultureInvariant);

    private static List<KeyValuePair<string, object?>> Document(long globalStep, List<KeyValuePair<string, object?>> results) =>
        [new("global_step", globalStep), new("results", results)];

    private static List<KeyValuePair<string, object?>> Dedupe(IEnumerable<KeyValuePair<string, object?>> entries)
    {
        var list = new List<KeyValuePair<string, object?>>();
        var index = new Dictionary<string, int>();
        foreach (var kv in entries)
        {
            if (index.TryGetValue(kv.Key, out int at)) list[at] = kv;
            else { index[kv.Key] = list.Count; list.Add(kv); }
        }
        return list;
    }

    private static List<KeyValuePair<string, object?>>? ReadResults(string path, out string? error)
    {
        error = null;
        object? doc;
        try
        {
            doc = PyJson.Parse(File.ReadAllText(path, new UTF8Encoding(false, true)));
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException or IOException)
        {
            error = $"not valid JSON: {e.Message}";
            return null;
        }
        if (doc is not List<KeyValuePair<string, object?>> obj) { error = "not a JSON object"; return null; }
        var results = obj.FirstOrDefault(kv => kv.Key == "results").Value;
        if (results is not List<KeyValuePair<string, object?>> pairs) { error = "no \"results\" object"; return null; }
        return pairs;
    }

    private static void WriteAtomically(string path, string text)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text, new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }
}

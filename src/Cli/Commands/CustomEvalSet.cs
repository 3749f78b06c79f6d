using System.Text.Json;
using NanoVlm.Engine;
using NanoVlm.Evaluation;

// Namespace NanoVlm.Cli (not .Commands), as the other commands.
namespace NanoVlm.Cli;

/// <summary>
/// One's own evaluation data for <c>nanovlm eval --data FILE.jsonl --metric M</c>: one JSON object per line,
/// <c>{"image": IMAGE, "question": "…", "answers": ["…", …]}</c>, where IMAGE is a path (relative to the JSONL file's
/// folder, or absolute) or a <c>data:…;base64,…</c> URI; <c>"images": [IMAGE, …]</c> for several images or none;
/// <c>"answer": "…"</c> for a single reference. Blank lines are skipped.
/// </summary>
internal static class CustomEvalSet
{
    /// <summary>The metrics <c>--metric</c> accepts: lmms-eval's ANLS (DocVQA), VQA accuracy with the EvalAI
    /// normalisation (TextVQA), and exact match of the stripped answer against any reference.</summary>
    public static readonly string[] Metrics = ["anls", "vqa_accuracy", "exact_match"];

    /// <summary>Reads the rows (images loaded), each with its references.</summary>
    /// <exception cref="InvalidDataException">A line that is not a JSON object, or a key missing or of the wrong type (names file, line, key).</exception>
    /// <exception cref="FileNotFoundException">The file or an image file does not exist.</exception>
    public static (List<EvalQuestion> Questions, List<IReadOnlyList<string>> Answers) Read(string path, int? limit)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"evaluation data {path} does not exist", path);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var questions = new List<EvalQuestion>();
        var answers = new List<IReadOnlyList<string>>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (limit is { } max && questions.Count >= max) break;
            string where = $"{path} line {lineNo}";
            JsonElement row;
            try
            {
                row = JsonDocument.Parse(line).RootElement;
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{where}: not valid JSON: {e.Message}", e);
            }
            if (row.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected a JSON object");
            string question = row.TryGetProperty("question", out var q) && q.ValueKind == JsonValueKind.String
                ? q.GetString()! : throw new InvalidDataException($"{where}: key 'question' is missing or not a string");
            var images = ImageValues(row, where).Select((v, k) => Image(v, folder, $"{where} image {k}")).ToList();
            questions.Add(new EvalQuestion(question, images));
            answers.Add(References(row, where));
        }
        if (questions.Count == 0) throw new InvalidDataException($"{path}: no rows");
        return (questions, answers);
    }

    /// <summary><c>{metric: mean, metric_stderr: …}</c> over the stripped answers, as lmms-eval aggregates "mean".</summary>
    public static IReadOnlyDictionary<string, double> Score(string metric, IReadOnlyList<string> generations, IReadOnlyList<IReadOnlyList<string>> references)
    {
        var scores = generations.Select((g, i) => metric switch
        {
            "anls" => AnlsMetric.Score(g.Trim(), references[i]),
            "vqa_accuracy" => VqaAccuracyMetric.Score(g.Trim(), references[i]),
            "exact_match" => references[i].Any(r => r.Trim() == g.Trim()) ? 1.0 : 0.0,
            _ => throw new ArgumentException($"unknown --metric '{metric}'; known: {string.Join(", ", Metrics)}"),
        }).ToList();
        var result = new Dictionary<string, double> { [metric] = LmmsAggregation.Mean(scores) };
        if (LmmsAggregation.MeanStderr(scores) is { } stderr) result[metric + "_stderr"] = stderr;
        return result;
    }

    private static List<string> ImageValues(JsonElement row, string where)
    {
        if (row.TryGetProperty("image", out var one))
            return one.ValueKind == JsonValueKind.String ? [one.GetString()!] : throw new InvalidDataException($"{where}: key 'image' should be a path or data: URI string");
        if (!row.TryGetProperty("images", out var many)) return [];
        if (many.ValueKind != JsonValueKind.Array || many.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            throw new InvalidDataException($"{where}: key 'images' should be an array of path or data: URI strings");
        return [.. many.EnumerateArray().Select(e => e.GetString()!)];
    }

    private static (byte[] Bytes, string Name) Image(string value, string folder, string where)
    {
        if (value.StartsWith("data:", StringComparison.Ordinal))
        {
            int comma = value.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !value.AsSpan(0, comma).EndsWith(";base64", StringComparison.Ordinal))
                throw new InvalidDataException($"{where}: a data: URI must be data:<type>;base64,<data>");
            try
            {
                return (Convert.FromBase64String(value[(comma + 1)..]), where);
            }
            catch (FormatException e)
            {
                throw new InvalidDataException($"{where}: invalid base64: {e.Message}", e);
            }
        }
        string file = Path.Combine(folder, value);
        if (!File.Exists(file)) throw new FileNotFoundException($"{where}: image file {file} does not exist", file);
        return (File.ReadAllBytes(file), $"{where} ({file})");
    }

    private static List<string> References(JsonElement row, string where)
    {
        if (row.TryGetProperty("answers", out var many))
        {
            if (many.ValueKind != JsonValueKind.Array || many.GetArrayLength() == 0 || many.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                throw new InvalidDataException($"{where}: key 'answers' should be a non-empty array of strings");
            return [.. many.EnumerateArray().Select(e => e.GetString()!)];
        }
        if (row.TryGetProperty("answer", out var one) && one.ValueKind == JsonValueKind.String) return [one.GetString()!];
        throw new InvalidDataException($"{where}: key 'answers' (array of strings) or 'answer' (string) is missing");
    }
}

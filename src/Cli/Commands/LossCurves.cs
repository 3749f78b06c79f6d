using System.Globalization;
using System.Text.Json;

// Namespace NanoVlm.Cli (not .Commands), as the commands.
namespace NanoVlm.Cli;

/// <summary>The loss series of a run's <c>metrics.jsonl</c>: <c>batch_loss</c> of every optimizer step and
/// <c>val_loss</c> of every validation, each by step (a step logged twice, as after a resume, keeps its last value).</summary>
/// <param name="BatchSteps">Steps with a batch loss, ascending.</param>
/// <param name="BatchLoss">The batch losses, in the order of <paramref name="BatchSteps"/>.</param>
/// <param name="ValSteps">Steps with a validation loss, ascending.</param>
/// <param name="ValLoss">The validation losses, in the order of <paramref name="ValSteps"/>.</param>
internal sealed record LossCurves(double[] BatchSteps, double[] BatchLoss, double[] ValSteps, double[] ValLoss)
{
    /// <summary>Reads the series from a <c>metrics.jsonl</c> (rows without either key, such as benchmark results, are
    /// ignored; non-finite losses are left out).</summary>
    /// <param name="metricsPath">The file.</param>
    /// <returns>The series.</returns>
    /// <exception cref="InvalidDataException">A line is not a JSON object, or its step or loss is not a number (file
    /// and line named).</exception>
    public static LossCurves Read(string metricsPath)
    {
        var batch = new SortedDictionary<long, double>();
        var val = new SortedDictionary<long, double>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(metricsPath))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var row = doc.RootElement;
                if (row.ValueKind != JsonValueKind.Object) throw new InvalidDataException("not a JSON object");
                bool hasBatch = row.TryGetProperty("batch_loss", out var b), hasVal = row.TryGetProperty("val_loss", out var v);
                if (!hasBatch && !hasVal) continue;
                long step = row.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number
                    ? s.GetInt64() : throw new InvalidDataException("no numeric \"step\"");
                if (hasBatch) Add(batch, step, b, "batch_loss");
                if (hasVal) Add(val, step, v, "val_loss");
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or FormatException)
            {
                throw new InvalidDataException($"{metricsPath}, line {lineNo}: {e.Message}", e);
            }
        }
        return new LossCurves(batch.Keys.Select(k => (double)k).ToArray(), batch.Values.ToArray(),
            val.Keys.Select(k => (double)k).ToArray(), val.Values.ToArray());
    }

    private static void Add(SortedDictionary<long, double> series, long step, JsonElement value, string key)
    {
        // The log writes non-finite values as the strings "NaN", "Infinity" (JsonSerializer's named literals).
        double x = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String => double.Parse(value.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture),
            _ => throw new InvalidDataException($"\"{key}\" is not a number"),
        };
        if (double.IsFinite(x)) series[step] = x;
        else series.Remove(step);
    }
}

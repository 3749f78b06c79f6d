using ScottPlot;

// Namespace NanoVlm.Cli (not .Commands), as the commands.
namespace NanoVlm.Cli;

/// <summary>
/// The loss-curve PNG at the end of <c>nanovlm train</c> (<c>RUN/loss.png</c>): batch loss per step and validation
/// loss per validation, drawn with ScottPlot from the run's <c>metrics.jsonl</c>.
/// </summary>
internal static class LossChart
{
    /// <summary>The file name in the run folder.</summary>
    public const string FileName = "loss.png";

    /// <summary>Colour of the batch-loss line.</summary>
    public static readonly Color BatchColor = Color.FromHex("#1f77b4");

    /// <summary>Colour of the validation-loss line and markers.</summary>
    public static readonly Color ValColor = Color.FromHex("#d62728");

    private const string FontName = "nanovlm-chart";

    // SkiaSharp's Linux NoDependencies native library does not ask fontconfig for fonts, so ScottPlot finds no
    // typeface and draws no text at all; a TrueType file from the usual folders is registered instead (none: the
    // chart is drawn without labels).
    private static readonly string[] FontCandidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf", "/Library/Fonts/Arial.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf", @"C:\Windows\Fonts\arial.ttf",
    ];

    private static readonly Lazy<string?> Font = new(() =>
    {
        string? path = FontCandidates.FirstOrDefault(File.Exists);
        if (path is not null) Fonts.AddFontFile(FontName, path);
        return path is null ? null : FontName;
    });

    /// <summary>Draws <paramref name="curves"/> into a PNG.</summary>
    /// <param name="curves">The series.</param>
    /// <param name="pngPath">The file to write.</param>
    /// <param name="width">Pixels.</param>
    /// <param name="height">Pixels.</param>
    /// <param name="title">The chart's title.</param>
    public static void Write(LossCurves curves, string pngPath, int width = 900, int height = 500, string title = "nanovlm train")
    {
        ArgumentNullException.ThrowIfNull(curves);
        using var plot = new Plot();
        if (Font.Value is { } font) plot.Font.Set(font);
        if (curves.BatchSteps.Length > 0)
        {
            var batch = plot.Add.ScatterLine(curves.BatchSteps, curves.BatchLoss, BatchColor);
            batch.LegendText = "batch_loss";
            batch.LineWidth = 1.5f;
        }
        if (curves.ValSteps.Length > 0)
        {
            var val = plot.Add.Scatter(curves.ValSteps, curves.ValLoss, ValColor);
            val.LegendText = "val_loss";
            val.LineWidth = 2;
            val.MarkerSize = 8;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(pngPath, width, height);
    }

    /// <summary>Reads <c>RUN/metrics.jsonl</c> and writes <c>RUN/loss.png</c>.</summary>
    /// <param name="runDirectory">The run folder.</param>
    /// <returns>The PNG's path, or null when the log has no loss yet.</returns>
    public static string? WriteForRun(string runDirectory)
    {
        string metrics = Path.Combine(runDirectory, "metrics.jsonl");
        if (!File.Exists(metrics)) return null;
        var curves = LossCurves.Read(metrics);
        if (curves.BatchSteps.Length == 0 && curves.ValSteps.Length == 0) return null;
        string png = Path.Combine(runDirectory, FileName);
        Write(curves, png, title: $"nanovlm train: {Path.GetFileName(Path.TrimEndingDirectorySeparator(runDirectory))}");
        return png;
    }
}

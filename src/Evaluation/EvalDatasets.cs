using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>Where a task's data comes from and the columns its functions use (from the data sets' cards).</summary>
/// <param name="Task">The lmms-eval task.</param>
/// <param name="Dataset">The Hugging Face data set lmms-eval loads (<c>dataset_path</c>).</param>
/// <param name="Config">Its configuration (<c>dataset_name</c>), or null.</param>
/// <param name="Split">The split evaluated.</param>
/// <param name="RequiredColumns">Columns every file must have.</param>
/// <param name="ImageColumns">Columns holding images as <c>{"bytes": binary, "path": string}</c> structs (the
/// <c>datasets</c> Image feature); MMMU's seven may be null when a question has fewer images.</param>
public sealed record EvalDatasetLayout(string Task, string Dataset, string? Config, string Split,
    IReadOnlyList<string> RequiredColumns, IReadOnlyList<string> ImageColumns);

/// <summary>
/// Reads benchmark documents from local copies of the parquet files their public releases use (no hub access),
/// checking the layout: a missing file or column is an error naming the task, the file and the column.
/// </summary>
public static class EvalDatasets
{
    private static readonly EvalDatasetLayout[] Layouts =
    [
        new("mmstar", "Lin-Chen/MMStar", null, "val", ["question", "answer", "category", "l2_category", "image"], ["image"]),
        new("mmmu_val", "lmms-lab/MMMU", null, "validation", ["id", "question", "options", "question_type", "answer"],
            ["image_1", "image_2", "image_3", "image_4", "image_5", "image_6", "image_7"]),
        new("ocrbench", "echo840/OCRBench", null, "test", ["question", "answer", "dataset", "question_type", "image"], ["image"]),
        new("textvqa_val", "lmms-lab/textvqa", null, "validation", ["question", "answers", "image"], ["image"]),
        new("docvqa_val", "lmms-lab/DocVQA", "DocVQA", "validation", ["question", "answers", "image"], ["image"]),
        new("infovqa_val", "lmms-lab/DocVQA", "InfographicVQA", "validation", ["question", "answers", "image"], ["image"]),
        new("chartqa", "lmms-lab/ChartQA", null, "test", ["question", "answer", "type", "image"], ["image"]),
        new("scienceqa", "lmms-lab/ScienceQA", "ScienceQA-FULL", "test", ["question", "hint", "choices", "answer", "image"], ["image"]),
        new("scienceqa_img", "lmms-lab/ScienceQA", "ScienceQA-IMG", "test", ["question", "hint", "choices", "answer", "image"], ["image"]),
        new("mme", "lmms-lab/MME", null, "test", ["question_id", "question", "answer", "category", "image"], ["image"]),
    ];

    private static readonly ITableReader Reader = new ParquetNetTableReader();

    /// <summary>The layout of <paramref name="task"/>'s data.</summary>
    /// <exception cref="ArgumentException">Unknown task.</exception>
    public static EvalDatasetLayout Layout(string task) =>
        Layouts.FirstOrDefault(l => l.Task == task)
        ?? throw new ArgumentException($"unknown evaluation task '{task}'; known: {string.Join(", ", Layouts.Select(l => l.Task))}", nameof(task));

    /// <summary>
    /// The documents of <paramref name="task"/> from a parquet file, or from every <c>*.parquet</c> under a folder (in
    /// ordinal path order, as the data sets' shards are named), each with the source "file row N".
    /// </summary>
    /// <param name="task">The lmms-eval task.</param>
    /// <param name="path">A parquet file or a folder of them.</param>
    /// <param name="limit">Stop after this many documents (lmms-eval's <c>--limit</c>); null for all.</param>
    /// <exception cref="FileNotFoundException">No such file or folder, or a folder without parquet files.</exception>
    /// <exception cref="InvalidDataException">A file that is not parquet or lacks a required column (names task, file, column).</exception>
    public static IEnumerable<EvalDocument> ReadParquet(string task, string path, int? limit = null)
    {
        var layout = Layout(task);
        var files = Files(task, path);
        foreach (var file in files) CheckColumns(layout, file);
        int n = 0;
        foreach (var file in files)
        {
            long row = 0;
            foreach (var columns in Rows(task, file))
            {
                if (limit is { } max && n >= max) yield break;
                yield return new EvalDocument(columns, $"{task}: {file} row {row++}");
                n++;
            }
        }
    }

    /// <summary>The encoded image (JPEG, PNG, …) in an image column, as the <c>datasets</c> Image feature stores it.</summary>
    /// <exception cref="InvalidDataException">The column is missing, null, or not a <c>{"bytes": …}</c> struct with bytes.</exception>
    public static byte[] ImageBytes(EvalDocument doc, string column) => doc.Raw(column) switch
    {
        IReadOnlyDictionary<string, object?> s when s.TryGetValue("bytes", out var b) && b is byte[] bytes => bytes,
        byte[] raw => raw,
        IReadOnlyDictionary<string, object?> s when s.GetValueOrDefault("bytes") is null =>
            throw new InvalidDataException($"{doc.Source}: image column '{column}' is null (no bytes)"),
        null => throw new InvalidDataException($"{doc.Source}: image column '{column}' is {(doc.Has(column) ? "null" : "missing")}"),
        var other => throw new InvalidDataException($"{doc.Source}: image column '{column}' should be a struct with 'bytes', but is {other.GetType().Name}"),
    };

    private static List<string> Files(string task, string path)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) throw new FileNotFoundException($"task '{task}': no parquet file or folder {path}", path);
        var files = Directory.EnumerateFiles(path, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        return files.Count > 0 ? files : throw new FileNotFoundException($"task '{task}': no *.parquet files under {path}", path);
    }

    private static void CheckColumns(EvalDatasetLayout layout, string file)
    {
        IReadOnlyList<string> columns;
        try
        {
            columns = Reader.Columns(file);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            throw new InvalidDataException($"task '{layout.Task}': {file} is not a readable parquet file: {e.Message}", e);
        }
        foreach (var column in layout.RequiredColumns)
            if (!columns.Contains(column))
                throw new InvalidDataException($"task '{layout.Task}': {file} has no column '{column}' (it has: {string.Join(", ", columns)}); expected the {layout.Dataset} layout");
    }

    private static IEnumerable<IReadOnlyDictionary<string, object?>> Rows(string task, string file)
    {
        using var rows = Reader.Rows(file).GetEnumerator();
        while (true)
        {
            try
            {
                if (!rows.MoveNext()) yield break;
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                throw new InvalidDataException($"task '{task}': {file}: cannot read rows: {e.Message}", e);
            }
            yield return rows.Current;
        }
    }
}

namespace NanoVlm.SampleData;

/// <summary>What <see cref="SampleDataWriter.Write"/> wrote.</summary>
/// <param name="Files">Shard files written (parquet, jsonl, tar), sorted by path; image files of the
/// JSON Lines format are not listed.</param>
/// <param name="Rows">Rows (the same rows in every format).</param>
/// <param name="Images">Images over all rows.</param>
/// <param name="Turns">Question/answer turns over all rows.</param>
/// <param name="ImageBytes">Encoded image bytes over all rows (per format).</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record SampleDataResult(IReadOnlyList<string> Files, long Rows, long Images, long Turns, long ImageBytes,
    TimeSpan Elapsed);

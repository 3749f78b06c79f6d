namespace NanoVlm.SampleData;

/// <summary>Which on-disk formats <see cref="SampleDataWriter"/> writes (the same rows in each).</summary>
[Flags]
public enum SampleDataFormats
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>FineVision-layout parquet shards, <c>DIR/sample-KKKKK-of-NNNNN.parquet</c>.</summary>
    Parquet = 1,

    /// <summary>JSON Lines shards with image files, <c>DIR/jsonl/sample-KKKKK-of-NNNNN.jsonl</c> and <c>DIR/jsonl/images/</c>.</summary>
    Jsonl = 2,

    /// <summary>WebDataset tar shards, <c>DIR/webdataset/sample-KKKKK-of-NNNNN.tar</c>.</summary>
    WebDataset = 4,

    /// <summary>All three.</summary>
    All = Parquet | Jsonl | WebDataset,
}

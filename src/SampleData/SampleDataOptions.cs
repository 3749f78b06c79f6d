namespace NanoVlm.SampleData;

/// <summary>What <see cref="SampleDataWriter"/> generates.</summary>
public sealed record SampleDataOptions
{
    /// <summary>Total rows over all shards.</summary>
    public int Rows { get; init; } = 1000;

    /// <summary>Seed: the same seed gives byte-identical files.</summary>
    public int Seed { get; init; }

    /// <summary>Number of shards per format; rows are split into contiguous, near-equal ranges.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>Rows per parquet row group (also the rendering batch).</summary>
    public int RowGroupSize { get; init; } = 128;

    /// <summary>Formats to write.</summary>
    public SampleDataFormats Formats { get; init; } = SampleDataFormats.Parquet;

    /// <summary>Throws <see cref="ArgumentException"/> for out-of-range values.</summary>
    public void Validate()
    {
        if (Rows < 0) throw new ArgumentException($"rows must be >= 0, got {Rows}");
        if (Shards < 1) throw new ArgumentException($"shards must be >= 1, got {Shards}");
        if (RowGroupSize < 1) throw new ArgumentException($"row group size must be >= 1, got {RowGroupSize}");
        if (Formats == SampleDataFormats.None || (Formats & ~SampleDataFormats.All) != 0)
            throw new ArgumentException($"formats must name parquet, jsonl and/or webdataset, got {Formats}");
    }
}

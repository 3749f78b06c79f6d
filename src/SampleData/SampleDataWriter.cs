using System.Diagnostics;

namespace NanoVlm.SampleData;

/// <summary>
/// Writes the built-in synthetic data set (<see cref="SyntheticSampleGenerator"/>) as FineVision-layout parquet and,
/// optionally, the same rows as JSON Lines + image files and as WebDataset tar shards.
/// </summary>
/// <remarks>Rows are rendered in parallel one row group at a time and written once per format, so memory stays at
/// one row group of encoded images. Output is deterministic for a seed.</remarks>
public static class SampleDataWriter
{
    /// <summary>Writes the data set into <paramref name="outDir"/> (created if needed) and reports what it wrote.</summary>
    public static SampleDataResult Write(string outDir, SampleDataOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        long images = 0, turns = 0, bytes = 0;
        for (var k = 0; k < options.Shards; k++)
        {
            long first = (long)options.Rows * k / options.Shards, end = (long)options.Rows * (k + 1) / options.Shards;
            var name = $"sample-{k:D5}-of-{options.Shards:D5}";
            using var writers = new ShardWriters(outDir, name, options.Formats, files);
            for (var start = first; start < end; start += options.RowGroupSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rows = SyntheticSampleGenerator.Generate(start, (int)Math.Min(options.RowGroupSize, end - start), options.Seed);
                writers.Write(rows);
                foreach (var r in rows)
                {
                    images += r.Images.Count;
                    turns += r.Text.Texts?.Count ?? 0;
                    foreach (var i in r.Images) bytes += i.Encoded.Length;
                }
            }
        }
        files.Sort(StringComparer.Ordinal);
        return new SampleDataResult(files, options.Rows, images, turns, bytes, clock.Elapsed);
    }

    /// <summary>The writers of one shard in every requested format.</summary>
    private sealed class ShardWriters : IDisposable
    {
        private readonly FineVisionParquetWriter? _parquet;
        private readonly JsonlShardWriter? _jsonl;
        private readonly WebDatasetShardWriter? _tar;

        public ShardWriters(string dir, string name, SampleDataFormats formats, List<string> files)
        {
            if (formats.HasFlag(SampleDataFormats.Parquet))
            {
                var path = Path.Combine(dir, name + ".parquet");
                _parquet = new FineVisionParquetWriter(path);
                files.Add(path);
            }
            if (formats.HasFlag(SampleDataFormats.Jsonl))
            {
                var path = Path.Combine(dir, "jsonl", name + ".jsonl");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                _jsonl = new JsonlShardWriter(path);
                files.Add(path);
            }
            if (formats.HasFlag(SampleDataFormats.WebDataset))
            {
                var path = Path.Combine(dir, "webdataset", name + ".tar");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                _tar = new WebDatasetShardWriter(path);
                files.Add(path);
            }
        }

        public void Write(SyntheticSample[] rows)
        {
            _parquet?.WriteRowGroup(rows);
            foreach (var r in rows)
            {
                _jsonl?.Write(r);
                _tar?.Write(r);
            }
        }

        public void Dispose()
        {
            _parquet?.Dispose();
            _jsonl?.Dispose();
            _tar?.Dispose();
        }
    }
}

using System.Text;
using NanoVlm.Loader.Sources.Internal;

namespace NanoVlm.Loader.Sources;

/// <summary>
/// JSON Lines shards: one record per line,
/// <c>{"images": ["rel/path.jpg", ...], "texts": [{"user": .., "assistant": ..}], "source": .., "relevance_ratings": [..], ..}</c>
/// (ratings and source optional, entries may be null), image paths relative to the .jsonl file. Each file is a shard.
/// </summary>
/// <remarks>Rows are the non-blank lines counted from 0; <see cref="FileRowSource.ReadShard"/> from a later row skips lines without
/// parsing them. A bad line (invalid JSON, wrong field type, missing <c>texts</c>, missing image file) raises a
/// <see cref="DataSourceException"/> with the file, the row and the line number; a consumer that wants to skip the
/// row can resume at <see cref="DataSourceException.Row"/> + 1. Each image file is read into its own array.</remarks>
public sealed class JsonlRowSource : FileRowSource
{

    /// <summary>Reads the given .jsonl files in the given order.</summary>
    public JsonlRowSource(IEnumerable<string> shardPaths, string? name = null)
        : base(shardPaths, name) { }

    /// <summary>Opens a .jsonl file, every .jsonl file in a folder, or a glob (sorted by path).</summary>
    public static JsonlRowSource Open(string path) => new(ShardPaths.Expand(path, ".jsonl"), path);

    private protected override IEnumerable<SourceRow> Rows(string path, int shard, long startRow, CancellationToken cancellationToken)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        using var reader = OpenText(path);
        long row = -1, lineNumber = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var line = ReadLine(reader, path, row + 1);
            if (line is null) yield break;
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (++row < startRow) continue;
            var where = $"line {lineNumber}";
            var record = JsonRecord.Parse(Encoding.UTF8.GetBytes(line), path, row, where);
            var images = new ReadOnlyMemory<byte>[record.ImagePaths.Length];
            for (var k = 0; k < images.Length; k++)
                images[k] = ReadImage(Path.Combine(dir, record.ImagePaths[k]), path, row, where, k);
            yield return new SourceRow
            {
                Position = new RowPosition(shard, 0, row),
                ShardName = path,
                Text = record.Text,
                Images = images,
                Source = record.Source,
            };
        }
    }

    private static StreamReader OpenText(string path)
    {
        try
        {
            return new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true,
                new FileStreamOptions { BufferSize = 1 << 16, Options = FileOptions.SequentialScan });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataSourceException(path, $"cannot open: {e.Message}", inner: e);
        }
    }

    private static string? ReadLine(StreamReader reader, string path, long row)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (IOException e)
        {
            throw new DataSourceException(path, $"cannot read: {e.Message}", row: row, inner: e);
        }
    }

    private static byte[] ReadImage(string file, string shard, long row, string where, int k)
    {
        try
        {
            return File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataSourceException(shard, $"{where}: cannot read image file '{file}': {e.Message}", row: row,
                column: $"images[{k}]", inner: e);
        }
    }
}

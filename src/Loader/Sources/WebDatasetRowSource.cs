using System.Globalization;
using System.IO.Pipelines;
using NanoVlm.Loader.Sources.Internal;

namespace NanoVlm.Loader.Sources;

/// <summary>
/// WebDataset tar shards read sequentially through System.IO.Pipelines. Consecutive members sharing a key (the path up
/// to the first dot of the file name) form one row: <c>KEY.json</c> holds the record (texts, ratings, source; same
/// fields as a JSON Lines record) and the images are <c>KEY.jpg</c> / <c>.jpeg</c> / <c>.png</c> / <c>.webp</c>
/// (one image) or <c>KEY.0.jpg</c>, <c>KEY.1.png</c>, ... (several, in index order). Other members are ignored.
/// </summary>
/// <remarks>Headers are parsed here (ustar with prefix, GNU long names, pax <c>path</c>). Each image is copied once
/// out of the pipe into its own array. <see cref="FileRowSource.ReadShard"/> from a later row skips earlier members' data without
/// copying it. A damaged header, a shard cut short (including a missing end-of-archive marker) or a row without a
/// <c>.json</c> member raises a <see cref="DataSourceException"/> naming the shard, row and member.</remarks>
public sealed class WebDatasetRowSource : FileRowSource
{
    private static readonly string[] ImageExtensions = ["jpg", "jpeg", "png", "webp", "gif", "bmp"];

    /// <summary>Reads the given .tar files in the given order.</summary>
    public WebDatasetRowSource(IEnumerable<string> shardPaths, string? name = null)
        : base(shardPaths, name) { }

    /// <summary>Opens a .tar file, every .tar file in a folder, or a glob (sorted by path).</summary>
    public static WebDatasetRowSource Open(string path) => new(ShardPaths.Expand(path, ".tar"), path);

    private protected override IEnumerable<SourceRow> Rows(string path, int shard, long startRow, CancellationToken cancellationToken)
    {
        using var file = OpenFile(path);
        var pipe = PipeReader.Create(file, new StreamPipeReaderOptions(bufferSize: 1 << 16, minimumReadSize: 1 << 14, leaveOpen: true));
        try
        {
            var tar = new TarMemberReader(pipe, path);
            var group = new Group();
            long row = -1;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var next = tar.Next(row, cancellationToken);
                var key = next is { } h ? Key(h.Name) : null;
                if (next is null || key != group.Key)
                {
                    if (group.Key is not null && row >= startRow) yield return group.ToRow(path, shard, row);
                    if (next is null) yield break;
                    row++;
                    group.Reset(key!);
                }
                var header = next.Value;
                if (row < startRow)
                {
                    tar.SkipData(header, row, cancellationToken);
                    continue;
                }
                var ext = Extension(header.Name);
                if (ext.Equals("json", StringComparison.OrdinalIgnoreCase))
                {
                    group.Json = tar.ReadData(header, row, cancellationToken);
                    group.JsonMember = header.Name;
                }
                else if (ImageIndex(ext) is { } index)
                {
                    if (group.Images.ContainsKey(index))
                        throw new DataSourceException(path, $"image {index} of key '{key}' appears twice", row: row, column: header.Name);
                    group.Images[index] = tar.ReadData(header, row, cancellationToken);
                }
                else
                {
                    tar.SkipData(header, row, cancellationToken);
                }
            }
        }
        finally
        {
            pipe.Complete();
        }
    }

    private static FileStream OpenFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataSourceException(path, $"cannot open: {e.Message}", inner: e);
        }
    }

    // WebDataset's key: the member path up to the first dot of its file name.
    private static string Key(string name)
    {
        var slash = name.LastIndexOf('/');
        var dot = name.IndexOf('.', slash + 1);
        return dot < 0 ? name : name[..dot];
    }

    // Everything after the first dot of the file name ("0.jpg" for "dir/key.0.jpg"), empty when there is none.
    private static string Extension(string name)
    {
        var slash = name.LastIndexOf('/');
        var dot = name.IndexOf('.', slash + 1);
        return dot < 0 ? "" : name[(dot + 1)..];
    }

    // "jpg" -> 0, "3.png" -> 3; null when the member is not an image.
    private static int? ImageIndex(string ext)
    {
        var dot = ext.LastIndexOf('.');
        var kind = dot < 0 ? ext : ext[(dot + 1)..];
        if (!ImageExtensions.Contains(kind, StringComparer.OrdinalIgnoreCase)) return null;
        if (dot < 0) return 0;
        return int.TryParse(ext.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;
    }

    /// <summary>The members of the row being assembled.</summary>
    private sealed class Group
    {
        public string? Key { get; private set; }

        public byte[]? Json { get; set; }

        public string? JsonMember { get; set; }

        public SortedDictionary<int, byte[]> Images { get; } = [];

        public void Reset(string key)
        {
            Key = key;
            Json = null;
            JsonMember = null;
            Images.Clear();
        }

        public SourceRow ToRow(string path, int shard, long row)
        {
            if (Json is null)
                throw new DataSourceException(path, $"key '{Key}' has no .json member", row: row, column: Key + ".json");
            var record = JsonRecord.Parse(Json, path, row, $"member '{JsonMember}'");
            return new SourceRow
            {
                Position = new RowPosition(shard, 0, row),
                ShardName = path,
                Text = record.Text,
                Images = Images.Values.Select(b => (ReadOnlyMemory<byte>)b).ToArray(),
                Source = record.Source,
            };
        }
    }
}

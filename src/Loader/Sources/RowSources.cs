using NanoVlm.Loader.Sources.Internal;

namespace NanoVlm.Loader.Sources;

/// <summary>Opens the right <see cref="IRowSource"/> for a path (what <c>nanovlm loader --data PATH</c> calls).</summary>
public static class RowSources
{
    private static readonly (string Extension, Func<IReadOnlyList<string>, string, IRowSource> Create)[] Kinds =
    [
        (".parquet", (shards, name) => new ParquetRowSource(shards, name)),
        (".jsonl", (shards, name) => new JsonlRowSource(shards, name)),
        (".tar", (shards, name) => new WebDatasetRowSource(shards, name)),
    ];

    /// <summary>
    /// Opens <paramref name="path"/> as a row source, choosing the format from the extension:
    /// <list type="bullet">
    /// <item>a file: <c>.parquet</c> → <see cref="ParquetRowSource"/>, <c>.jsonl</c> → <see cref="JsonlRowSource"/>,
    /// <c>.tar</c> → <see cref="WebDatasetRowSource"/> (one shard);</item>
    /// <item>a glob in the last path component (<c>data/train-*.parquet</c>): the matching files, whose extension picks
    /// the format;</item>
    /// <item>a folder: the files of that one kind directly inside it (not recursive); a folder holding several kinds is
    /// ambiguous and rejected: pass a glob instead.</item>
    /// </list>
    /// Shards are sorted by ordinal path. Nothing is read until a shard is enumerated, so schema errors surface as
    /// <see cref="DataSourceException"/> from <see cref="IRowSource.ReadShard"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing matches the path.</exception>
    /// <exception cref="ArgumentException">The extension is not one of the three, or a folder holds several kinds.</exception>
    public static IRowSource Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path) && !ShardPaths.IsGlob(path))
        {
            var present = Kinds.Where(k => Directory.EnumerateFiles(path, "*" + k.Extension, SearchOption.TopDirectoryOnly).Any())
                .ToArray();
            return present.Length switch
            {
                0 => throw new FileNotFoundException(
                    $"{path}: no {string.Join(", ", Kinds.Select(k => k.Extension))} files in this folder.", path),
                1 => present[0].Create(ShardPaths.Expand(path, present[0].Extension), path),
                _ => throw new ArgumentException(
                    $"{path}: the folder holds {string.Join(" and ", present.Select(k => k.Extension))} files; " +
                    $"pass a glob such as {Path.Combine(path, "*" + present[0].Extension)} to pick one.", nameof(path)),
            };
        }
        var kind = Kinds.FirstOrDefault(k => path.EndsWith(k.Extension, StringComparison.OrdinalIgnoreCase));
        if (kind.Create is null)
            throw new ArgumentException(
                $"{path}: unknown data format; expected a .parquet, .jsonl or .tar file, a folder of them, or a glob.", nameof(path));
        return kind.Create(ShardPaths.Expand(path, kind.Extension), path);
    }
}

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>Expands a file, folder or glob into a sorted list of shard paths with a given extension.</summary>
internal static class ShardPaths
{
    /// <summary>True when the path's file-name part contains a wildcard (<c>*</c> or <c>?</c>).</summary>
    public static bool IsGlob(string path) => Path.GetFileName(path).AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>
    /// The shards named by <paramref name="path"/>: the file itself, every <paramref name="extension"/> file directly in
    /// a folder, or the files matching a glob in its last component (e.g. <c>data/train-*.parquet</c>). Sorted by
    /// ordinal path so every rank and every run sees the same order.
    /// </summary>
    public static IReadOnlyList<string> Expand(string path, string extension)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (IsGlob(path))
        {
            var dir = Path.GetDirectoryName(path);
            dir = string.IsNullOrEmpty(dir) ? "." : dir;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{path}: folder '{dir}' does not exist.");
            return Sorted(Directory.EnumerateFiles(dir, Path.GetFileName(path), SearchOption.TopDirectoryOnly)
                .Where(f => f.EndsWith(extension, StringComparison.OrdinalIgnoreCase)), path, extension);
        }
        if (Directory.Exists(path))
            return Sorted(Directory.EnumerateFiles(path, "*" + extension, SearchOption.TopDirectoryOnly), path, extension);
        if (File.Exists(path)) return [Path.GetFullPath(path)];
        throw new FileNotFoundException($"{path}: no such file or folder.", path);
    }

    private static string[] Sorted(IEnumerable<string> files, string path, string extension)
    {
        var list = files.Select(Path.GetFullPath).ToArray();
        if (list.Length == 0) throw new FileNotFoundException($"{path}: no {extension} files found.", path);
        Array.Sort(list, StringComparer.Ordinal);
        return list;
    }
}

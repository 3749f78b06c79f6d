namespace NanoVlm.SampleData;

/// <summary>Writes samples as a JSON Lines shard plus image files in an <c>images/</c> folder next to it; paths in the
/// records are relative to the .jsonl file.</summary>
internal sealed class JsonlShardWriter : IDisposable
{
    private readonly string _dir;
    private readonly FileStream _file;

    public JsonlShardWriter(string path)
    {
        _dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(Path.Combine(_dir, "images"));
        _file = File.Create(path);
    }

    public void Write(SyntheticSample sample)
    {
        var paths = new string[sample.Images.Count];
        for (var i = 0; i < paths.Length; i++)
        {
            var image = sample.Images[i];
            paths[i] = $"images/{sample.Index:D7}_{i}.{image.Extension}";
            File.WriteAllBytes(Path.Combine(_dir, paths[i]), image.Encoded);
        }
        _file.Write(SampleRecordJson.ToUtf8(sample, paths));
        _file.WriteByte((byte)'\n');
    }

    public void Dispose() => _file.Dispose();
}

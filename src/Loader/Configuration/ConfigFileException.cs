namespace NanoVlm.Loader.Configuration;

/// <summary>A configuration file that cannot be used: not JSON, not an object, an unknown key or a value of the
/// wrong type. The message names the file and the key.</summary>
public sealed class ConfigFileException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="file">The file (or source name) of the configuration.</param>
    /// <param name="key">The offending key; null when the file as a whole is unusable.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public ConfigFileException(string file, string? key, string problem, Exception? inner = null)
        : base(key is null ? $"{file}: {problem}" : $"{file}: key \"{key}\": {problem}", inner)
    {
        File = file;
        Key = key;
    }

    /// <summary>The file (or source name).</summary>
    public string File { get; }

    /// <summary>The offending key, or null.</summary>
    public string? Key { get; }
}

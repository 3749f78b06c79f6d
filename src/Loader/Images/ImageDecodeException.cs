namespace NanoVlm.Loader.Images;

/// <summary>
/// Thrown when an image cannot be probed or decoded. Every failure of <see cref="ImageProbe"/> and
/// <see cref="ImageDecoder"/> on bad input is reported with this type (never a partial image); the message names the
/// input (the caller's name, e.g. "shard-00001.parquet row 17 image 0") and the <see cref="Reason"/>.
/// </summary>
public sealed class ImageDecodeException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="name">Caller-provided name of the input (shard, row, field).</param>
    /// <param name="reason">Why the input was rejected.</param>
    /// <param name="detail">Extra detail for the message (may be empty).</param>
    public ImageDecodeException(string name, ImageDecodeFailure reason, string detail)
        : base(FormatMessage(name, reason, detail))
    {
        InputName = name;
        Reason = reason;
        _detail = detail;
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    /// <param name="name">Caller-provided name of the input.</param>
    /// <param name="reason">Why the input was rejected.</param>
    /// <param name="detail">Extra detail for the message.</param>
    /// <param name="inner">The underlying exception.</param>
    public ImageDecodeException(string name, ImageDecodeFailure reason, string detail, Exception inner)
        : base(FormatMessage(name, reason, detail), inner)
    {
        InputName = name;
        Reason = reason;
        _detail = detail;
    }

    private readonly string _detail;

    /// <summary>The same failure of the input named <paramref name="name"/>: the loader names an image only once it
    /// fails (building "shard row 17 image 0" for every image that decodes fine would cost a string each).</summary>
    internal ImageDecodeException Renamed(string name) =>
        InnerException is { } inner ? new(name, Reason, _detail, inner) : new(name, Reason, _detail);

    /// <summary>The caller-provided name of the input that failed.</summary>
    public string InputName { get; }

    /// <summary>Why the input was rejected.</summary>
    public ImageDecodeFailure Reason { get; }

    private static string FormatMessage(string name, ImageDecodeFailure reason, string detail) =>
        string.IsNullOrEmpty(detail)
            ? $"Cannot decode image '{name}': {reason}."
            : $"Cannot decode image '{name}': {reason}: {detail}";
}

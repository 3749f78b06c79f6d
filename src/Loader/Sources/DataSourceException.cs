namespace NanoVlm.Loader.Sources;

/// <summary>A shard could not be read: corrupt or truncated file, missing or mistyped column, bad record.</summary>
public sealed class DataSourceException : Exception
{
    /// <summary>Creates the exception; the message names the shard, row group, row and column when known.</summary>
    public DataSourceException(string shard, string reason, int? rowGroup = null, long? row = null, string? column = null,
        Exception? inner = null)
        : base(Format(shard, reason, rowGroup, row, column), inner)
    {
        Shard = shard;
        Reason = reason;
        RowGroup = rowGroup;
        Row = row;
        Column = column;
    }

    /// <summary>The shard's name.</summary>
    public string Shard { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Reason { get; }

    /// <summary>The row group, when known.</summary>
    public int? RowGroup { get; }

    /// <summary>The row within the shard, when known.</summary>
    public long? Row { get; }

    /// <summary>The column or field, when known.</summary>
    public string? Column { get; }

    private static string Format(string shard, string reason, int? rowGroup, long? row, string? column)
    {
        var where = shard;
        if (rowGroup is { } g) where += $", row group {g}";
        if (row is { } r) where += $", row {r}";
        if (column is not null) where += $", column '{column}'";
        return $"{where}: {reason}";
    }
}

using System.Buffers;
using System.IO.Pipelines;

namespace NanoVlm.Loader.Sources.Internal;

/// <summary>
/// Reads tar members sequentially from a <see cref="PipeReader"/>: headers (GNU long names and pax paths applied),
/// then each member's data either copied out once or skipped. Truncation or a damaged header raises a
/// <see cref="DataSourceException"/> naming the shard and member.
/// </summary>
internal sealed class TarMemberReader(PipeReader pipe, string shard)
{
    private string _last = "(start of archive)";

    /// <summary>The name of the member read last (for messages).</summary>
    public string LastMember => _last;

    /// <summary>The next regular-file member's header (directories, links and metadata members are consumed), or null
    /// at the end-of-archive marker. The member's data must then be read or skipped.</summary>
    public TarHeader? Next(long row, CancellationToken cancellationToken)
    {
        string? longName = null;
        while (true)
        {
            var buffer = Fill(TarHeader.Block, cancellationToken);
            if (buffer.Length < TarHeader.Block)
            {
                var what = buffer.Length == 0 && longName is null
                    ? "the end-of-archive marker is missing (truncated shard)"
                    : "truncated inside a tar header";
                pipe.AdvanceTo(buffer.End);
                throw new DataSourceException(shard, $"{what}, after member '{_last}'", row: row, column: _last);
            }
            Span<byte> block = stackalloc byte[TarHeader.Block];
            buffer.Slice(0, TarHeader.Block).CopyTo(block);
            pipe.AdvanceTo(buffer.GetPosition(TarHeader.Block));
            if (TarHeader.IsZeroBlock(block)) return null;
            var header = TarHeader.Parse(block, out var error)
                ?? throw new DataSourceException(shard, $"{error}, after member '{_last}'", row: row, column: _last);
            if (header.Type is (byte)'L' or (byte)'x')
            {
                if (header.Size > 1 << 20)
                    throw new DataSourceException(shard, $"implausible {(char)header.Type} header of {header.Size} bytes", row: row, column: _last);
                var data = ReadData(header, row, cancellationToken);
                longName = header.Type == (byte)'L' ? TarHeader.CString(data) : TarHeader.PaxPath(data) ?? longName;
                continue;
            }
            if (!header.IsFile)
            {
                SkipData(header, row, cancellationToken);
                longName = null;
                continue;
            }
            _last = longName ?? header.Name;
            return header with { Name = _last };
        }
    }

    /// <summary>Copies the member's data into a new array (one copy out of the pipe) and consumes its padding.</summary>
    public byte[] ReadData(TarHeader header, long row, CancellationToken cancellationToken)
    {
        if (header.Size > Array.MaxLength)
            throw new DataSourceException(shard, $"member of {header.Size} bytes is too large", row: row, column: header.Name);
        var size = (int)header.Size;
        var data = new byte[size];
        var copied = 0;
        while (copied < size)
        {
            var buffer = Fill(1, cancellationToken);
            if (buffer.Length == 0) throw Truncated(header, row, copied);
            var n = (int)Math.Min(buffer.Length, size - copied);
            buffer.Slice(0, n).CopyTo(data.AsSpan(copied));
            copied += n;
            pipe.AdvanceTo(buffer.GetPosition(n));
        }
        Consume(header.PaddedSize - header.Size, header, row, header.Size, cancellationToken);
        return data;
    }

    /// <summary>Consumes the member's data and padding without copying it.</summary>
    public void SkipData(TarHeader header, long row, CancellationToken cancellationToken) =>
        Consume(header.PaddedSize, header, row, 0, cancellationToken);

    private void Consume(long count, TarHeader header, long row, long doneBefore, CancellationToken cancellationToken)
    {
        var done = 0L;
        while (done < count)
        {
            var buffer = Fill(1, cancellationToken);
            if (buffer.Length == 0) throw Truncated(header, row, doneBefore + done);
            var n = Math.Min(buffer.Length, count - done);
            done += n;
            pipe.AdvanceTo(buffer.GetPosition(n));
        }
    }

    private DataSourceException Truncated(TarHeader header, long row, long have) =>
        new(shard, $"truncated shard: member '{header.Name}' has {have} of {header.PaddedSize} bytes (data and padding)",
            row: row, column: header.Name);

    // Returns a buffer of at least `minimum` bytes unless the file ended (then shorter); the caller must AdvanceTo.
    private ReadOnlySequence<byte> Fill(int minimum, CancellationToken cancellationToken)
    {
        ReadResult result;
        try
        {
            result = pipe.ReadAtLeastAsync(minimum, cancellationToken).AsTask().GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            throw new DataSourceException(shard, $"cannot read after member '{_last}': {e.Message}", column: _last, inner: e);
        }
        return result.Buffer;
    }
}

using System.Buffers;

namespace NanoVlm.Loader.Text.Internal;

/// <summary>A grow-only, pool-backed char buffer for the pending text of one segment.</summary>
internal sealed class CharSink : IDisposable
{
    private char[] _chars;

    public CharSink(int initialCapacity = 4096) => _chars = ArrayPool<char>.Shared.Rent(initialCapacity);

    public int Length { get; private set; }

    public ReadOnlySpan<char> Span => _chars.AsSpan(0, Length);

    public void Clear() => Length = 0;

    public void Append(ReadOnlySpan<char> text)
    {
        if (Length + text.Length > _chars.Length)
        {
            var bigger = ArrayPool<char>.Shared.Rent(Math.Max(Length + text.Length, _chars.Length * 2));
            _chars.AsSpan(0, Length).CopyTo(bigger);
            ArrayPool<char>.Shared.Return(_chars);
            _chars = bigger;
        }
        text.CopyTo(_chars.AsSpan(Length));
        Length += text.Length;
    }

    public void Append(char c) => Append(new ReadOnlySpan<char>(in c));

    public void Dispose()
    {
        if (_chars.Length > 0) ArrayPool<char>.Shared.Return(_chars);
        _chars = [];
        Length = 0;
    }
}

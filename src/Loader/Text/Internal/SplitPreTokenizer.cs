namespace NanoVlm.Loader.Text.Internal;

/// <summary>One step of a HF pre-tokenizer sequence: splits a piece of text into smaller pieces.</summary>
internal abstract class SplitStep
{
    /// <summary>Splits <paramref name="text"/>[offset..offset+length] and appends the non-empty pieces (absolute offsets).</summary>
    public abstract void Split(ReadOnlySpan<char> text, int offset, int length, List<(int Offset, int Length)> output);
}

/// <summary>
/// A HF pre-tokenizer as split steps applied in sequence (each step splits every piece the previous step produced).
/// Special tokens are split off before this runs (see <see cref="AtomicTokenMatcher"/>).
/// </summary>
internal sealed class SplitPreTokenizer
{
    private readonly SplitStep[] _steps;
    [ThreadStatic] private static List<(int Offset, int Length)>? s_a;
    [ThreadStatic] private static List<(int Offset, int Length)>? s_b;

    public SplitPreTokenizer(IReadOnlyList<SplitStep> steps) => _steps = [.. steps];

    internal IReadOnlyList<SplitStep> Steps => _steps;

    /// <summary>The pieces of <paramref name="text"/>. The list is reused by the next call on this thread.</summary>
    internal List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        // The caller enumerates the result before it pre-tokenizes anything else on this thread, so the lists are
        // reused and the caller gets the list itself (no copy): steady state allocates nothing here.
        var a = s_a ??= new List<(int, int)>(64);
        var b = s_b ??= new List<(int, int)>(64);
        a.Clear();
        if (text.Length == 0) return a;
        a.Add((0, text.Length));
        foreach (var step in _steps)
        {
            b.Clear();
            foreach (var (o, l) in a) step.Split(text, o, l, b);
            (a, b) = (b, a);
        }
        // The lists swap roles between calls: keep them equally large so the next call does not grow the other one.
        if (b.Capacity < a.Capacity) b.Capacity = a.Capacity;
        s_a = a;
        s_b = b;
        return a;
    }
}

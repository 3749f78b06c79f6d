using System.Globalization;
using NanoVlm.Evaluation.Internal;
using NanoVlm.Testing;

namespace NanoVlm.Evaluation.Tests;

/// <summary>The Python str operations the metrics rely on, against Python for every code point.</summary>
public class PythonTextTests
{
    private sealed record Entry(string Lower, string Upper, string Flags, string Capitalized);

    private static readonly Dictionary<int, Entry> Table = File.ReadLines(Fixtures.Path("eval", "python_text.txt"))
        .Select(l => l.Split(' '))
        .ToDictionary(p => int.Parse(p[0], NumberStyles.HexNumber), p => new Entry(Decode(p[1]), Decode(p[2]), p[3], Decode(p[4])));

    private static string Decode(string dotted) =>
        string.Concat(dotted.Split('.').Select(h => char.ConvertFromUtf32(int.Parse(h, NumberStyles.HexNumber))));

    private static IEnumerable<int> AllCodePoints() =>
        Enumerable.Range(0, 0x110000).Where(cp => cp < 0xD800 || cp > 0xDFFF);

    [Fact]
    public void LowerUpperAndCapitalizeMatchPythonForEveryCodePoint()
    {
        FixtureRows.AssertAll(AllCodePoints(), cp =>
        {
            var s = char.ConvertFromUtf32(cp);
            var e = Table.GetValueOrDefault(cp) ?? new Entry(s, s, "-", s);
            var lower = PyText.Lower(s);
            var upper = PyText.Upper(s);
            var cap = PyText.Capitalize(s);
            return lower == e.Lower && upper == e.Upper && cap == e.Capitalized ? null
                : $"U+{cp:X4}: lower {Hex(lower)} vs {Hex(e.Lower)}, upper {Hex(upper)} vs {Hex(e.Upper)}, capitalize {Hex(cap)} vs {Hex(e.Capitalized)}";
        }, 1_000_000);
    }

    [Fact]
    public void CharacterPropertiesMatchPythonForEveryCodePoint()
    {
        FixtureRows.AssertAll(AllCodePoints(), cp =>
        {
            var flags = Table.GetValueOrDefault(cp)?.Flags ?? "-";
            bool space = flags.Contains('s'), cased = flags.Contains('c'), ignorable = flags.Contains('i'),
                 upper = flags.Contains('u'), dec = flags.Contains('d');
            // Effective final-sigma behaviour: a case-ignorable code point is skipped whatever its casedness.
            bool myIgnorable = PyText.IsCaseIgnorable(cp), myCased = !myIgnorable && PyText.IsCased(cp);
            var got = (PyText.IsSpace(cp), myCased, myIgnorable, PyText.IsUpper(cp), PyText.IsDecimal(cp));
            return got == (space, cased, ignorable, upper, dec) ? null : $"U+{cp:X4}: (space, cased, ignorable, upper, decimal) {got} vs python {(space, cased, ignorable, upper, dec)}";
        }, 1_000_000);
    }

    [Theory]
    [InlineData("ΟΔΟΣ", "οδος")]
    [InlineData("ΟΔΟΣ ΟΔΟΣ", "οδος οδος")]
    [InlineData("Σ", "σ")]
    [InlineData("ΑΣ.", "ας.")]
    [InlineData("ΑΣΑ", "ασα")]
    [InlineData("Α'Σ'", "α'ς'")]
    [InlineData("İstanbul", "i\u0307stanbul")]
    public void LowerAppliesFinalSigmaAndFullMappings(string s, string python) => Assert.Equal(python, PyText.Lower(s));

    [Theory]
    [InlineData("what IS this?", "What is this?")]
    [InlineData("ßtraße", "Sstraße")]
    [InlineData("ǆUNGLA", "ǅungla")]
    [InlineData("ΣΑΣ ΣΑΣ", "Σας σας")]
    [InlineData("", "")]
    public void CapitalizeTitleCasesTheFirstAndLowersTheRest(string s, string python) => Assert.Equal(python, PyText.Capitalize(s));

    [Fact]
    public void StripAndSplitUsePythonWhitespace()
    {
        Assert.Equal("a\u200bb", PyText.Strip("\u001c\u001d a\u200bb \u001e\u001f\u3000\u0085"));
        Assert.Equal(["a", "b", "c"], PyText.Split("\u001ca\u001fb\u2003 c\n"));
        Assert.Equal(2, PyText.Length("a\U0001F600"));
        Assert.Equal("SS", PyText.Upper("ß"));
    }

    private static string Hex(string s) => string.Join('.', PyText.CodePoints(s).Select(c => c.ToString("x")));
}

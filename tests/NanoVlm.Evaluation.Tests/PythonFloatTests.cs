using System.Text.Json;
using NanoVlm.Evaluation.Internal;
using static NanoVlm.Evaluation.Tests.FixtureRows;

namespace NanoVlm.Evaluation.Tests;

/// <summary>float(str), round(x, n) and repr(x) against Python (tests/fixtures/eval/python_float.jsonl).</summary>
public class PythonFloatTests
{
    private static double FromBits(JsonElement e) => BitConverter.Int64BitsToDouble(e.GetInt64());

    [Fact]
    public void ParseAcceptsWhatFloatAccepts() => AssertAll(Read("python_float").Where(r => r.TryGetProperty("text", out _)), r =>
    {
        bool ok = PyFloat.TryParse(r.Str("text"), out double v);
        var want = r.GetProperty("bits");
        if (want.ValueKind == JsonValueKind.Null) return ok ? $"{Show(r.Str("text"))}: parsed {v:R}, Python raises" : null;
        double w = FromBits(want);
        bool same = BitConverter.DoubleToInt64Bits(v) == BitConverter.DoubleToInt64Bits(w) || (double.IsNaN(v) && double.IsNaN(w)); // NaN payloads/signs carry no meaning here
        return ok && same ? null : $"{Show(r.Str("text"))}: {(ok ? v.ToString("R") : "error")} vs {w:R}";
    }, 200);

    [Fact]
    public void RoundAndReprMatchPython() => AssertAll(Read("python_float").Where(r => r.TryGetProperty("repr", out _)), r =>
    {
        double x = FromBits(r.GetProperty("bits"));
        string repr = PyFloat.Repr(x);
        double r2 = PyFloat.Round(x, 2), r5 = PyFloat.Round(x, 5);
        bool same = repr == r.Str("repr")
            && BitConverter.DoubleToInt64Bits(r2) == r.GetProperty("round2_bits").GetInt64()
            && BitConverter.DoubleToInt64Bits(r5) == r.GetProperty("round5_bits").GetInt64();
        return same ? null : $"{r.Str("repr")}: repr {repr}, round2 {r2:R} vs {FromBits(r.GetProperty("round2_bits")):R}, round5 {r5:R} vs {FromBits(r.GetProperty("round5_bits")):R}";
    }, 500);
}

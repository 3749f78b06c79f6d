using System.Text.RegularExpressions;
using NanoVlm.Evaluation.Internal;
using NanoVlm.Packing.Internal;

namespace NanoVlm.Evaluation;

/// <summary>Picks a letter when MMMU's parser finds none (lmms-eval: <c>random.choice(all_choices)</c>).</summary>
/// <param name="choices">The option letters, "A", "B", ….</param>
public delegate string ChoiceFallback(IReadOnlyList<string> choices);

/// <summary>One normalised candidate of an open MMMU answer: a string, or a number rounded to 2 decimals.</summary>
/// <param name="Text">The lower-cased text, or null for a number.</param>
/// <param name="Number">The number, or null for text.</param>
public readonly record struct MmmuOpenAnswer(string? Text, double? Number)
{
    /// <inheritdoc/>
    public override string ToString() => Text ?? PyFloat.Repr(Number!.Value);
}

/// <summary>One scored MMMU question for <see cref="MmmuMetric.Aggregate"/>.</summary>
/// <param name="Subject">The subject, e.g. "Art_Theory" (<see cref="MmmuMetric.SubjectOf"/> of the id).</param>
/// <param name="Correct">Whether the parsed prediction was judged correct.</param>
public readonly record struct MmmuSample(string Subject, bool Correct);

/// <summary>
/// MMMU as lmms-eval scores it (<c>mmmu_acc</c>; lmms_eval/tasks/mmmu/utils.py at 654bd6c7, which carries MMMU's own
/// eval_utils.py). Multiple choice: <see cref="ParseMultipleChoice"/>, then exact letter match. Open questions:
/// <see cref="ScoreOpen"/> reproduces lmms-eval's behaviour, including its quirk (see there).
/// </summary>
public static class MmmuMetric
{
    /// <summary>
    /// lmms-eval's fallback replayed: CPython's Mersenne Twister seeded like <c>random.seed(seed)</c>, one
    /// <c>random.choice</c> per call, in call order. lmms-eval seeds Python's <c>random</c> with 0 by default
    /// (<c>--seed 0,…</c>); with no other draws in between — the case for these tasks — scoring the questions in
    /// lmms-eval's order with a fresh fallback reproduces its choices. Not thread-safe: one per evaluation.
    /// </summary>
    public static ChoiceFallback PythonRandomChoice(int seed = 0)
    {
        var random = new PythonRandom(seed);
        return choices => choices[random.Below(choices.Count)];
    }

    /// <summary>The option letters "A", "B", … for <paramref name="optionCount"/> options (<c>get_multi_choice_info</c>'s <c>all_choices</c>).</summary>
    public static IReadOnlyList<string> Letters(int optionCount) =>
        Enumerable.Range(0, optionCount).Select(i => ((char)('A' + i)).ToString()).ToArray();

    /// <summary>
    /// <c>parse_multi_choice_response</c>: strips <c>, . ! ? ; : '</c> from the ends (in that order), pads with spaces,
    /// then looks for "(A)", else "A ", else "A.", else — if the response has more than 5 words — the option texts
    /// (case-insensitive containment). Several candidates: the one occurring last; none: <paramref name="fallback"/>.
    /// </summary>
    public static string ParseMultipleChoice(string response, IReadOnlyList<string> options, ChoiceFallback fallback)
    {
        ArgumentNullException.ThrowIfNull(fallback);
        var choices = Letters(options.Count);
        foreach (var ch in ",.!?;:'") response = response.Trim(ch);
        response = " " + response + " ";
        bool indexAns = true, withBracket = false;
        var candidates = new List<int>();
        for (int i = 0; i < choices.Count; i++)
            if (response.Contains($"({choices[i]})", StringComparison.Ordinal)) { candidates.Add(i); withBracket = true; }
        if (candidates.Count == 0)
            for (int i = 0; i < choices.Count; i++)
                if (response.Contains($"{choices[i]} ", StringComparison.Ordinal)) candidates.Add(i);
        if (candidates.Count == 0)
            for (int i = 0; i < choices.Count; i++)
                if (response.Contains($"{choices[i]}.", StringComparison.Ordinal)) candidates.Add(i);
        string lowered = PyText.Lower(response);
        if (candidates.Count == 0 && PyText.Split(response).Count > 5)
            for (int i = 0; i < options.Count; i++)
                if (lowered.Contains(PyText.Lower(options[i]), StringComparison.Ordinal)) { candidates.Add(i); indexAns = false; }
        if (candidates.Count == 0) return fallback(choices);
        if (candidates.Count == 1) return choices[candidates[0]];
        int best = candidates[0], bestAt = int.MinValue;
        foreach (var c in candidates)
        {
            int at = indexAns
                ? LastIndex(response, withBracket ? $"({choices[c]})" : $" {choices[c]} ")
                : LastIndex(lowered, PyText.Lower(options[c]));
            if (at > bestAt) { best = c; bestAt = at; } // np.argmax: the first of equal maxima
        }
        return choices[best];
    }

    // str.rfind: -1 when absent, len(s) for an empty needle. (UTF-16 positions order occurrences as code points do.)
    private static int LastIndex(string s, string needle) =>
        needle.Length == 0 ? s.Length : s.LastIndexOf(needle, StringComparison.Ordinal);

    /// <summary>Multiple choice: correct iff the parsed letter equals the answer (<c>eval_multi_choice</c>).</summary>
    public static bool ScoreMultipleChoice(string parsedLetter, string answer) => parsedLetter == answer;

    private const string W = @"[\p{L}\p{N}_]"; // Python's \w for str patterns (alphanumerics and '_')
    private static readonly Regex NumbersWithCommas = new($@"-?(?<!{W})\d{{1,3}}(?:,\d{{3}})+(?!{W})", RegexOptions.CultureInvariant);
    private static readonly Regex NumbersScientific = new(@"-?\d+(?:\.\d+)?[eE][+-]?\d+", RegexOptions.CultureInvariant);
    private static readonly Regex NumbersSimple = new($@"-?(?:\d+\.\d+|\.\d+|\d+(?!{W}))(?![eE][+-]?\d+)(?![,\d])", RegexOptions.CultureInvariant);
    private static readonly string[] Indicators = ["could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result "];
    private static readonly string[] Trivial = [":", ",", ".", "!", "?", ";", "'"];

    /// <summary>
    /// <c>parse_open_response</c>: the tails after key phrases ("is ", "so ", "answer ", … and "=" in the last line) of
    /// the lower-cased response's lines (the whole response if none), plus every number found in them, each
    /// normalised (<c>normalize_str</c>: numbers rounded to 2 decimals, text lower-cased, one-letter text as " x" and
    /// "x "), without duplicates. lmms-eval keeps them in a <c>set</c> (order unspecified); here, first-seen order.
    /// </summary>
    public static IReadOnlyList<MmmuOpenAnswer> ParseOpenResponse(string response)
    {
        var keyResponses = KeySubResponses(response);
        var predictions = new List<string>(keyResponses);
        foreach (var r in keyResponses) predictions.AddRange(ExtractNumbers(r));
        var result = new List<MmmuOpenAnswer>();
        foreach (var p in predictions)
            foreach (var n in Normalize(p))
                if (!result.Contains(n)) result.Add(n);
        return result;
    }

    private static List<string> KeySubResponses(string response)
    {
        response = PyText.Lower(PyText.Strip(response).Trim('.'));
        // re.split(r"\.\s(?=[A-Z])|\n") on lower-cased text: [A-Z] cannot follow, so only newlines split.
        var subResponses = response.Split('\n');
        var indicators = new List<string>(Indicators);
        var keys = new List<string>();
        for (int index = 0; index < subResponses.Length; index++)
        {
            var resp = subResponses[index];
            if (index == subResponses.Length - 1) indicators.Add("=");
            string? shortest = null;
            foreach (var indicator in indicators)
            {
                int at = resp.LastIndexOf(indicator, StringComparison.Ordinal);
                if (at < 0) continue;
                var tail = PyText.Strip(resp[(at + indicator.Length)..]);
                if (string.IsNullOrEmpty(shortest) || PyText.Length(tail) < PyText.Length(shortest)) shortest = tail;
            }
            if (!string.IsNullOrEmpty(shortest) && !Trivial.Contains(PyText.Strip(shortest))) keys.Add(shortest);
        }
        return keys.Count == 0 ? [response] : keys;
    }

    /// <summary><c>extract_numbers</c>: numbers with thousands commas, then scientific, then plain ones.</summary>
    public static IReadOnlyList<string> ExtractNumbers(string text) =>
        [.. NumbersWithCommas.Matches(text).Select(m => m.Value), .. NumbersScientific.Matches(text).Select(m => m.Value),
         .. NumbersSimple.Matches(text).Select(m => m.Value)];

    /// <summary><c>normalize_str</c>.</summary>
    public static IReadOnlyList<MmmuOpenAnswer> Normalize(string text)
    {
        text = PyText.Strip(text);
        if (PyFloat.TryParse(text.Replace(",", ""), out var number))
            return [new MmmuOpenAnswer(null, PyFloat.Round(number, 2))];
        text = PyText.Lower(text);
        return PyText.Length(text) == 1 ? [new MmmuOpenAnswer(" " + text, null), new MmmuOpenAnswer(text + " ", null)] : [new MmmuOpenAnswer(text, null)];
    }

    /// <summary>
    /// An open question's score exactly as lmms-eval computes it. QUIRK, reproduced on purpose: lmms-eval stores the
    /// parsed prediction as the string <c>str(parsed[0])</c>, and <c>eval_open</c> then iterates over that string's
    /// <em>characters</em>, asking whether a normalised gold answer occurs in a single character. So a question scores
    /// 1 only when its gold answer is blank (normalises to "") and the prediction parses to something non-empty;
    /// every other open question scores 0, whatever the model says.
    /// </summary>
    public static bool ScoreOpen(string prediction, string answer)
    {
        var parsed = ParseOpenResponse(prediction);
        // str(parsed[0]) is empty only when every candidate is "" (the set is {""}).
        bool predictionNonEmpty = parsed.Any(p => p.Text is null || p.Text.Length > 0);
        return predictionNonEmpty && Normalize(answer).Any(g => g.Text is { Length: 0 });
    }

    /// <summary>
    /// <c>extract_subset_name</c>: "validation_Art_Theory_12" → "Art_Theory".
    /// </summary>
    /// <exception cref="FormatException">The id is not <c>{split}_{subject}_{number}</c>.</exception>
    public static string SubjectOf(string id)
    {
        var split = id.Split('_')[0];
        var m = Regex.Match(id, $@"^{Regex.Escape(split)}_(.+?)_\d+$", RegexOptions.CultureInvariant);
        if (!m.Success) throw new FormatException($"MMMU id '{id}' is not <split>_<subject>_<number>");
        return m.Groups[1].Value;
    }

    /// <summary>
    /// <c>mmmu_aggregate_results</c>' overall number: accuracy per subject (in first-seen order), then the
    /// instance-weighted mean over subjects (<c>calculate_ins_level_acc</c>), rounded to 5 decimals as Python's
    /// <c>round</c> does. 0 for no samples.
    /// </summary>
    public static double Aggregate(IEnumerable<MmmuSample> samples)
    {
        var counts = new Dictionary<string, (int Correct, int Total)>();
        var order = new List<string>();
        foreach (var s in samples)
        {
            if (!counts.TryGetValue(s.Subject, out var c)) order.Add(s.Subject);
            counts[s.Subject] = (c.Correct + (s.Correct ? 1 : 0), c.Total + 1);
        }
        double acc = 0;
        long n = 0;
        foreach (var subject in order)
        {
            var (correct, total) = counts[subject];
            acc += (double)correct / total * total;
            n += total;
        }
        return n == 0 ? 0 : PyFloat.Round(acc / n, 5);
    }
}

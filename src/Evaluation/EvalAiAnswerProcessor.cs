using System.Text;
using NanoVlm.Evaluation.Internal;

namespace NanoVlm.Evaluation;

/// <summary>
/// The VQA answer normalisation of EvalAI (lmms-eval's <c>EvalAIAnswerProcessor</c>,
/// lmms_eval/tasks/_task_utils/vqa_eval_metric.py at 654bd6c7, copied there from facebookresearch/mmf).
/// </summary>
public static class EvalAiAnswerProcessor
{
    /// <summary>
    /// Lower-case; drop "," and "?"; "'s" → " 's"; strip; newlines and tabs to spaces; punctuation removed (when it
    /// touches a space) or turned into a space; up to 32 periods not followed by a digit removed (the mmf code passes
    /// <c>re.UNICODE</c> as <c>re.sub</c>'s count); number words zero–ten to digits; articles dropped; contractions
    /// restored ("dont" → "don't"); words re-joined with single spaces.
    /// </summary>
    public static string Process(string item)
    {
        item = PyText.Lower(item).Replace(",", "").Replace("?", "").Replace("'s", " 's");
        item = PyText.Strip(item);
        item = PyText.Strip(item.Replace('\n', ' ').Replace('\t', ' '));
        item = ProcessPunctuation(item);
        return ProcessDigitArticle(item);
    }

    private static readonly string[] Punctuations =
        [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"];

    private static string ProcessPunctuation(string inText)
    {
        bool commaBetweenDigits = CommaBetweenDigits(inText);
        string outText = inText;
        foreach (var p in Punctuations)
        {
            if (inText.Contains(p + " ", StringComparison.Ordinal) || inText.Contains(" " + p, StringComparison.Ordinal) || commaBetweenDigits)
                outText = outText.Replace(p, "");
            else
                outText = outText.Replace(p, " ");
        }
        return StripPeriods(outText, 32);
    }

    // re.search(r"(?<=\d)(\,)+(?=\d)"): a run of commas between two decimal digits.
    private static bool CommaBetweenDigits(string s)
    {
        var cps = PyText.CodePoints(s);
        for (int i = 1; i < cps.Length; i++)
        {
            if (cps[i] != ',' || !PyText.IsDecimal(cps[i - 1])) continue;
            int j = i;
            while (j < cps.Length && cps[j] == ',') j++;
            if (j < cps.Length && PyText.IsDecimal(cps[j])) return true;
        }
        return false;
    }

    // re.compile(r"(?!<=\d)(\.)(?!\d)").sub("", s, count): "(?!<=\d)" is a look-ahead that never fails before a ".",
    // so this removes periods not followed by a decimal digit, the first `count` of them.
    private static string StripPeriods(string s, int count)
    {
        var cps = PyText.CodePoints(s);
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < cps.Length; i++)
        {
            if (cps[i] == '.' && count > 0 && !(i + 1 < cps.Length && PyText.IsDecimal(cps[i + 1])))
            {
                count--;
                continue;
            }
            PyText.Append(sb, cps[i]);
        }
        return sb.ToString();
    }

    private static readonly Dictionary<string, string> NumberMap = new()
    {
        ["none"] = "0", ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4", ["five"] = "5",
        ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    };

    private static readonly HashSet<string> Articles = ["a", "an", "the"];

    private static string ProcessDigitArticle(string inText)
    {
        var outText = new List<string>();
        foreach (var w in PyText.Split(PyText.Lower(inText)))
        {
            var word = NumberMap.GetValueOrDefault(w, w);
            if (!Articles.Contains(word)) outText.Add(word);
        }
        for (int i = 0; i < outText.Count; i++)
            if (VqaContractions.Map.TryGetValue(outText[i], out var c)) outText[i] = c;
        return string.Join(' ', outText);
    }
}

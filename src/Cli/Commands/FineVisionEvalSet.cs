using NanoVlm.Engine;
using NanoVlm.Loader.Sources;

// Namespace NanoVlm.Cli (not .Commands), as the other commands.
namespace NanoVlm.Cli;

/// <summary>
/// Training data as an evaluation set, for <c>nanovlm eval --data shard.parquet</c> (a file, a folder of shards or a
/// glob): rows in the FineVision parquet layout, read by NanoVlm.Loader's <see cref="ParquetRowSource"/>. Each row is
/// one question: its first turn's <c>user</c> text is the question, all the row's images go with it, and that turn's
/// <c>assistant</c> text is the single reference answer. Later turns are not evaluated.
/// </summary>
internal static class FineVisionEvalSet
{
    /// <summary>Whether <c>--data</c> names FineVision parquet (a <c>.parquet</c> file or glob, or a folder).</summary>
    public static bool Accepts(string path) =>
        path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) || Directory.Exists(path);

    /// <summary>Reads the rows (shards in path order), each with its reference and its source ("shard row N").</summary>
    /// <exception cref="InvalidDataException">A row without a first turn, or whose first turn lacks the user or assistant
    /// text (empty or null: the reader hands both on as empty); an unreadable shard (names shard, row and column).</exception>
    /// <exception cref="FileNotFoundException">Nothing matches the path.</exception>
    public static (List<EvalQuestion> Questions, List<IReadOnlyList<string>> Answers, List<string> Sources) Read(string path, int? limit)
    {
        var questions = new List<EvalQuestion>();
        var answers = new List<IReadOnlyList<string>>();
        var sources = new List<string>();
        using var source = ParquetRowSource.Open(path);
        try
        {
            for (int shard = 0; shard < source.Shards.Count; shard++)
                foreach (var row in source.ReadShard(shard))
                {
                    if (limit is { } max && questions.Count >= max) return (questions, answers, sources);
                    string where = $"{row.ShardName} row {row.Position.Row}";
                    var turns = row.Text.Texts;
                    if (turns is null || turns.Count == 0) throw new InvalidDataException($"{where}: column 'texts' has no turn to evaluate");
                    var first = turns[0];
                    // A missing (null) text reads as empty; an empty question or reference answer cannot be evaluated.
                    if (first.User.IsEmpty) throw new InvalidDataException($"{where}: column 'texts' turn 0 has no 'user' text (the question)");
                    if (first.Assistant.IsEmpty) throw new InvalidDataException($"{where}: column 'texts' turn 0 has no 'assistant' text (the reference answer)");
                    var images = row.Images.Select((m, k) => (m.ToArray(), $"{where} column 'images' image {k}")).ToList();
                    questions.Add(new EvalQuestion(first.User.ToString(), images));
                    answers.Add([first.Assistant.ToString()]);
                    sources.Add(where);
                }
        }
        catch (DataSourceException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
        if (questions.Count == 0) throw new InvalidDataException($"{path}: no rows");
        return (questions, answers, sources);
    }
}

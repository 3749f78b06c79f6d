using NanoVlm.Evaluation.Internal.Tasks;

namespace NanoVlm.Evaluation;

/// <summary>The benchmarks this library evaluates as lmms-eval (654bd6c7) and nanoVLM's wrapper (4e0c096) do.</summary>
public static class EvalTasks
{
    private static readonly EvalTask[] All =
    [
        new MmstarTask(), new MmmuTask("mmmu_val"), new OcrBenchTask(), new TextVqaTask(), new AnlsTask("docvqa_val"),
        new AnlsTask("infovqa_val"), new ChartQaTask(), new ScienceQaTask("scienceqa"), new ScienceQaTask("scienceqa_img"),
        new MmeTask(),
    ];

    /// <summary>The task names, e.g. for a <c>--tasks</c> help text.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(t => t.Name).ToArray();

    /// <summary>The task called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown task (the message lists the known ones).</exception>
    public static EvalTask Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"unknown evaluation task '{name}'; known: {string.Join(", ", Names)}", nameof(name));
}

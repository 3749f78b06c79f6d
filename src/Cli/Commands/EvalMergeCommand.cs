using System.CommandLine;
using NanoVlm.Evaluation;

// Namespace NanoVlm.Cli (not .Commands), as the other commands.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm eval merge</c>: nanoVLM's merge_eval_results.py over <c>{out}/{run}/step_{N}_*.json</c> into
/// <c>step_{N}.json</c> (<see cref="EvalResultFiles.Merge"/>); exit 1 when a part could not be read (listed, left in place).
/// </summary>
internal static class EvalMergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var runName = new Option<string>("--run-name") { Description = "Run folder under --out.", Required = true };
        var globalStep = new Option<long>("--global-step") { Description = "The step whose parts are merged.", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Results root.", DefaultValueFactory = _ => new DirectoryInfo("eval_results") };
        var command = new Command("merge", "Merge a step's evaluation parts into step_N.json (merge_eval_results.py); corrupt parts are listed and kept.")
        {
            runName, globalStep, outDir,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                var report = EvalResultFiles.Merge(parse.GetValue(outDir)!.FullName, parse.GetValue(runName)!, parse.GetValue(globalStep));
                foreach (var p in report.MergedParts) stdout.WriteLine($"merged: {p}");
                if (report.MergedPath is { } merged) stdout.WriteLine($"written: {merged}");
                else if (report.Complete) stderr.WriteLine($"no step_{parse.GetValue(globalStep)}_*.json parts to merge");
                foreach (var c in report.CorruptParts) stderr.WriteLine($"error: {c.Path}: {c.Reason} (left in place)");
                return report.Complete ? 0 : 1;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}

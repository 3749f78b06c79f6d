using System.CommandLine;
using NanoVlm.Loader.Pipeline;
using Spectre.Console;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm profile</c>: runs the loader for N batches and prints each stage's items, bytes, busy time and time
/// blocked on input/output, then "bottleneck: &lt;stage&gt;".
/// </summary>
internal static class ProfileCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var o = new LoaderCliOptions();
        var command = new Command("profile", "Run the loader for N batches and print a per-stage table with the bottleneck stage.");
        o.AddTo(command);
        o.Batches.DefaultValueFactory = _ => 20;
        command.SetAction(parse => LoaderCommand.Run(parse, o, profile: true));
        return command;
    }

    /// <summary>Prints the stage table (Spectre.Console, rendered into <paramref name="w"/>) and the verdict.</summary>
    public static void PrintTable(TextWriter w, StageProfile profile)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(w), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 120;
        var table = new Table().AddColumns("stage", "threads", "items", "MB", "busy s", "blocked in s", "blocked out s", "utilization");
        foreach (var s in profile.Stages)
            table.AddRow(s.Stage, s.Threads.ToString(), s.Items.ToString(), (s.Bytes / 1e6).ToString("F1"),
                s.Busy.TotalSeconds.ToString("F3"), s.BlockedOnInput.TotalSeconds.ToString("F3"),
                s.BlockedOnOutput.TotalSeconds.ToString("F3"), s.Utilization(profile.Wall).ToString("P1"));
        console.Write(table);
        w.WriteLine($"bottleneck: {profile.Bottleneck}");
    }
}

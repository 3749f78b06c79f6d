using System.CommandLine;

namespace NanoVlm.Cli;

/// <summary>Entry point of the <c>nanovlm</c> command.</summary>
public static class Program
{
    /// <summary>Builds the command tree; tests invoke it in-process.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("nanovlm: train vision-language models in .NET, compatible with huggingface/nanoVLM.");
        // One file per command under Commands/; each exposes Create().
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        yield return PackCommand.Create();
        yield return SampleDataCommand.Create();
        yield return PreprocessCommand.Create();
        yield return LoaderCommand.Create();
        yield return ProfileCommand.Create();
        yield return GenerateCommand.Create();
        yield return TrainCommand.Create();
        yield return EvalCommand.Create();
    }

    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();
}

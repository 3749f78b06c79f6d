using System.CommandLine;

namespace NanoVlm.Cli.Tests;

/// <summary>Runs the <c>nanovlm</c> command tree in-process with stdout and stderr captured.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = Program.BuildRoot().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}

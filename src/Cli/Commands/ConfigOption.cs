using System.CommandLine;
using NanoVlm.Loader.Configuration;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>--config FILE.json</c>, shared by the commands: a file of nanoVLM <c>VLMConfig</c>/<c>TrainConfig</c> fields
/// (<see cref="NanovlmConfig"/>). What a command runs with is: the library's defaults, then the file, then the flags
/// given on the command line.
/// </summary>
internal static class ConfigOption
{
    public static Option<FileInfo?> Create() => new("--config")
    {
        Description = "A JSON object of nanoVLM VLMConfig/TrainConfig fields (lm_max_length, max_sample_length, batch_size, " +
            "max_images_per_example, max_images_per_knapsack, vit_img_size, max_img_size, resize_to_max_side_len, *_min_rating, ...). " +
            "Flags given on the command line override it.",
        HelpName = "FILE.json",
    };

    /// <summary>The file's configuration, or <see cref="NanovlmConfig.Empty"/> without <c>--config</c>.</summary>
    public static NanovlmConfig Load(ParseResult parse, Option<FileInfo?> option)
        => parse.GetValue(option) is { } file ? NanovlmConfig.Load(file.FullName) : NanovlmConfig.Empty;

    /// <summary>The flag's value when it was given on the command line, else <paramref name="otherwise"/> (the
    /// configuration's or the library's value).</summary>
    public static T Flag<T>(this ParseResult parse, Option<T> option, T otherwise)
        => parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option)! : otherwise;

    /// <summary>Whether the flag was given on the command line.</summary>
    public static bool Given(this ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };
}

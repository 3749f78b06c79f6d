using System.CommandLine;
using NanoVlm.SampleData;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm sample-data</c>: writes the built-in synthetic data set (shapes, colours, counts and numbers with
/// questions about them) as FineVision-layout parquet, optionally also as JSON Lines + images and WebDataset tars.
/// </summary>
internal static class SampleDataCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write into (created if needed).", Required = true };
        var rows = new Option<int>("--rows") { Description = "Rows in total over all shards.", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Seed; the same seed writes identical files.", DefaultValueFactory = _ => 0 };
        var shards = new Option<int>("--shards") { Description = "Shards per format.", DefaultValueFactory = _ => 1 };
        var rowGroup = new Option<int>("--row-group-size") { Description = "Rows per parquet row group.", DefaultValueFactory = _ => 128 };
        var formats = new Option<string[]>("--format")
        {
            Description = "parquet (DIR/*.parquet), jsonl (DIR/jsonl/*.jsonl + images/), webdataset (DIR/webdataset/*.tar) or all; " +
                "repeatable.",
            DefaultValueFactory = _ => ["parquet"],
            AllowMultipleArgumentsPerToken = true,
        };
        formats.AcceptOnlyFromAmong("parquet", "jsonl", "webdataset", "all");

        var command = new Command("sample-data", "Write the built-in synthetic FineVision-layout data set.")
        {
            output, rows, seed, shards, rowGroup, formats,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                var chosen = SampleDataFormats.None;
                foreach (var f in parse.GetValue(formats) ?? [])
                {
                    chosen |= f switch
                    {
                        "parquet" => SampleDataFormats.Parquet,
                        "jsonl" => SampleDataFormats.Jsonl,
                        "webdataset" => SampleDataFormats.WebDataset,
                        _ => SampleDataFormats.All,
                    };
                }
                var options = new SampleDataOptions
                {
                    Rows = parse.GetValue(rows), Seed = parse.GetValue(seed), Shards = parse.GetValue(shards),
                    RowGroupSize = parse.GetValue(rowGroup), Formats = chosen,
                };
                options.Validate();
                var dir = parse.GetValue(output)!.FullName;
                var result = SampleDataWriter.Write(dir, options);
                stdout.WriteLine($"nanovlm sample-data: {result.Rows} rows, {result.Images} images " +
                    $"({result.ImageBytes / 1e6:F1} MB encoded), {result.Turns} question/answer turns, seed {options.Seed}, " +
                    $"in {result.Elapsed.TotalSeconds:F1} s");
                foreach (var file in result.Files)
                    stdout.WriteLine($"  {file}  ({new FileInfo(file).Length / 1e6:F1} MB)");
                stdout.WriteLine($"Read it with: nanovlm loader --data {dir}");
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}

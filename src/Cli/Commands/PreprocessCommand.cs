using System.CommandLine;
using System.Globalization;
using NanoVlm.Kernels;
using NanoVlm.Loader.Configuration;
using NanoVlm.Loader.Images;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm preprocess IMAGE... --out DIR</c>: nanoVLM's image path (decode → DynamicResize → 512 tiles + global
/// tile) on image files, with the SIMD CPU path or the ILGPU kernels, many images in parallel
/// (<see cref="ImageFilePreprocessor"/>), writing <see cref="PreprocessedImageFiles"/> per image; <c>--bench</c> times
/// the path on in-memory bytes without writing. The command parses, calls the library and prints.
/// </summary>
internal static class PreprocessCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var images = new Argument<string[]>("IMAGE")
        {
            Description = "Image files (JPEG, PNG, WebP, BMP, GIF).", Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<DirectoryInfo?>("--out")
        {
            Description = "Output directory (created if missing). Required unless --bench.", HelpName = "DIR",
        };
        var backend = new Option<string>("--backend")
        {
            Description = "simd (CPU, System.Runtime.Intrinsics) or ilgpu (CUDA when present, else ILGPU's slow CPU accelerator).",
            DefaultValueFactory = _ => "simd",
        };
        backend.AcceptOnlyFromAmong("simd", "ilgpu");
        var threads = new Option<int>("--threads")
        {
            Description = "Images processed in parallel (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount,
            HelpName = "N",
        };
        var defaults = ImagePipelineOptions.Default;
        var config = ConfigOption.Create();
        var maxImgSize = new Option<int>("--max-img-size")
        {
            Description = $"Longest side after resize (max_img_size, default {defaults.MaxSideLength}).", HelpName = "PIXELS",
        };
        var splitSize = new Option<int>("--split-size") { Description = $"Tile side (vit_img_size, default {defaults.SplitSize}).", HelpName = "PIXELS" };
        var resizeToMax = new Option<bool>("--resize-to-max-side")
        {
            Description = $"resize_to_max_side_len: the long side always becomes --max-img-size (true|false, default {(defaults.ResizeToMaxSide ? "true" : "false")}).",
        };
        var bench = new Option<bool>("--bench")
        {
            Description = "Read all inputs into memory, process one untimed warm-up image, then time processing all of them without " +
                "writing; print {\"images\", \"seconds\", \"images_per_s\"} as the last line.",
        };

        var command = new Command("preprocess", "Run nanoVLM's image path (decode, DynamicResize, tiles + global tile) on image files.")
        {
            images, output, config, backend, threads, maxImgSize, splitSize, resizeToMax, bench,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                // The library's defaults, then the --config file, then the flags given.
                var b = ConfigOption.Load(parse, config).ApplyTo(defaults);
                var options = b with
                {
                    SplitSize = parse.Flag(splitSize, b.SplitSize), MaxSideLength = parse.Flag(maxImgSize, b.MaxSideLength),
                    ResizeToMaxSide = parse.Flag(resizeToMax, b.ResizeToMaxSide),
                };
                options.Validate();
                int n = parse.GetValue(threads);
                if (n < 1) throw new ArgumentOutOfRangeException(nameof(threads), n, "--threads must be at least 1.");
                string[] inputs = parse.GetValue(images) ?? [];
                string? outDir = parse.GetValue(output)?.FullName;
                bool isBench = parse.GetValue(bench);
                if (!isBench && outDir is null) throw new ArgumentException("--out DIR is required (or --bench).");
                using var ilgpu = parse.GetValue(backend) == "ilgpu" ? IlgpuImageBackend.Create() : null;
                var runner = new ImageFilePreprocessor(options, n, ilgpu);
                var run = isBench ? runner.Bench(inputs) : runner.WriteAll(inputs, outDir!);
                Print(run, options, ilgpu, isBench, outDir, stdout, stderr);
                return run.Failed > 0 ? 1 : 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or ConfigFileException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static void Print(ImageFileRun run, ImagePipelineOptions options, IlgpuImageBackend? ilgpu, bool bench, string? outDir,
        TextWriter stdout, TextWriter stderr)
    {
        foreach (var r in run.Results)
        {
            if (r.Error is { } reason) stderr.WriteLine($"{r.Path}: {reason}");
            else if (!bench && r.Geometry is { } g)
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Path}: {g.SourceWidth}x{g.SourceHeight} -> {g.TargetWidth}x{g.TargetHeight}, grid {g.Grid.Rows}x{g.Grid.Cols}, {g.Grid.OutputTileCount} tiles, {g.TokenCount} image tokens"));
            }
        }
        string backendName = ilgpu is null ? "simd" : $"ilgpu ({ilgpu.DeviceName})";
        int ok = run.Succeeded;
        if (bench)
        {
            stdout.WriteLine($"nanovlm preprocess --bench: backend {backendName}, {run.Threads} threads, " +
                $"split {options.SplitSize}, max side {options.MaxSideLength}, resize to max side {options.ResizeToMaxSide}; {run.Failed} failed");
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cpu_seconds {run.CpuSeconds:R} (process user+sys during the timed region; robust to other load on the machine)"));
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"images\": {ok}, \"seconds\": {run.Seconds:R}, \"images_per_s\": {(run.Seconds > 0 ? ok / run.Seconds : 0):R}}}"));
        }
        else
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"nanovlm preprocess: {ok} images written to {outDir} ({run.Failed} failed) in {run.Seconds:F3} s, backend {backendName}, {run.Threads} threads"));
        }
    }
}

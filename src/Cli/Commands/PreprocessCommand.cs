using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using NanoVlm.Kernels;
using NanoVlm.Loader.Configuration;
using NanoVlm.Loader.Images;
using SkiaSharp;

// Namespace NanoVlm.Cli (not .Commands) so Program.Commands() can name the command without a using.
namespace NanoVlm.Cli;

/// <summary>
/// <c>nanovlm preprocess IMAGE... --out DIR</c>: nanoVLM's image path (decode → DynamicResize → 512 tiles + global
/// tile) on image files, with the SIMD CPU path or the ILGPU kernels, many images in parallel. Writes per image
/// <c>&lt;stem&gt;.resized.png</c>, <c>&lt;stem&gt;.tiles.npy</c> (float32 [N,3,S,S], global first) and
/// <c>&lt;stem&gt;.json</c>; <c>--bench</c> times the path on in-memory bytes without writing. The output names and
/// formats are a contract: scripts depend on them.
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
        var defaults = ImagePreprocessorOptions.Default;
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
                var run = new Run(parse.GetValue(images) ?? [], options, n, parse.GetValue(backend) == "ilgpu",
                    parse.GetValue(bench), parse.GetValue(output)?.FullName);
                if (!run.Bench && run.OutDir is null) throw new ArgumentException("--out DIR is required (or --bench).");
                return run.Execute(stdout, stderr);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or ConfigFileException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>One invocation: the inputs, their results, the worker threads.</summary>
    private sealed class Run(string[] inputs, ImagePreprocessorOptions options, int threads, bool ilgpu, bool bench, string? outDir)
    {
        private readonly string?[] _errors = new string?[inputs.Length];
        private readonly ImageGeometry?[] _done = new ImageGeometry?[inputs.Length];
        private byte[]?[] _bytes = [];
        private int _next = -1;

        public bool Bench => bench;

        public string? OutDir => outDir;

        public int Execute(TextWriter stdout, TextWriter stderr)
        {
            if (outDir is not null && !bench) Directory.CreateDirectory(outDir);
            var stems = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < inputs.Length; i++)
            {
                string stem = Path.GetFileNameWithoutExtension(inputs[i]);
                if (!bench && !stems.TryAdd(stem, i))
                    _errors[i] = $"output stem '{stem}' is also the stem of {inputs[stems[stem]]}; outputs would collide";
            }

            IlgpuImageBackend? backend = ilgpu ? IlgpuImageBackend.Create() : null;
            try
            {
                if (bench)
                {
                    _bytes = new byte[]?[inputs.Length];
                    for (int i = 0; i < inputs.Length; i++)
                    {
                        try { _bytes[i] = File.ReadAllBytes(inputs[i]); }
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _errors[i] = e.Message; }
                    }
                }
                if (bench) WarmUp(backend);
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                var workers = new Thread[Math.Min(threads, Math.Max(1, inputs.Length))];
                for (int t = 0; t < workers.Length; t++)
                {
                    workers[t] = new Thread(() => Work(backend)) { IsBackground = true, Name = $"preprocess-{t}" };
                    workers[t].Start();
                }
                foreach (var w in workers) w.Join();
                double seconds = clock.Elapsed.TotalSeconds;
                double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;

                int ok = 0, failed = 0;
                for (int i = 0; i < inputs.Length; i++)
                {
                    if (_errors[i] is { } reason)
                    {
                        failed++;
                        stderr.WriteLine($"{inputs[i]}: {reason}");
                    }
                    else if (_done[i] is { } g)
                    {
                        ok++;
                        if (!bench)
                        {
                            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"{inputs[i]}: {g.SourceWidth}x{g.SourceHeight} -> {g.TargetWidth}x{g.TargetHeight}, grid {g.Grid.Rows}x{g.Grid.Cols}, {g.Grid.OutputTileCount} tiles, {g.TokenCount} image tokens"));
                        }
                    }
                }
                string backendName = backend is null ? "simd" : $"ilgpu ({backend.DeviceName})";
                if (bench)
                {
                    stdout.WriteLine($"nanovlm preprocess --bench: backend {backendName}, {workers.Length} threads, " +
                        $"split {options.SplitSize}, max side {options.MaxSideLength}, resize to max side {options.ResizeToMaxSide}; {failed} failed");
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"cpu_seconds {cpuSeconds:R} (process user+sys during the timed region; robust to other load on the machine)"));
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{{\"images\": {ok}, \"seconds\": {seconds:R}, \"images_per_s\": {(seconds > 0 ? ok / seconds : 0):R}}}"));
                }
                else
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"nanovlm preprocess: {ok} images written to {outDir} ({failed} failed) in {seconds:F3} s, backend {backendName}, {workers.Length} threads"));
                }
                return failed > 0 ? 1 : 0;
            }
            finally
            {
                backend?.Dispose();
            }
        }

        /// <summary>--bench: one untimed pass over the first readable input (JIT, kernel caches), as the Python reference does.</summary>
        private void WarmUp(IlgpuImageBackend? backend)
        {
            int i = Array.FindIndex(_bytes, b => b is not null);
            if (i < 0) return;
            try
            {
                var pre = new ImagePreprocessor(options, backend);
                var g = pre.Plan(_bytes[i], inputs[i]);
                pre.Process(_bytes[i], inputs[i], new float[g.OutputFloatCount], new byte[g.ResizedByteCount]);
            }
            catch (Exception e) when (e is ImageDecodeException or ArgumentException)
            {
                // Reported when the input is processed for real.
            }
        }

        private void Work(IlgpuImageBackend? backend)
        {
            var pre = new ImagePreprocessor(options, backend);
            float[] tiles = [];
            byte[] resized = [];
            byte[] rgba = [];
            int i;
            while ((i = Interlocked.Increment(ref _next)) < inputs.Length)
            {
                if (_errors[i] is not null) continue;
                string name = inputs[i];
                try
                {
                    byte[] data = bench ? _bytes[i]! : File.ReadAllBytes(name);
                    ImageGeometry g = pre.Plan(data, name);
                    Grow(ref tiles, g.OutputFloatCount);
                    Grow(ref resized, g.ResizedByteCount);
                    Span<float> t = tiles.AsSpan(0, (int)g.OutputFloatCount);
                    Span<byte> r = resized.AsSpan(0, (int)g.ResizedByteCount);
                    pre.Process(data, name, t, r);
                    if (!bench) Write(outDir!, Path.GetFileNameWithoutExtension(name), g, t, r, ref rgba);
                    _done[i] = g;
                }
                catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
                {
                    _errors[i] = Reason(e, name);
                }
                catch (Exception e)
                {
                    // Anything else (out of memory on a huge image, a bug) fails this image only, never the process.
                    _errors[i] = $"{e.GetType().Name}: {e.Message}";
                }
            }
        }

        /// <summary>The reason part of a failure (the caller prefixes the input name): "Corrupt: malformed PNG header".</summary>
        private static string Reason(Exception e, string name)
        {
            string prefix = $"Cannot decode image '{name}': ";
            return e is ImageDecodeException && e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message;
        }

        private static void Grow<T>(ref T[] buffer, long length)
        {
            if (buffer.Length < length) buffer = GC.AllocateUninitializedArray<T>(checked((int)length));
        }
    }

    /// <summary>Writes the three outputs of one image, each through a temporary file renamed at the end, so a failed
    /// image never leaves a partial output under its final name.</summary>
    private static void Write(string dir, string stem, ImageGeometry g, ReadOnlySpan<float> tiles, ReadOnlySpan<byte> resized, ref byte[] rgba)
    {
        string png = Path.Combine(dir, stem + ".resized.png"), npy = Path.Combine(dir, stem + ".tiles.npy"), json = Path.Combine(dir, stem + ".json");
        var temps = new List<string>(3);
        try
        {
            WriteTemp(png, EncodePng(resized, g.TargetWidth, g.TargetHeight, ref rgba), temps);
            using (var s = CreateTemp(npy, temps))
            {
                s.Write(NpyHeader([g.Grid.OutputTileCount, 3, g.SplitSize, g.SplitSize]));
                WriteFloatsLittleEndian(s, tiles);
            }
            WriteTemp(json, JsonFor(g), temps);
            foreach (var tmp in temps) File.Move(tmp, tmp[..^4], overwrite: true);
            temps.Clear();
        }
        finally
        {
            foreach (var tmp in temps)
            {
                try { File.Delete(tmp); }
                catch (IOException) { } // best effort; the final names were never written
            }
        }
    }

    private static FileStream CreateTemp(string final, List<string> temps)
    {
        string tmp = final + ".tmp";
        temps.Add(tmp);
        return new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
    }

    private static void WriteTemp(string final, ReadOnlySpan<byte> bytes, List<string> temps)
    {
        using var s = CreateTemp(final, temps);
        s.Write(bytes);
    }

    private static void WriteFloatsLittleEndian(Stream s, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            s.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> b = stackalloc byte[4];
        foreach (float v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            s.Write(b);
        }
    }

    /// <summary>A .npy format 1.0 header for a C-order little-endian float32 array: magic, version 1.0, header length
    /// (uint16 LE), then the dict padded with spaces and ending in a newline so the data starts at a multiple of 64.</summary>
    internal static byte[] NpyHeader(ReadOnlySpan<int> shape)
    {
        var dims = new StringBuilder();
        foreach (int d in shape) dims.Append(CultureInfo.InvariantCulture, $"{d}, ");
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({dims.ToString(0, dims.Length - 2)})";
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}";
        int total = 10 + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string header = dict + new string(' ', padded - total) + "\n";
        var bytes = new byte[10 + header.Length];
        bytes[0] = 0x93;
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), checked((ushort)header.Length));
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        return bytes;
    }

    private static byte[] JsonFor(ImageGeometry g)
    {
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("source");
            json.WriteNumberValue(g.SourceWidth);
            json.WriteNumberValue(g.SourceHeight);
            json.WriteEndArray();
            json.WriteStartArray("resized");
            json.WriteNumberValue(g.TargetWidth);
            json.WriteNumberValue(g.TargetHeight);
            json.WriteEndArray();
            json.WriteStartArray("grid");
            json.WriteNumberValue(g.Grid.Rows);
            json.WriteNumberValue(g.Grid.Cols);
            json.WriteEndArray();
            json.WriteNumber("tiles", g.Grid.OutputTileCount);
            json.WriteNumber("image_tokens", g.TokenCount);
            json.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>Lossless PNG of RGB8 pixels with SkiaSharp (expanded to opaque RGBA8888, which Skia stores as PNG RGB).</summary>
    internal static unsafe byte[] EncodePng(ReadOnlySpan<byte> rgb, int width, int height, ref byte[] rgba)
    {
        int pixels = width * height;
        if (rgba.Length < 4 * pixels) rgba = GC.AllocateUninitializedArray<byte>(4 * pixels);
        for (int p = 0, q = 0; p < pixels; p++, q += 4)
        {
            rgba[q] = rgb[3 * p];
            rgba[q + 1] = rgb[3 * p + 1];
            rgba[q + 2] = rgb[3 * p + 2];
            rgba[q + 3] = 255;
        }
        fixed (byte* ptr = rgba)
        {
            var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
            using var pixmap = new SKPixmap(info, (IntPtr)ptr, 4 * width);
            using SKData? data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 6))
                ?? throw new IOException("SkiaSharp could not encode the resized image as PNG");
            return data.ToArray();
        }
    }
}

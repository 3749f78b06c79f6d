using System.Diagnostics;
using NanoVlm.Kernels;

namespace NanoVlm.Loader.Images;

/// <summary>
/// nanoVLM's image path over many image files on worker threads (one <see cref="ImagePreprocessor"/> per thread,
/// images handed out one at a time): <see cref="WriteAll"/> writes each image's <see cref="PreprocessedImageFiles"/>,
/// <see cref="Bench"/> times the path on in-memory bytes without writing. A failed image is reported in its result
/// and never stops the others.
/// </summary>
public sealed class ImageFilePreprocessor
{
    private readonly ImagePipelineOptions _options;
    private readonly int _threads;
    private readonly IlgpuImageBackend? _ilgpu;

    /// <summary>Creates the runner.</summary>
    /// <param name="options">Image-path parameters (validated here).</param>
    /// <param name="threads">Images processed in parallel, at least 1.</param>
    /// <param name="ilgpu">Run the kernels on this backend (not owned; it serialises calls), or null for the SIMD CPU path.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range or <paramref name="threads"/> &lt; 1.</exception>
    public ImageFilePreprocessor(ImagePipelineOptions options, int threads, IlgpuImageBackend? ilgpu = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        (_options, _threads, _ilgpu) = (options, threads, ilgpu);
    }

    /// <summary>Processes every input and writes its three files into <paramref name="outputDirectory"/> (created if
    /// missing). Two inputs with the same file stem would overwrite each other's outputs: the later one fails instead.</summary>
    /// <param name="inputs">Image files (JPEG, PNG, WebP, BMP, GIF).</param>
    /// <param name="outputDirectory">Where the outputs go.</param>
    /// <returns>One result per input, in input order, and the timing.</returns>
    public ImageFileRun WriteAll(IReadOnlyList<string> inputs, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        Directory.CreateDirectory(outputDirectory);
        var errors = new string?[inputs.Count];
        var stems = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < inputs.Count; i++)
        {
            string stem = Path.GetFileNameWithoutExtension(inputs[i]);
            if (!stems.TryAdd(stem, i))
                errors[i] = $"output stem '{stem}' is also the stem of {inputs[stems[stem]]}; outputs would collide";
        }
        return Run(inputs, errors, null, outputDirectory);
    }

    /// <summary>Reads every input into memory, processes one untimed warm-up image (JIT, kernel caches, as the Python
    /// reference does), then times processing all of them without writing anything.</summary>
    /// <param name="inputs">Image files.</param>
    /// <returns>One result per input and the timing of the timed pass.</returns>
    public ImageFileRun Bench(IReadOnlyList<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var errors = new string?[inputs.Count];
        var bytes = new byte[]?[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            try { bytes[i] = File.ReadAllBytes(inputs[i]); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { errors[i] = e.Message; }
        }
        int first = Array.FindIndex(bytes, b => b is not null);
        if (first >= 0)
        {
            try
            {
                var pre = new ImagePreprocessor(_options, _ilgpu);
                var g = pre.Plan(bytes[first], inputs[first]);
                pre.Process(bytes[first], inputs[first], new float[g.OutputFloatCount], new byte[g.ResizedByteCount]);
            }
            catch (Exception e) when (e is ImageDecodeException or ArgumentException)
            {
                // Reported when the input is processed for real.
            }
        }
        return Run(inputs, errors, bytes, null);
    }

    private ImageFileRun Run(IReadOnlyList<string> inputs, string?[] errors, byte[]?[]? inMemory, string? outputDirectory)
    {
        var done = new ImageGeometry?[inputs.Count];
        int next = -1;
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var workers = new Thread[Math.Min(_threads, Math.Max(1, inputs.Count))];
        for (int t = 0; t < workers.Length; t++)
        {
            workers[t] = new Thread(Work) { IsBackground = true, Name = $"preprocess-{t}" };
            workers[t].Start();
        }
        foreach (var w in workers) w.Join();
        double seconds = clock.Elapsed.TotalSeconds;
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var results = new ImageFileResult[inputs.Count];
        for (int i = 0; i < results.Length; i++) results[i] = new ImageFileResult(inputs[i], done[i], errors[i]);
        return new ImageFileRun(results, workers.Length, seconds, cpuSeconds);

        void Work()
        {
            var pre = new ImagePreprocessor(_options, _ilgpu);
            float[] tiles = [];
            byte[] resized = [];
            byte[] rgba = [];
            int i;
            while ((i = Interlocked.Increment(ref next)) < inputs.Count)
            {
                if (errors[i] is not null) continue;
                string name = inputs[i];
                try
                {
                    byte[] data = inMemory?[i] ?? File.ReadAllBytes(name);
                    ImageGeometry g = pre.Plan(data, name);
                    Grow(ref tiles, g.OutputFloatCount);
                    Grow(ref resized, g.ResizedByteCount);
                    Span<float> t = tiles.AsSpan(0, (int)g.OutputFloatCount);
                    Span<byte> r = resized.AsSpan(0, (int)g.ResizedByteCount);
                    pre.Process(data, name, t, r);
                    if (outputDirectory is not null)
                        PreprocessedImageFiles.Write(outputDirectory, Path.GetFileNameWithoutExtension(name), g, t, r, ref rgba);
                    done[i] = g;
                }
                catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
                {
                    errors[i] = Reason(e, name);
                }
                catch (Exception e)
                {
                    // Anything else (out of memory on a huge image, a bug) fails this image only, never the process.
                    errors[i] = $"{e.GetType().Name}: {e.Message}";
                }
            }
        }
    }

    /// <summary>The reason part of a failure (results carry the input name): "Corrupt: malformed PNG header".</summary>
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

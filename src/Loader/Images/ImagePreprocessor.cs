using NanoVlm.Kernels;

namespace NanoVlm.Loader.Images;

/// <summary>
/// nanoVLM's whole per-image path in one call, for the loader's materialize stage and the embedders: encoded bytes →
/// <see cref="ImageDecoder"/> (RGB8, Pillow <c>convert('RGB')</c>) → DynamicResize (Pillow-exact bicubic) → tiles
/// [N, 3, S, S] float32 (<c>byte / 255f</c>, CHW, tile-major; the global tile first when the grid is not 1×1) written
/// straight into the caller's span (for example the pack's pinned slab), optionally also the resized RGB8 bytes.
/// </summary>
/// <remarks>
/// <para><b>Backends.</b> Without an <see cref="IlgpuImageBackend"/> the SIMD CPU path (<see cref="ImageTiler"/>) runs
/// on the calling thread; with one, the resize, tiling and global tile run as ILGPU kernels (CUDA, or ILGPU's CPU
/// accelerator, which is slow and meant for correctness). Both produce identical bytes and floats. The backend is
/// not owned: the caller disposes it, and one backend may be shared by several preprocessors (it serialises calls).</para>
/// <para><b>Threading.</b> <see cref="Plan(ReadOnlySpan{byte}, string)"/> and <see cref="Plan(int, int, string)"/>
/// are thread-safe. The <c>Process*</c> methods reuse per-instance scratch buffers and are <b>not</b> thread-safe:
/// use one instance per worker thread (a concurrent call on the same instance throws
/// <see cref="InvalidOperationException"/> instead of corrupting output). Parallelism comes from running many
/// instances on different images.</para>
/// <para><b>Allocation.</b> The decoded RGB8 and the resized RGB8 live in buffers kept by the instance (grown on
/// demand, up to 64 MiB each), so the steady state allocates no
/// pixel-sized memory; the kernels' own scratch comes from the shared array pool.</para>
/// <para><b>Errors.</b> Every failure caused by the input (empty, unknown format, corrupt, truncated, unsupported,
/// more than <see cref="ImagePipelineOptions.MaxPixels"/> pixels, an output too large for one span) is an
/// <see cref="ImageDecodeException"/> naming the input and the reason, raised before anything is written when the
/// header already tells. A destination that is too small is a caller error (<see cref="ArgumentException"/>, checked
/// from the header before decoding). After an exception the destination content is unspecified; never treat it as output.</para>
/// </remarks>
public sealed class ImagePreprocessor
{
    // Scratch buffers (decoded RGB8, resized RGB8) up to this size are kept and reused, so the steady state allocates no
    // pixel buffers; a larger image gets a temporary one, so a single huge image does not pin hundreds of MB per worker.
    // 64 MiB holds a 4032×3024 photo decoded (36.6 MB) and a 2048×2048 resize (12.6 MB).
    private const long RetainedScratchBytes = 64L * 1024 * 1024;

    private readonly ImageDecoder _decoder;
    private readonly ImagePipelineOptions _pipeline;
    private readonly IlgpuImageBackend? _ilgpu;
    private byte[] _rgb = [];
    private byte[] _resized = [];
    private int _busy;

    /// <summary>Creates a preprocessor.</summary>
    /// <param name="options">nanoVLM's image-path parameters and the one pixel limit that both the decoder and the kernels
    /// enforce; null for <see cref="ImagePipelineOptions.Default"/>.</param>
    /// <param name="ilgpu">Run the kernels on this ILGPU backend (not owned, may be shared); null for the SIMD CPU path.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public ImagePreprocessor(ImagePipelineOptions? options = null, IlgpuImageBackend? ilgpu = null)
    {
        _pipeline = options ?? ImagePipelineOptions.Default;
        _pipeline.Validate();
        _decoder = new ImageDecoder(new ImageDecoderOptions { MaxPixels = _pipeline.MaxPixels });
        _ilgpu = ilgpu;
    }

    /// <summary>The options (immutable).</summary>
    public ImagePipelineOptions Options => _pipeline;

    /// <summary>The ILGPU backend in use, or null for the SIMD CPU path.</summary>
    public IlgpuImageBackend? IlgpuBackend => _ilgpu;

    /// <summary>The decoder this preprocessor uses (its pixel limit is <see cref="ImagePipelineOptions.MaxPixels"/>).</summary>
    public ImageDecoder Decoder => _decoder;

    /// <summary>
    /// Plans one image from its header only (no pixel is decoded; cheap enough to run on every row while planning
    /// packs): source size, resized size, tile grid, output float count and token count. Thread-safe.
    /// </summary>
    /// <param name="encoded">The encoded image (a prefix holding the header is enough).</param>
    /// <param name="name">Name of the input for error messages, e.g. "shard-00001.parquet row 17 image 0".</param>
    /// <returns>The geometry; <see cref="ImageGeometry.OutputFloatCount"/> is the destination size that
    /// <see cref="Process(ReadOnlySpan{byte}, string, Span{float}, Span{byte})"/> needs.</returns>
    /// <exception cref="ImageDecodeException">Bad header, more than <see cref="ImagePipelineOptions.MaxPixels"/>
    /// pixels, or an output that does not fit one span.</exception>
    public ImageGeometry Plan(ReadOnlySpan<byte> encoded, string name)
    {
        ImageHeader header = _decoder.ProbeChecked(encoded, name);
        return Plan(header.Width, header.Height, name);
    }

    /// <summary>Plans an image of a known source size (same rules and errors as <see cref="Plan(ReadOnlySpan{byte}, string)"/>). Thread-safe.</summary>
    /// <param name="width">Source width in pixels.</param>
    /// <param name="height">Source height in pixels.</param>
    /// <param name="name">Name of the input for error messages.</param>
    /// <returns>The geometry.</returns>
    /// <exception cref="ImageDecodeException">Non-positive size (<see cref="ImageDecodeFailure.Corrupt"/>), too many
    /// pixels or an output that does not fit one span (<see cref="ImageDecodeFailure.TooLarge"/>).</exception>
    public ImageGeometry Plan(int width, int height, string name)
    {
        try
        {
            return DynamicResize.Compute(width, height, _pipeline);
        }
        catch (ImageSizeException e)
        {
            throw new ImageDecodeException(name,
                e.Reason == ImageSizeError.NonPositive ? ImageDecodeFailure.Corrupt : ImageDecodeFailure.TooLarge,
                e.Message, e);
        }
    }

    /// <summary>Decodes, resizes and tiles one image into <paramref name="destination"/>.</summary>
    /// <param name="encoded">The encoded image (JPEG, PNG, WebP, BMP, GIF).</param>
    /// <param name="name">Name of the input for error messages.</param>
    /// <param name="destination">At least <see cref="ImageGeometry.OutputFloatCount"/> floats (size it with
    /// <see cref="Plan(ReadOnlySpan{byte}, string)"/>); receives [N, 3, S, S] float32, global tile first when the grid is not 1×1.</param>
    /// <returns>The geometry of the image.</returns>
    /// <exception cref="ImageDecodeException">The input is bad or too large (see the class remarks).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small (nothing decoded or written).</exception>
    /// <exception cref="InvalidOperationException">Called concurrently on the same instance.</exception>
    public ImageGeometry Process(ReadOnlySpan<byte> encoded, string name, Span<float> destination)
        => Process(encoded, name, destination, Span<byte>.Empty);

    /// <summary>
    /// As <see cref="Process(ReadOnlySpan{byte}, string, Span{float})"/>, also writing the resized RGB8 image (HWC,
    /// <see cref="ImageGeometry.ResizedByteCount"/> bytes) into <paramref name="resizedOut"/> when it is not empty.
    /// </summary>
    /// <param name="encoded">The encoded image.</param>
    /// <param name="name">Name of the input for error messages.</param>
    /// <param name="destination">At least <see cref="ImageGeometry.OutputFloatCount"/> floats.</param>
    /// <param name="resizedOut">Empty, or at least <see cref="ImageGeometry.ResizedByteCount"/> bytes.</param>
    /// <returns>The geometry of the image.</returns>
    /// <exception cref="ImageDecodeException">The input is bad or too large.</exception>
    /// <exception cref="ArgumentException">A destination is too small (nothing decoded or written).</exception>
    /// <exception cref="InvalidOperationException">Called concurrently on the same instance.</exception>
    public ImageGeometry Process(ReadOnlySpan<byte> encoded, string name, Span<float> destination, Span<byte> resizedOut)
    {
        Enter();
        try
        {
            ImageHeader header = _decoder.ProbeChecked(encoded, name);
            ImageGeometry g = Plan(header.Width, header.Height, name);
            CheckDestinations(g, destination.Length, resizedOut.Length);
            Span<byte> rgb = Scratch(ref _rgb, header.Rgb8ByteCount);
            _decoder.DecodeRgb8(encoded, rgb, name);
            Run(rgb, g, destination, resizedOut);
            return g;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// As <see cref="Process(ReadOnlySpan{byte}, string, Span{float})"/> with bfloat16 output: the bits of each float
    /// value rounded to nearest even (torch's <c>.to(torch.bfloat16)</c>), same layout. Always runs the SIMD CPU path,
    /// also when an <see cref="IlgpuBackend"/> is set (the ILGPU kernels write float32 only).
    /// </summary>
    /// <param name="encoded">The encoded image.</param>
    /// <param name="name">Name of the input for error messages.</param>
    /// <param name="destination">At least <see cref="ImageGeometry.OutputFloatCount"/> elements.</param>
    /// <returns>The geometry of the image.</returns>
    /// <exception cref="ImageDecodeException">The input is bad or too large.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small (nothing decoded or written).</exception>
    /// <exception cref="InvalidOperationException">Called concurrently on the same instance.</exception>
    public ImageGeometry ProcessBFloat16(ReadOnlySpan<byte> encoded, string name, Span<ushort> destination)
    {
        Enter();
        try
        {
            ImageHeader header = _decoder.ProbeChecked(encoded, name);
            ImageGeometry g = Plan(header.Width, header.Height, name);
            CheckDestinations(g, destination.Length, 0);
            Span<byte> rgb = Scratch(ref _rgb, header.Rgb8ByteCount);
            _decoder.DecodeRgb8(encoded, rgb, name);
            ImageTiler.ProcessBFloat16(rgb, g.SourceWidth, g.SourceHeight, destination, _pipeline);
            return g;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// As <see cref="Process(ReadOnlySpan{byte}, string, Span{float})"/> in the split format of the loader's slab: the
    /// global tile (when the grid is not 1×1) as float32 into <paramref name="globalTile"/> and the grid tiles as bytes
    /// into <paramref name="tiles"/> ([n_h·n_w, 3, S, S] uint8; <c>byte / 255f</c> gives the float path's values
    /// exactly). Always runs the SIMD CPU path, also when an <see cref="IlgpuBackend"/> is set.
    /// </summary>
    /// <param name="encoded">The encoded image.</param>
    /// <param name="name">Name of the input for error messages.</param>
    /// <param name="globalTile">At least <see cref="ImageGeometry.TileFloatCount"/> floats when the grid is not 1×1 (else unused).</param>
    /// <param name="tiles">At least <see cref="ImageGeometry.ResizedByteCount"/> bytes.</param>
    /// <returns>The geometry of the image.</returns>
    /// <exception cref="ImageDecodeException">The input is bad or too large.</exception>
    /// <exception cref="ArgumentException">A destination is too small (nothing decoded or written).</exception>
    /// <exception cref="InvalidOperationException">Called concurrently on the same instance.</exception>
    public ImageGeometry ProcessUInt8(ReadOnlySpan<byte> encoded, string name, Span<float> globalTile, Span<byte> tiles)
    {
        Enter();
        try
        {
            ImageHeader header = _decoder.ProbeChecked(encoded, name);
            ImageGeometry g = Plan(header.Width, header.Height, name);
            if (g.Grid.HasGlobalTile && globalTile.Length < g.TileFloatCount)
                throw new ArgumentException($"Global tile has {globalTile.Length} floats, [3,{g.SplitSize},{g.SplitSize}] needs {g.TileFloatCount}", nameof(globalTile));
            if (tiles.Length < g.ResizedByteCount)
                throw new ArgumentException($"Tiles have {tiles.Length} bytes, the grid [{g.Grid.TileCount},3,{g.SplitSize},{g.SplitSize}] needs {g.ResizedByteCount}", nameof(tiles));
            Span<byte> rgb = Scratch(ref _rgb, header.Rgb8ByteCount);
            _decoder.DecodeRgb8(encoded, rgb, name);
            ImageTiler.ProcessUInt8(rgb, g.SourceWidth, g.SourceHeight, globalTile, tiles, _pipeline);
            return g;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// The same path from already decoded RGB8 pixels (interleaved HWC, <paramref name="width"/>·<paramref name="height"/>·3
    /// bytes): DynamicResize, tiles and the global tile, with this instance's options and backend.
    /// </summary>
    /// <param name="rgb">The RGB8 pixels.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="name">Name of the input for error messages.</param>
    /// <param name="destination">At least <see cref="ImageGeometry.OutputFloatCount"/> floats.</param>
    /// <param name="resizedOut">Empty, or at least <see cref="ImageGeometry.ResizedByteCount"/> bytes.</param>
    /// <returns>The geometry of the image.</returns>
    /// <exception cref="ImageDecodeException">Non-positive or too large size.</exception>
    /// <exception cref="ArgumentException"><paramref name="rgb"/> is shorter than the image, or a destination is too small.</exception>
    /// <exception cref="InvalidOperationException">Called concurrently on the same instance.</exception>
    public ImageGeometry ProcessRgb8(ReadOnlySpan<byte> rgb, int width, int height, string name, Span<float> destination, Span<byte> resizedOut = default)
    {
        Enter();
        try
        {
            ImageGeometry g = Plan(width, height, name);
            if (rgb.Length < 3L * width * height)
                throw new ArgumentException($"Source span has {rgb.Length} bytes, a {width}x{height} RGB8 image needs {3L * width * height}", nameof(rgb));
            CheckDestinations(g, destination.Length, resizedOut.Length);
            Run(rgb, g, destination, resizedOut);
            return g;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private void Run(ReadOnlySpan<byte> rgb, ImageGeometry g, Span<float> destination, Span<byte> resizedOut)
    {
        int w = g.SourceWidth, h = g.SourceHeight;
        if (_ilgpu is not null)
        {
            _ilgpu.Process(rgb, w, h, destination, resizedOut, _pipeline);
            return;
        }
        Span<byte> resized = resizedOut.IsEmpty ? Scratch(ref _resized, g.ResizedByteCount) : resizedOut;
        ImageTiler.Process(rgb, w, h, destination, resized, _pipeline);
    }

    private static void CheckDestinations(ImageGeometry g, int destinationLength, int resizedLength)
    {
        if (destinationLength < g.OutputFloatCount)
        {
            throw new ArgumentException(
                $"Destination has {destinationLength} floats, the output [{g.Grid.OutputTileCount},3,{g.SplitSize},{g.SplitSize}] needs {g.OutputFloatCount}",
                "destination");
        }
        if (resizedLength != 0 && resizedLength < g.ResizedByteCount)
            throw new ArgumentException($"Resized output has {resizedLength} bytes, need {g.ResizedByteCount}", "resizedOut");
    }

    private Span<byte> Scratch(ref byte[] kept, long bytes)
    {
        int n = checked((int)bytes);
        if (kept.Length >= n) return kept.AsSpan(0, n);
        byte[] fresh = GC.AllocateUninitializedArray<byte>(n);
        if (n <= RetainedScratchBytes) kept = fresh;
        return fresh.AsSpan(0, n);
    }

    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("ImagePreprocessor is not thread-safe: use one instance per worker thread.");
    }
}

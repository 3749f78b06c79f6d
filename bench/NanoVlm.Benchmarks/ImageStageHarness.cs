using System.Diagnostics;
using System.Globalization;
using NanoVlm.Kernels;
using NanoVlm.Kernels.Internal;
using NanoVlm.Loader.Images;

namespace NanoVlm.Benchmarks;

/// <summary>
/// <c>image-stages DIR [--rounds N]</c>: the single-thread stage split of <c>nanovlm preprocess</c> over the JPEGs
/// of DIR (tools/images_bench.sh's photos), next to the floor — TurboJPEG decode alone plus writing the output bytes
/// at memcpy speed. Every stage runs on the same image one after another; each image's time per stage is its best of
/// N rounds (robust to the other load on a shared machine), and the table is the mean over the images in ms.
/// </summary>
internal static class ImageStageHarness
{
    private static readonly string[] Stages =
    [
        "decode (TurboJPEG, into a reused buffer)",
        "resize: horizontal pass",
        "resize: vertical pass",
        "tiles float32 (TileWriter.WriteTiles)",
        "tiles uint8 (TileWriter.WriteTilesUInt8)",
        "global tile (GlobalTileResizer)",
        "separate stages, float32: resize + global + tiles (from RGB8)",
        "ImageTiler.Process float32 (from RGB8)",
        "ImageTiler.ProcessUInt8 (from RGB8)",
        "ImagePreprocessor.Process float32 (JPEG in)",
        "ImagePreprocessor.ProcessUInt8 (JPEG in)",
        "memcpy of the float32 output bytes",
        "memcpy of the uint8 output bytes (grid uint8 + global float32)",
    ];

    public static int Run(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: image-stages DIR [--rounds N]");
            return 2;
        }
        int rounds = args.Length >= 3 && args[1] == "--rounds" ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        string[] files = [.. Directory.GetFiles(args[0], "*.jpg").Order(StringComparer.Ordinal)];
        if (files.Length == 0)
        {
            Console.Error.WriteLine($"image-stages: no .jpg files in {args[0]}");
            return 2;
        }
        if (!ImageDecoder.IsTurboJpegAvailable)
        {
            Console.Error.WriteLine("image-stages: libturbojpeg.so.0 is not installed; the decode floor needs it (apt-get install libturbojpeg0)");
            return 2;
        }
        byte[][] jpegs = [.. files.Select(File.ReadAllBytes)];
        var decoder = new ImageDecoder(new ImageDecoderOptions { JpegDecoder = JpegBackend.TurboJpeg });
        var pre = new ImagePreprocessor();
        var best = new double[files.Length, Stages.Length];
        for (int i = 0; i < files.Length; i++)
            for (int s = 0; s < Stages.Length; s++) best[i, s] = double.MaxValue;

        // Buffers sized for the largest image, allocated once (pinned, like the loader's slabs).
        long maxRgb = 0;
        long maxOut = 0, maxResized = 0, maxTemp = 0;
        foreach (var j in jpegs)
        {
            var h = decoder.ProbeChecked(j, "probe");
            var g = ImageTiler.Plan(h.Width, h.Height);
            maxRgb = Math.Max(maxRgb, h.Rgb8ByteCount);
            maxOut = Math.Max(maxOut, g.OutputFloatCount);
            maxResized = Math.Max(maxResized, g.ResizedByteCount);
            maxTemp = Math.Max(maxTemp, 3L * g.TargetWidth * h.Height);
        }
        byte[] rgb = GC.AllocateUninitializedArray<byte>((int)maxRgb, pinned: true);
        byte[] temp = GC.AllocateUninitializedArray<byte>((int)maxTemp, pinned: true);
        byte[] resized = GC.AllocateUninitializedArray<byte>((int)maxResized, pinned: true);
        float[] output = GC.AllocateUninitializedArray<float>((int)maxOut, pinned: true);
        float[] copySource = GC.AllocateUninitializedArray<float>((int)maxOut, pinned: true);
        byte[] tilesU8 = GC.AllocateUninitializedArray<byte>((int)maxResized, pinned: true);
        byte[] tilesU8Source = GC.AllocateUninitializedArray<byte>((int)maxResized, pinned: true);
        copySource.AsSpan().Fill(0.5f);
        tilesU8Source.AsSpan().Fill(7);

        var sw = new Stopwatch();
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < files.Length; i++)
            {
                var header = decoder.ProbeChecked(jpegs[i], files[i]);
                int w = header.Width, hgt = header.Height;
                var g = ImageTiler.Plan(w, hgt);
                int tw = g.TargetWidth, th = g.TargetHeight, s = g.SplitSize, tile = (int)g.TileFloatCount;
                int outFloats = (int)g.OutputFloatCount, resizedBytes = (int)g.ResizedByteCount;
                void Time(int stage, Action a)
                {
                    sw.Restart();
                    a();
                    best[i, stage] = Math.Min(best[i, stage], sw.Elapsed.TotalMilliseconds);
                }
                Time(0, () => decoder.DecodeRgb8(jpegs[i], rgb, files[i]));
                // The two resize passes as BicubicResizer.Resize runs them (both are needed at these sizes unless a
                // side is unchanged; then the pass is skipped and costs 0 here too).
                var vert = ResampleCoefficients.Compute(hgt, th);
                int yFirst = vert.Bounds[0], yLast = vert.Bounds[th * 2 - 2] + vert.Bounds[th * 2 - 1];
                bool needH = tw != w, needV = th != hgt;
                Time(1, () =>
                {
                    if (!needH) return;
                    var horiz = ResampleCoefficients.Compute(w, tw);
                    BicubicResizer.Horizontal(rgb, w, needV ? yFirst : 0, needV ? yLast - yFirst : hgt, needV ? temp : resized, tw, horiz, simd: true);
                    horiz.Return();
                });
                Time(2, () =>
                {
                    if (!needV) return;
                    if (needH) BicubicResizer.Vertical(temp, tw, yFirst, resized, th, vert, simd: true);
                    else BicubicResizer.Vertical(rgb, w, 0, resized, th, vert, simd: true);
                });
                vert.Return();
                var rs = new ArraySegment<byte>(resized, 0, resizedBytes);
                Time(3, () => TileWriter.WriteTiles(rs, tw, th, s, output.AsSpan(g.Grid.HasGlobalTile ? tile : 0, 3 * tw * th)));
                Time(4, () => TileWriter.WriteTilesUInt8(rs, tw, th, s, tilesU8.AsSpan(0, resizedBytes)));
                Time(5, () => { if (g.Grid.HasGlobalTile) GlobalTileResizer.Resize(rs, tw, th, s, output.AsSpan(0, tile)); });
                Time(6, () =>
                {
                    BicubicResizer.Resize(rgb, w, hgt, rs.AsSpan(), tw, th);
                    if (g.Grid.HasGlobalTile) GlobalTileResizer.Resize(rs, tw, th, s, output.AsSpan(0, tile));
                    TileWriter.WriteTiles(rs, tw, th, s, output.AsSpan(g.Grid.HasGlobalTile ? tile : 0, 3 * tw * th));
                });
                Time(7, () => ImageTiler.Process(rgb, w, hgt, output));
                Time(8, () => ImageTiler.ProcessUInt8(rgb, w, hgt, output.AsSpan(0, tile), tilesU8));
                Time(9, () => pre.Process(jpegs[i], files[i], output));
                Time(10, () => pre.ProcessUInt8(jpegs[i], files[i], output.AsSpan(0, tile), tilesU8));
                Time(11, () => copySource.AsSpan(0, outFloats).CopyTo(output));
                Time(12, () =>
                {
                    tilesU8Source.AsSpan(0, resizedBytes).CopyTo(tilesU8);
                    if (g.Grid.HasGlobalTile) copySource.AsSpan(0, tile).CopyTo(output);
                });
            }
        }

        double Mean(int stage) => Enumerable.Range(0, files.Length).Average(i => best[i, stage]);
        Console.WriteLine($"{files.Length} JPEGs from {args[0]}, 1 thread, best of {rounds} rounds per image, mean ms per image:");
        Console.WriteLine();
        Console.WriteLine("| stage | ms / image |");
        Console.WriteLine("|---|---:|");
        for (int s = 0; s < Stages.Length; s++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Stages[s]} | {Mean(s):F2} |"));
        double floorF32 = Mean(0) + Mean(11), floorU8 = Mean(0) + Mean(12);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **floor float32** (decode + memcpy of the output) | **{floorF32:F2}** |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **floor uint8** (decode + memcpy of the output) | **{floorU8:F2}** |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Distance to the floor: float32 {Mean(9) / floorF32:F2}x, uint8 {Mean(10) / floorU8:F2}x " +
            $"(ImagePreprocessor from JPEG bytes against decode + memcpy)."));
        return 0;
    }
}

using NanoVlm.Loader.Text;
using SkiaSharp;

namespace NanoVlm.SampleData;

/// <summary>
/// Generates deterministic, learnable vision-language records: pictures of coloured shapes, seven-segment numbers and
/// short pixel-font words with questions whose answers are read off the picture ("How many circles are there?" → "3",
/// "What colour is the square?" → "red", "What number is written?" → "47", "What word is written?" → "CAT").
/// </summary>
/// <remarks>Row <c>i</c> of seed <c>s</c> depends only on (s, i), so rows can be rendered in parallel and any prefix
/// of a larger set equals the smaller set. About 5% of rows have no image, 80% one, 15% two or three; image sizes
/// range from 96 to 1024 pixels with varied aspect ratios (a fifth longer than 512, so tiling grids beyond 1×1
/// occur); ratings are mostly 2–5 with some 0 (dropped by the default minimum of 1), some null entries and some
/// absent lists.</remarks>
public static class SyntheticSampleGenerator
{
    private static readonly (string Name, SKColor Color)[] Colours =
    [
        ("red", new SKColor(220, 30, 30)), ("green", new SKColor(30, 150, 50)), ("blue", new SKColor(30, 70, 220)),
        ("yellow", new SKColor(235, 200, 20)), ("orange", new SKColor(245, 130, 20)), ("purple", new SKColor(140, 50, 180)),
        ("black", new SKColor(20, 20, 20)),
    ];

    private static readonly SKColor[] Backgrounds =
        [new(255, 255, 255), new(236, 236, 236), new(245, 238, 220), new(225, 238, 245)];

    private static readonly string[] Shapes = ["circle", "square", "triangle"];

    private static readonly string[] Words =
    [
        "CAT", "DOG", "SUN", "BOX", "CAR", "HAT", "KEY", "MAP", "CUP", "PEN", "STAR", "TREE", "FISH", "BIRD", "MOON",
        "BOAT", "LAMP", "DOOR", "RAIN", "SNOW", "APPLE", "HOUSE", "TRAIN", "CLOUD", "RIVER", "ZEBRA", "QUEEN", "JUMP",
    ];

    private static readonly int[] SmallLongSides = [96, 160, 224, 256, 320, 384, 448, 512];
    private static readonly int[] LargeLongSides = [640, 800, 1024];
    private static readonly double[] Aspects = [1.0, 4 / 3.0, 3 / 4.0, 16 / 9.0, 9 / 16.0, 2.0, 0.5];

    /// <summary>Generates rows <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> − 1 for
    /// <paramref name="seed"/>, rendering in parallel, returned in row order.</summary>
    public static SyntheticSample[] Generate(long start, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rows = new SyntheticSample[count];
        Parallel.For(0, count, i => rows[i] = Create(seed, start + i));
        return rows;
    }

    /// <summary>Row <paramref name="index"/> of the data set for <paramref name="seed"/>.</summary>
    public static SyntheticSample Create(int seed, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var rng = new Random(RowSeed(seed, index));
        var roll = rng.NextDouble();
        var imageCount = roll < 0.05 ? 0 : roll < 0.85 ? 1 : roll < 0.95 ? 2 : 3;
        var images = new SyntheticImage[imageCount];
        var turns = new List<ChatTurn>();
        string source;
        if (imageCount == 0)
        {
            source = "synthetic_arithmetic";
            var n = rng.Next(1, 3);
            for (var k = 0; k < n; k++)
            {
                int a = rng.Next(0, 50), b = rng.Next(0, 50);
                turns.Add(new ChatTurn($"What is {a} plus {b}?", $"{a + b}"));
            }
        }
        else
        {
            var kinds = new List<string>();
            for (var i = 0; i < imageCount; i++)
            {
                var scene = rng.NextDouble();
                var kind = scene < 0.25 ? "numbers" : scene < 0.4 ? "words" : "shapes";
                kinds.Add(kind);
                var (image, questions) = kind switch
                {
                    "numbers" => NumberImage(rng),
                    "words" => WordImage(rng),
                    _ => ShapesImage(rng),
                };
                images[i] = image;
                // Up to two questions per image; with several images each names its image.
                var asked = Math.Min(questions.Count, rng.Next(1, 3));
                Shuffle(rng, questions);
                for (var q = 0; q < asked; q++)
                {
                    var (question, answer) = questions[q];
                    turns.Add(new ChatTurn(imageCount > 1 ? $"In image {i + 1}: {question}" : question, answer));
                }
            }
            source = "synthetic_" + string.Join("_", kinds.Distinct());
        }
        return new SyntheticSample
        {
            Index = index,
            Images = images,
            Text = new TextSample
            {
                Texts = turns,
                RelevanceRatings = Ratings(rng, turns.Count),
                ImageCorrespondenceRatings = Ratings(rng, turns.Count),
                VisualDependencyRatings = Ratings(rng, turns.Count),
                FormattingRatings = Ratings(rng, turns.Count),
            },
            Source = source,
        };
    }

    private static int RowSeed(int seed, long index)
    {
        // SplitMix64 of (seed, index): stable across processes (unlike string.GetHashCode / HashCode).
        var z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return unchecked((int)(z ^ (z >> 31)));
    }

    private static long?[]? Ratings(Random rng, int turns)
    {
        if (rng.NextDouble() < 0.05) return null;
        var list = new long?[turns];
        for (var k = 0; k < turns; k++)
        {
            var r = rng.NextDouble();
            list[k] = r < 0.03 ? null : r < 0.08 ? 0 : rng.Next(2, 6);
        }
        return list;
    }

    private static void Shuffle<T>(Random rng, List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    private static (int W, int H) Size(Random rng)
    {
        // Mostly small images; about a fifth longer than 512 so that tiling grids beyond 1x1 occur.
        var sides = rng.NextDouble() < 0.2 ? LargeLongSides : SmallLongSides;
        var longSide = sides[rng.Next(sides.Length)];
        var aspect = Aspects[rng.Next(Aspects.Length)];
        return aspect >= 1
            ? (longSide, Math.Max(32, (int)Math.Round(longSide / aspect)))
            : (Math.Max(32, (int)Math.Round(longSide * aspect)), longSide);
    }

    private static (SyntheticImage, List<(string, string)>) ShapesImage(Random rng)
    {
        var (w, h) = Size(rng);
        // Shapes sit in distinct cells of a grid so they never overlap and the counts are visible.
        int cols = w >= h ? 4 : 3, rows = w >= h ? 3 : 4;
        var cells = Enumerable.Range(0, cols * rows).ToList();
        Shuffle(rng, cells);
        var kindCount = rng.Next(1, 4);
        var kinds = Shapes.OrderBy(_ => rng.Next()).Take(kindCount).ToArray();
        var colours = Colours.OrderBy(_ => rng.Next()).Take(kindCount).ToArray();
        var counts = kinds.Select(_ => rng.Next(1, 5)).ToArray();
        var questions = new List<(string, string)>();
        var bytes = Render(rng, w, h, canvas =>
        {
            float cw = w / (float)cols, ch = h / (float)rows;
            var cell = 0;
            for (var k = 0; k < kindCount; k++)
            {
                using var paint = new SKPaint { Color = colours[k].Color, IsAntialias = true, Style = SKPaintStyle.Fill };
                for (var n = 0; n < counts[k]; n++)
                {
                    var c = cells[cell++];
                    float cx = (c % cols + 0.5f) * cw, cy = (c / cols + 0.5f) * ch;
                    var r = Math.Min(cw, ch) * (0.25f + 0.15f * (float)rng.NextDouble());
                    DrawShape(canvas, kinds[k], cx, cy, r, paint);
                }
            }
        }, out var ext);
        for (var k = 0; k < kindCount; k++)
        {
            questions.Add(($"How many {kinds[k]}s are there?", $"{counts[k]}"));
            questions.Add(counts[k] == 1
                ? ($"What colour is the {kinds[k]}?", colours[k].Name)
                : ($"What colour are the {kinds[k]}s?", colours[k].Name));
        }
        questions.Add(("How many shapes are there in total?", $"{counts.Sum()}"));
        var absent = Shapes.Except(kinds).FirstOrDefault();
        if (absent is not null) questions.Add(($"How many {absent}s are there?", "0"));
        return (new SyntheticImage(bytes, ext, w, h), questions);
    }

    private static (SyntheticImage, List<(string, string)>) NumberImage(Random rng)
    {
        var (w, h) = Size(rng);
        var number = rng.Next(0, rng.NextDouble() < 0.5 ? 100 : 1000);
        var text = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var colour = Colours[rng.Next(Colours.Length)];
        var bytes = Render(rng, w, h, canvas =>
        {
            var digitHeight = Math.Min(h * 0.6f, w * 0.8f / text.Length / 0.675f);
            var x = (w - SevenSegment.Width(text.Length, digitHeight)) / 2;
            var y = (h - digitHeight) / 2;
            using var paint = new SKPaint { Color = colour.Color, IsAntialias = false, Style = SKPaintStyle.Fill };
            SevenSegment.Draw(canvas, text, x, y, digitHeight, paint);
        }, out var ext);
        List<(string, string)> questions =
        [
            ("What number is written?", text),
            ("What colour is the number?", colour.Name),
            ("How many digits does the number have?", $"{text.Length}"),
        ];
        return (new SyntheticImage(bytes, ext, w, h), questions);
    }

    private static (SyntheticImage, List<(string, string)>) WordImage(Random rng)
    {
        var (w, h) = Size(rng);
        var word = Words[rng.Next(Words.Length)];
        var colour = Colours[rng.Next(Colours.Length)];
        var bytes = Render(rng, w, h, canvas =>
        {
            // Whole device pixels per font pixel keep the letters crisp.
            var cell = Math.Max(1, (int)Math.Min(w * 0.85f / PixelFont.WidthInCells(word.Length), h * 0.5f / PixelFont.HeightInCells));
            var x = (w - cell * PixelFont.WidthInCells(word.Length)) / 2f;
            var y = (h - cell * PixelFont.HeightInCells) / 2f;
            using var paint = new SKPaint { Color = colour.Color, IsAntialias = false, Style = SKPaintStyle.Fill };
            PixelFont.Draw(canvas, word, MathF.Round(x), MathF.Round(y), cell, paint);
        }, out var ext);
        List<(string, string)> questions =
        [
            ("What word is written?", word),
            ("What colour is the word?", colour.Name),
            ("How many letters does the word have?", $"{word.Length}"),
            ("What is the first letter of the word?", word[..1]),
        ];
        return (new SyntheticImage(bytes, ext, w, h), questions);
    }

    private static void DrawShape(SKCanvas canvas, string kind, float cx, float cy, float r, SKPaint paint)
    {
        switch (kind)
        {
            case "circle":
                canvas.DrawCircle(cx, cy, r, paint);
                break;
            case "square":
                canvas.DrawRect(cx - r, cy - r, 2 * r, 2 * r, paint);
                break;
            default:
                using (var builder = new SKPathBuilder())
                {
                    builder.MoveTo(cx, cy - r);
                    builder.LineTo(cx + r, cy + r * 0.8f);
                    builder.LineTo(cx - r, cy + r * 0.8f);
                    builder.Close();
                    using var path = builder.Detach();
                    canvas.DrawPath(path, paint);
                }
                break;
        }
    }

    private static byte[] Render(Random rng, int w, int h, Action<SKCanvas> draw, out string extension)
    {
        var background = Backgrounds[rng.Next(Backgrounds.Length)];
        var roll = rng.NextDouble();
        // PNG and WebP encode several times slower than JPEG: keep them to small images so 1000 rows take seconds.
        var small = Math.Max(w, h) <= 512;
        var format = !small || roll < 0.7 ? SKEncodedImageFormat.Jpeg : roll < 0.9 ? SKEncodedImageFormat.Png
            : SKEncodedImageFormat.Webp;
        extension = format switch { SKEncodedImageFormat.Jpeg => "jpg", SKEncodedImageFormat.Png => "png", _ => "webp" };
        using var surface = SKSurface.Create(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"cannot create a {w}x{h} drawing surface");
        surface.Canvas.Clear(background);
        draw(surface.Canvas);
        using var image = surface.Snapshot();
        using var pixels = image.PeekPixels();
        using var data = format switch
        {
            SKEncodedImageFormat.Png => pixels.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 1)),
            _ => pixels.Encode(format, 90),
        } ?? throw new InvalidOperationException($"cannot encode a {w}x{h} image as {format}");
        return data.ToArray();
    }
}

using NanoVlm.Loader.Images;
using NanoVlm.SampleData;

namespace NanoVlm.Loader.Tests.Sources;

public sealed class SyntheticSampleGeneratorTests
{
    private const int Seed = 21;
    private static readonly Lazy<SyntheticSample[]> Samples = new(() => SyntheticSampleGenerator.Generate(0, 400, Seed));

    [Fact]
    public void RowsDependOnlyOnSeedAndIndex()
    {
        var a = SyntheticSampleGenerator.Create(Seed, 17);
        var b = SyntheticSampleGenerator.Generate(15, 4, Seed)[2];
        Assert.Equal(a.Text.Texts, b.Text.Texts);
        Assert.Equal(a.Images.Select(i => i.Encoded), b.Images.Select(i => i.Encoded));
        var other = SyntheticSampleGenerator.Generate(0, 20, Seed + 1);
        Assert.NotEqual(Samples.Value.Take(20).Select(s => s.Text.Texts![0].User.ToString()), other.Select(s => s.Text.Texts![0].User.ToString()));
    }

    [Fact]
    public void Mix_CoversImageCountsSizesAndRatings()
    {
        var rows = Samples.Value;
        Assert.Contains(rows, r => r.Images.Count == 0);
        Assert.Contains(rows, r => r.Images.Count == 1);
        Assert.Contains(rows, r => r.Images.Count >= 2);
        Assert.True(rows.Count(r => r.Images.Count == 1) > rows.Length / 2);
        foreach (var kind in new[] { "arithmetic", "shapes", "numbers", "words" })
            Assert.Contains(rows, r => r.Source == "synthetic_" + kind);
        var images = rows.SelectMany(r => r.Images).ToList();
        Assert.Contains(images, i => Math.Max(i.Width, i.Height) > 512);
        Assert.Contains(images, i => i.Width > i.Height);
        Assert.Contains(images, i => i.Width < i.Height);
        Assert.Equal(["jpg", "png", "webp"], images.Select(i => i.Extension).Distinct().Order());
        var ratings = rows.SelectMany(r => new[] { r.Text.RelevanceRatings, r.Text.FormattingRatings }).ToList();
        Assert.Contains(ratings, l => l is null);
        Assert.Contains(ratings, l => l is not null && l.Contains(null));
        Assert.Contains(ratings, l => l is not null && l.Contains(0));
        Assert.True(ratings.Where(l => l is not null).SelectMany(l => l!).Count(r => r >= 1) > 0.8 * ratings.Sum(l => l?.Count ?? 0));
        Assert.All(rows, r => Assert.Equal(r.Text.Texts!.Count, r.Text.RelevanceRatings?.Count ?? r.Text.Texts!.Count));
    }

    [Fact]
    public void EveryImageDecodesToItsDeclaredSizeAndFormat()
    {
        foreach (var image in Samples.Value.Take(120).SelectMany(r => r.Images))
        {
            var header = ImageProbe.Probe(image.Encoded, "synthetic");
            Assert.Equal((image.Width, image.Height), (header.Width, header.Height));
            var expected = image.Extension switch { "jpg" => ImageFormat.Jpeg, "png" => ImageFormat.Png, _ => ImageFormat.WebP };
            Assert.Equal(expected, header.Format);
        }
    }

    [Fact]
    public void TotalShapeCounts_MatchThePixels()
    {
        // Count the blobs that differ from the background colour in the decoded picture.
        var checkedRows = 0;
        foreach (var row in Samples.Value.Where(r => r.Images.Count == 1))
        {
            var turn = row.Text.Texts!.FirstOrDefault(t => t.User.Span.SequenceEqual("How many shapes are there in total?"));
            if (turn.User.IsEmpty) continue;
            using var decoded = ImageDecoder.Default.DecodeRgb8(row.Images[0].Encoded, "synthetic");
            Assert.Equal(int.Parse(turn.Assistant.Span, System.Globalization.CultureInfo.InvariantCulture),
                Blobs(decoded.Pixels, decoded.Width, decoded.Height));
            checkedRows++;
        }
        Assert.True(checkedRows >= 5, $"only {checkedRows} rows asked for the total");
    }

    private static int Blobs(ReadOnlySpan<byte> rgb, int w, int h)
    {
        int br = rgb[0], bg = rgb[1], bb = rgb[2];
        var mask = new bool[w * h];
        for (var i = 0; i < mask.Length; i++)
            mask[i] = Math.Abs(rgb[3 * i] - br) + Math.Abs(rgb[3 * i + 1] - bg) + Math.Abs(rgb[3 * i + 2] - bb) > 90;
        var seen = new bool[w * h];
        var stack = new Stack<int>();
        var blobs = 0;
        for (var start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || seen[start]) continue;
            var area = 0;
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var p = stack.Pop();
                area++;
                int x = p % w, y = p / w;
                foreach (var q in new[] { x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1 })
                {
                    if (q < 0 || seen[q] || !mask[q]) continue;
                    seen[q] = true;
                    stack.Push(q);
                }
            }
            // JPEG ringing can leave specks; shapes are at least tens of pixels.
            if (area >= 8) blobs++;
        }
        return blobs;
    }
}

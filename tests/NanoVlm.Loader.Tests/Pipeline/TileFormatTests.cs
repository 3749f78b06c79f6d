using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;
using Xunit.Abstractions;

namespace NanoVlm.Loader.Tests.Pipeline;

/// <summary>The uint8 slab against the float32 slab on the same runs: the same batches, and tiles that expand to the
/// float32 tiles bit for bit in fewer bytes.</summary>
public sealed class TileFormatTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-tile-format-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact(Timeout = 300_000)]
    public async Task SampleDataUInt8SlabsExpandToTheFloat32SlabsInAThirdOfTheBytes()
    {
        SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = 24, Shards = 1 });
        using var source = RowSources.Open(_dir);
        var options = new DataLoaderOptions { Workers = 1, Seed = 3, SlabPoolSize = 4 };
        await using var f32 = new DataLoader(source, options with { TileFormat = TileFormat.Float32 });
        await using var u8 = new DataLoader(source, options with { TileFormat = TileFormat.UInt8 });
        Assert.Equal(TileFormat.UInt8, new DataLoaderOptions().TileFormat);
        long images = 0, tiles = 0, globals = 0, f32Bytes = 0, u8Bytes = 0, tokenBytes = 0;
        while (await f32.ReadNextAsync() is { } a)
        {
            using (a)
            using (var b = await u8.ReadNextAsync())
            {
                Assert.NotNull(b);
                Assert.Equal(a.Packs.Count, b.Packs.Count);
                for (int p = 0; p < a.Packs.Count; p++)
                {
                    PackedSequence x = a.Packs[p], y = b.Packs[p];
                    Assert.Equal(x.ImageGrids, y.ImageGrids);
                    Assert.True(x.InputIds.SequenceEqual(y.InputIds));
                    Assert.True(x.Labels.SequenceEqual(y.Labels));
                    Assert.True(x.PositionIds.SequenceEqual(y.PositionIds));
                    var expanded = new float[x.Tiles.Length];
                    y.CopyTilesTo(expanded);
                    Assert.True(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.Tiles)
                        .SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expanded.AsSpan())));
                    images += x.ImageGrids.Count;
                    tiles += x.TileCount;
                    globals += y.GlobalTileCount;
                    tokenBytes += x.Layout.TilesOffset;
                    f32Bytes += x.Bytes - x.Layout.TilesOffset;
                    u8Bytes += y.Bytes - y.Layout.TilesOffset;
                }
            }
        }
        Assert.Null(await u8.ReadNextAsync());
        Assert.True(images > 10, $"only {images} images");
        long tile = 3L * 512 * 512;
        Assert.Equal(4 * tiles * tile, f32Bytes);
        Assert.Equal((4 * globals + tiles - globals) * tile, u8Bytes);
        double ratio = (double)f32Bytes / u8Bytes;
        output.WriteLine($"{images} images, {tiles} tiles ({globals} global): tile bytes per image float32 {f32Bytes / images:N0}, " +
            $"uint8 {u8Bytes / images:N0} ({ratio:F2}x fewer); token arrays {tokenBytes / images:N0} bytes per image");
        Assert.True(ratio >= 3, $"only {ratio:F2}x fewer tile bytes");
    }

    [Fact]
    public void AnUndefinedFormatIsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoaderOptions { TileFormat = (TileFormat)7 }.Validate());
        Assert.Equal("TileFormat", e.ParamName);
    }

    [Fact]
    public void TheUInt8LayoutKeepsTheTokenArraysAndFitsItsWorstPack()
    {
        var f = PackLayout.For(4096, 64, 512, TileFormat.Float32);
        var u = PackLayout.For(4096, 64, 512, TileFormat.UInt8);
        Assert.Equal(f.TilesOffset, u.TilesOffset);
        Assert.Equal(63, u.MaxTiles);
        Assert.Equal(21, u.MaxGlobalTiles); // 21 images of 1 global + 2 grid tiles fill the 63 tiles
        Assert.Equal(0, u.TileBytesOffset % 64);
        Assert.Equal(u.TileBytesOffset + 63 * 3 * 512 * 512, u.SlabBytes);
        Assert.True(u.TileBytesOffset >= u.TilesOffset + 4 * 21 * u.TileFloats);
        Assert.Equal(f.TilesOffset + 4 * 63 * f.TileFloats, f.SlabBytes);
        Assert.Throws<InvalidOperationException>(() => u.Tiles(new byte[u.SlabBytes], 1));
        Assert.Throws<InvalidOperationException>(() => f.TileBytes(new byte[f.SlabBytes], 1));
    }
}

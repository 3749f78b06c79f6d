using System.Runtime.InteropServices;
using System.Text.Json;
using NanoVlm.Engine.Runtime;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests;

/// <summary>The uint8 slab's tiles become the model's float32 input on the device exactly as nanoVLM's ToTensor.</summary>
public sealed class ByteTilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-byte-tiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>All 256 byte values against torch 1.13's <c>ToTensor</c> (<c>img.float().div(255)</c>), recorded by
    /// tools/make_image_fixtures.py, bit for bit.</summary>
    [Fact]
    public void Every_byte_value_divides_to_torchs_ToTensor_bits()
    {
        var torchBytes = File.ReadAllBytes(Fixtures.Path("images", "tofloat.f32"));
        Assert.Equal(256 * 4, torchBytes.Length);
        using var bytes = torch.arange(256, ScalarType.Int32).to(ScalarType.Byte).reshape(1, 1, 16, 16);
        using var floats = ByteTiles.ToFloat(bytes);
        Assert.Equal(ScalarType.Float32, floats.dtype);
        Assert.Equal([1L, 1, 16, 16], floats.shape);
        var got = floats.data<float>().ToArray();
        for (int i = 0; i < 256; i++)
            Assert.Equal(BitConverter.ToUInt32(torchBytes, 4 * i), BitConverter.SingleToUInt32Bits(got[i]));
    }

    [Fact]
    public void A_tensor_that_is_not_uint8_is_rejected()
    {
        using var floats = torch.zeros(3, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => ByteTiles.ToFloat(floats));
        Assert.Contains("Float32", e.Message);
    }

    /// <summary>Real photos (JPEG fixtures, 4×3 grids with a global tile, full-size 512 tiles) through the whole path:
    /// decoder, resize, the slab, <see cref="PackBatch.From"/>. The model's input tiles from the uint8 slab equal the
    /// float32 slab's and the image preprocessor's float output bit for bit.</summary>
    [Fact(Timeout = 120_000)]
    public async Task Photos_give_the_same_model_input_from_uint8_and_float32_slabs()
    {
        string[] photos = ["jpeg_420_q90_640x480.jpg", "jpeg_444_q95_320x240.jpg"];
        foreach (var photo in photos) File.Copy(Fixtures.Path("decode", photo), Path.Combine(_dir, photo));
        var lines = new[]
        {
            new { images = new[] { photos[0] }, texts = new[] { new { user = "What is in the picture?", assistant = "A photo." } } },
            new { images = new[] { photos[1], photos[0] }, texts = new[] { new { user = "Compare them.", assistant = "Two photos." } } },
        };
        File.WriteAllLines(Path.Combine(_dir, "rows.jsonl"), lines.Select(l => JsonSerializer.Serialize(l)));
        var options = new DataLoaderOptions { LmMaxLength = 2048, MaxSampleLength = 2048, BatchSize = 1, SlabPoolSize = 2, Workers = 1 };
        var pre = new ImagePreprocessor(options.Images);
        float[] Reference(string photo)
        {
            var encoded = File.ReadAllBytes(Path.Combine(_dir, photo));
            var reference = new float[pre.Plan(encoded, photo).OutputFloatCount];
            pre.Process(encoded, photo, reference);
            return reference;
        }
        var tiles = new Dictionary<TileFormat, List<byte[]>>();
        var expected = new List<byte[]>();
        foreach (var format in new[] { TileFormat.Float32, TileFormat.UInt8 })
        {
            var list = tiles[format] = [];
            using var source = RowSources.Open(Path.Combine(_dir, "rows.jsonl"));
            await using var loader = new DataLoader(source, options with { TileFormat = format });
            foreach (var batch in loader)
            {
                using (batch)
                using (var pb = PackBatch.From(batch.Packs, CPU))
                {
                    Assert.Equal(batch.Packs.Count, pb.Tiles.Count);
                    foreach (var t in pb.Tiles) list.Add(MemoryMarshal.AsBytes(t.data<float>().ToArray().AsSpan()).ToArray());
                    if (format == TileFormat.UInt8)
                    {
                        foreach (var pack in batch.Packs)
                        {
                            Assert.All(pack.ImageGrids, g => Assert.Equal(13, g.OutputTileCount)); // 4×3 tiles + a global tile
                            var images = pack.Origins.SelectMany(o => lines[(int)o.Position.Row].images).ToArray();
                            expected.Add(MemoryMarshal.AsBytes(images.SelectMany(Reference).ToArray().AsSpan()).ToArray());
                        }
                    }
                }
            }
        }
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected, tiles[TileFormat.UInt8]);
        Assert.Equal(tiles[TileFormat.Float32], tiles[TileFormat.UInt8]);
    }
}

using NanoVlm.Engine.Runtime;
using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Pipeline;
using NanoVlm.Loader.Sources;
using NanoVlm.SampleData;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Tests;

/// <summary><see cref="PackTensors"/> over real loader batches (small tiles and sequences so it runs in a second).</summary>
public sealed class PackTensorsTests : IDisposable
{
    private static readonly DataLoaderOptions Small = new()
    {
        LmMaxLength = 1024,
        MaxSampleLength = 1024,
        Workers = 1,
        Images = ImagePipelineOptions.Default with { SplitSize = 32, MaxSideLength = 64 },
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("nanovlm-pack-tensors-").FullName;

    public PackTensorsTests() => SampleDataWriter.Write(_dir, new SampleDataOptions { Rows = 16 });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory(Timeout = 60_000)]
    [InlineData(TileFormat.Float32)]
    [InlineData(TileFormat.UInt8)]
    public async Task Views_have_the_layouts_shapes_and_values_and_alias_the_slab(TileFormat format)
    {
        using var source = RowSources.Open(_dir);
        await using var loader = new DataLoader(source, Small with { TileFormat = format });
        var packs = 0;
        var globals = 0;
        foreach (var batch in loader)
        {
            using (batch)
            {
                foreach (var pack in batch.Packs)
                {
                    using var t = PackTensors.Of(pack);
                    long l = pack.Layout.SequenceLength, s = pack.Layout.TileSide;
                    Assert.Equal([l], t.InputIds.shape);
                    Assert.Equal([(long)pack.SampleCount + 1], t.CuSeqlens.shape);
                    Assert.Equal(ScalarType.Int32, t.Labels.dtype);

                    Assert.Equal(pack.InputIds.ToArray(), t.InputIds.data<int>().ToArray());
                    Assert.Equal(pack.Labels.ToArray(), t.Labels.data<int>().ToArray());
                    Assert.Equal(pack.AttentionMask.ToArray(), t.AttentionMask.data<int>().ToArray());
                    Assert.Equal(pack.PositionIds.ToArray(), t.PositionIds.data<int>().ToArray());
                    Assert.Equal(pack.CuSeqlens.ToArray(), t.CuSeqlens.data<int>().ToArray());
                    Assert.Equal(pack.Tokens, t.AttentionMask.sum().item<long>() + pack.SampleCount); // one pad (attention 0) per sample

                    // The model's tiles on the device are the float tiles, whatever the slab carries.
                    var expected = new float[pack.TileCount * pack.Layout.TileFloats];
                    pack.CopyTilesTo(expected);
                    using (var onDevice = t.TilesOn(CPU))
                    {
                        Assert.Equal([pack.TileCount, 3, s, s], onDevice.shape);
                        Assert.Equal(ScalarType.Float32, onDevice.dtype);
                        Assert.Equal(expected, onDevice.data<float>().ToArray());
                    }

                    // No copy: the tensor's storage is the slab. Write one side, read the other.
                    var before = pack.InputIds[5];
                    pack.InputIds[5] = 424242;
                    Assert.Equal(424242, t.InputIds[5].item<int>());
                    pack.InputIds[5] = before;
                    if (format == TileFormat.Float32)
                    {
                        Assert.Null(t.TileBytes);
                        Assert.Equal([pack.TileCount, 3, s, s], t.Tiles!.shape);
                        Assert.Equal(ScalarType.Float32, t.Tiles.dtype);
                        t.Tiles.view(-1)[0] = torch.tensor(-3f);
                        Assert.Equal(-3f, pack.Tiles[0]);
                    }
                    else
                    {
                        Assert.Null(t.Tiles);
                        Assert.Equal([pack.TileCount - pack.GlobalTileCount, 3, s, s], t.TileBytes!.shape);
                        Assert.Equal(ScalarType.Byte, t.TileBytes.dtype);
                        Assert.Equal([pack.GlobalTileCount, 3, s, s], t.GlobalTiles!.shape);
                        Assert.Equal(pack.GlobalTiles.ToArray(), t.GlobalTiles.data<float>().ToArray());
                        Assert.Equal(pack.TileBytes.ToArray(), t.TileBytes.data<byte>().ToArray());
                        if (pack.TileBytes.Length > 0)
                        {
                            t.TileBytes.view(-1)[0] = torch.tensor((byte)201);
                            Assert.Equal(201, pack.TileBytes[0]);
                        }
                        globals += pack.GlobalTileCount;
                    }
                    packs++;
                }
            }
        }
        Assert.True(packs > 0);
        if (format == TileFormat.UInt8) Assert.True(globals > 0, "the run puts global tiles in their places");
        Assert.Equal(0, loader.SlabsOutstanding);
    }

    [Fact(Timeout = 60_000)]
    public async Task PackBatch_counts_real_and_labelled_tokens_on_the_host_as_the_device_tensors_hold_them()
    {
        using var source = RowSources.Open(_dir);
        await using var loader = new DataLoader(source, Small with { BatchSize = 2 });
        int batches = 0;
        foreach (var batch in loader)
        {
            using (batch)
            using (var inputs = PackBatch.From(batch.Packs, CPU))
            {
                Assert.Equal(inputs.AttentionMask.sum().item<long>(), inputs.RealTokens);
                Assert.Equal(inputs.Labels.ne(-100).sum().item<long>(), inputs.LabelledTokens);
                Assert.InRange(inputs.LabelledTokens, 1, inputs.RealTokens - 1);
            }
            batches++;
        }
        Assert.True(batches > 0);
    }
}

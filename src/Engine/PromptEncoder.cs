using NanoVlm.Kernels;
using NanoVlm.Loader.Images;
using NanoVlm.Loader.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NanoVlm.Engine;

/// <summary>One question with its images, ready for <see cref="VisionLanguageModel.Generate"/>.</summary>
/// <param name="Ids">Prompt token ids.</param>
/// <param name="Tiles">The images' tiles in order, float32 [n, 3, S, S] in [0, 1] (empty when there are no images).</param>
/// <param name="TileCount">n.</param>
public sealed record EncodedPrompt(int[] Ids, float[] Tiles, int TileCount);

/// <summary>Images through the training image path, before any prompt text.</summary>
/// <param name="Tiles">The images' tiles in order, float32 [n, 3, S, S] in [0, 1].</param>
/// <param name="TileCount">n.</param>
/// <param name="Grids">The tile grid chosen for each image, in order.</param>
public sealed record EncodedImages(float[] Tiles, int TileCount, IReadOnlyList<ImageGrid> Grids);

/// <summary>
/// nanoVLM's inference prompt: the images through the training image path (DynamicResize, 512-tiles, global tile), one
/// user turn of image string + question in ChatML, and the generation prompt — what nanoVLM's <c>generate.py</c> and
/// its evaluation wrapper feed the model; several prompts are left-padded into one batch.
/// </summary>
public sealed class PromptEncoder
{
    private readonly VlmConfig _config;
    private readonly VlmTokenizer _tokenizer;
    private readonly ImagePreprocessor _images;

    /// <summary>Creates the encoder for a model configuration and its tokenizer.</summary>
    /// <param name="config">Tile size, image token length and resize rules come from here.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    public PromptEncoder(VlmConfig config, VlmTokenizer tokenizer)
    {
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _images = new ImagePreprocessor(ImagePipelineOptions.Default with
        {
            SplitSize = config.VitImgSize,
            MaxSideLength = config.MaxImgSize,
            ResizeToMaxSide = config.ResizeToMaxSideLen,
        });
    }

    /// <summary>Encodes one question with its images (encoded image files).</summary>
    /// <param name="question">The user's text.</param>
    /// <param name="images">(bytes, name) of each image; the name appears in errors.</param>
    /// <returns>The prompt.</returns>
    public EncodedPrompt Encode(string question, IReadOnlyList<(byte[] Bytes, string Name)> images)
    {
        ArgumentNullException.ThrowIfNull(question);
        var encoded = EncodeImages(images);
        int[] ids = _tokenizer.ChatTemplate.BuildInferencePrompt(question, encoded.Grids.ToArray(), _config.MpImageTokenLength);
        return new EncodedPrompt(ids, encoded.Tiles, encoded.TileCount);
    }

    /// <summary>The images alone through the training image path: their tiles in order and the grid each image got
    /// (what a caller building its own prompt text, such as the evaluation wrapper, needs for the image strings).</summary>
    /// <param name="images">(bytes, name) of each image; the name appears in errors.</param>
    /// <returns>Tiles and grids.</returns>
    public EncodedImages EncodeImages(IReadOnlyList<(byte[] Bytes, string Name)> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var geometries = images.Select(i => _images.Plan(i.Bytes, i.Name)).ToArray();
        long tileFloats = 3L * _config.VitImgSize * _config.VitImgSize;
        int tiles = geometries.Sum(g => g.Grid.OutputTileCount);
        var buffer = new float[checked(tiles * tileFloats)];
        long offset = 0;
        for (int i = 0; i < images.Count; i++)
        {
            long n = geometries[i].OutputFloatCount;
            _images.Process(images[i].Bytes, images[i].Name, buffer.AsSpan((int)offset, (int)n));
            offset += n;
        }
        var grids = geometries.Select(g => new ImageGrid(g.Grid.Rows, g.Grid.Cols)).ToArray();
        return new EncodedImages(buffer, tiles, grids);
    }

    /// <summary>Left-pads prompts into one batch (pad id = EOS, attention 0 on pads) and stacks their tiles.</summary>
    /// <param name="prompts">The prompts, in order.</param>
    /// <returns>ids [B, T] int64, attention mask [B, T] int64 (null when no row is padded), tiles [N, 3, S, S] or null.</returns>
    public (Tensor Ids, Tensor? AttentionMask, Tensor? Tiles) Batch(IReadOnlyList<EncodedPrompt> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        int t = prompts.Max(p => p.Ids.Length);
        var ids = new long[prompts.Count * t];
        var mask = new long[prompts.Count * t];
        for (int b = 0; b < prompts.Count; b++)
        {
            int pad = t - prompts[b].Ids.Length;
            for (int i = 0; i < t; i++)
            {
                ids[b * t + i] = i < pad ? _tokenizer.PadTokenId : prompts[b].Ids[i - pad];
                mask[b * t + i] = i < pad ? 0 : 1;
            }
        }
        bool padded = prompts.Any(p => p.Ids.Length != t);
        int tiles = prompts.Sum(p => p.TileCount);
        Tensor? tileTensor = null;
        if (tiles > 0)
        {
            var all = new float[prompts.Sum(p => (long)p.Tiles.Length)];
            long o = 0;
            foreach (var p in prompts)
            {
                p.Tiles.CopyTo(all, o);
                o += p.Tiles.Length;
            }
            tileTensor = torch.tensor(all, [tiles, 3, _config.VitImgSize, _config.VitImgSize]);
        }
        return (torch.tensor(ids, [prompts.Count, t]), padded ? torch.tensor(mask, [prompts.Count, t]) : null, tileTensor);
    }
}

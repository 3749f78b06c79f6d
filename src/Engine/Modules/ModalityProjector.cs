using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoVlm.Engine.Modules;

/// <summary>
/// nanoVLM's modality projector (models/modality_projector.py): pixel shuffle by s, then a bias-free linear
/// <c>D_v·s² → D</c>. Output token <c>ho·(w/s) + wo</c> takes patches (ho·s + sh, wo·s + sw), features ordered
/// <c>(sh·s + sw)·D_v + c</c> — exactly nanoVLM's view/reshape/permute sequence.
/// </summary>
public sealed class ModalityProjector : nn.Module<Tensor, Tensor>
{
    private readonly Linear _proj;
    private readonly int _factor;

    /// <summary>Creates the projector with nanoVLM's initialisation (N(0, 0.02)).</summary>
    /// <param name="cfg">The model configuration.</param>
    public ModalityProjector(VlmConfig cfg) : base("ModalityProjector")
    {
        _factor = cfg.MpPixelShuffleFactor;
        _proj = Init.Linear((long)cfg.VitHiddenDim * _factor * _factor, cfg.LmHiddenDim, bias: false);
        register_module("proj", _proj);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Autocast.Linear(_proj, PixelShuffle(x, _factor)).MoveToOuterDisposeScope();
    }

    /// <summary>nanoVLM's pixel shuffle: <c>[B, N, d]</c> → <c>[B, N/s², d·s²]</c>.</summary>
    /// <param name="x">ViT output; N must be a square whose side s divides.</param>
    /// <param name="s">The factor.</param>
    /// <returns>The shuffled tensor.</returns>
    public static Tensor PixelShuffle(Tensor x, int s)
    {
        long bsz = x.shape[0], seq = x.shape[1], d = x.shape[2];
        long side = (long)Math.Round(Math.Sqrt(seq));
        if (side * side != seq || side % s != 0)
            throw new ArgumentException($"Pixel shuffle by {s} needs a square patch grid whose side {s} divides; got {seq} patches.", nameof(x));
        long h = side / s;
        return x.view(bsz, side, side, d)
            .reshape(bsz, h, s, h, s, d)
            .permute(0, 1, 3, 2, 4, 5)
            .contiguous()
            .reshape(bsz, h * h, d * s * s);
    }
}

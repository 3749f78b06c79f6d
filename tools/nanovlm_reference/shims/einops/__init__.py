# Run-time stand-in for `einops`, which Debian does not package. nanoVLM's data/custom_transforms.py (SplitImage)
# calls rearrange once, with one pattern; that pattern is spelled here with reshape/permute/reshape, which gives the
# same tiles in the same row-major order (einops returns a view where it can, as reshape/permute do; torch.cat in
# GlobalAndSplitImages copies). Any other pattern is refused rather than guessed.
_SPLIT = "b c (nh ph) (nw pw) -> (b nh nw) c ph pw"


def rearrange(x, pattern, **sizes):
    if " ".join(pattern.split()) != _SPLIT:
        raise NotImplementedError(f"einops shim: only {_SPLIT!r} is implemented, not {pattern!r}")
    ph, pw = sizes["ph"], sizes["pw"]
    b, c, h, w = x.shape
    if h % ph or w % pw:
        raise ValueError(f"einops shim: {h}x{w} is not divisible into {ph}x{pw} patches")
    nh, nw = h // ph, w // pw
    return x.reshape(b, c, nh, ph, nw, pw).permute(0, 2, 4, 1, 3, 5).reshape(b * nh * nw, c, ph, pw)

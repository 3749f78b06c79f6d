#!/usr/bin/python3
"""Generate the image-path fixtures for tests/NanoVlm.Kernels.Tests (run with /usr/bin/python3).

Reference stack: Pillow 9.4 (Image.resize BICUBIC), torch 1.13 / torchvision 0.14 (ToTensor, resize bilinear
antialias=True). Source images are synthetic and *regenerated* in the C# tests from the same integer formulas
(see `pattern()` here and `TestImages.cs` there), so only small expected outputs and SHA-256 digests are committed.

Layout (tests/fixtures/images/):
  manifest.json     every case: source pattern/size, options, target size, grid, token count, digests, files
  <case>.resized.rgb   expected resized RGB8 bytes (small cases only)
  <case>.tiles.f32     expected [N,3,S,S] float32 LE output, global first (small cases only)
  <case>.global16.f32  every 16th row of the 512x512 global tile (default-size cases with a global tile)
  tofloat.f32 / tobf16.u16  torch's byte->float32 (ToTensor) and float32->bfloat16 for values 0..255
  bf16_probe.f32 / bf16_probe.u16  random/edge float32 values and torch's bfloat16 of them
"""
import hashlib, json, math, os, sys
import numpy as np
from PIL import Image
import torch
import torchvision.transforms.functional as TF

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "images")
M32 = 0xFFFFFFFF


def mix(v):
    m, u = np.uint64(M32), np.uint64
    v = v & m
    v ^= v >> u(15)
    v = (v * u(0x2C1B3C6D)) & m
    v ^= v >> u(12)
    v = (v * u(0x297A2D39)) & m
    v ^= v >> u(15)
    return v


def noise(w, h, seed):
    y, x, c = np.meshgrid(np.arange(h, dtype=np.uint64), np.arange(w, dtype=np.uint64), np.arange(3, dtype=np.uint64), indexing="ij")
    u = np.uint64
    v = (x * u(0x9E3779B1) + y * u(0x85EBCA77) + c * u(0xC2B2AE3D) + u(seed) * u(0x27D4EB2F)) & u(M32)
    return (mix(v) >> u(24)).astype(np.int64)


def pattern(kind, w, h, seed):
    """HWC uint8. Integer-only formulas, mirrored exactly by TestImages.Generate in C#."""
    y, x, c = np.meshgrid(np.arange(h, dtype=np.int64), np.arange(w, dtype=np.int64), np.arange(3, dtype=np.int64), indexing="ij")
    if kind == "noise":
        v = noise(w, h, seed)
    elif kind == "gradient":
        gx = x * 255 // max(w - 1, 1)
        gy = y * 255 // max(h - 1, 1)
        gd = (x + y) * 255 // max(w + h - 2, 1)
        v = np.where(c == 0, gx, np.where(c == 1, gy, gd))
    elif kind == "edges":  # text-like: white page, thin dark strokes and rules
        ink = ((x // 3 + (y // 5) * 7) % 11 == 0) | ((x % 17 < 2) & ((y // 9) % 3 != 0)) | (y % 13 == 0)
        v = np.where(ink, 20 * c + (seed % 7), 255 - (seed % 5))
    elif kind == "photo":  # smooth field plus mild noise, clamped
        base = (x * 191 // max(w - 1, 1) + y * 64 // max(h - 1, 1) + c * 40) % 256
        v = np.clip(base + (noise(w, h, seed) >> 3) - 16, 0, 255)
    else:
        raise ValueError(kind)
    return v.astype(np.uint8)


def dynamic_resize_size(w, h, p, m, to_max):
    # nanoVLM DynamicResize (Python float arithmetic)
    long, short = (w, h) if w >= h else (h, w)
    target_long = m if to_max else min(m, math.ceil(long / p) * p)
    scale = target_long / long
    target_short = max(p, math.ceil(short * scale / p) * p)
    return (target_long, target_short) if w >= h else (target_short, target_long)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def run_case(name, kind, w, h, seed, p, m, to_max, store_full):
    src = pattern(kind, w, h, seed)
    img = Image.fromarray(src, "RGB")
    nw_, nh_ = dynamic_resize_size(w, h, p, m, to_max)
    res = img.resize((nw_, nh_), Image.BICUBIC)
    rb = np.asarray(res, dtype=np.uint8)
    t = TF.to_tensor(res)  # [3,H,W] float32 = byte/255
    gh, gw = nh_ // p, nw_ // p
    tiles = t.reshape(3, gh, p, gw, p).permute(1, 3, 0, 2, 4).reshape(gh * gw, 3, p, p)
    glob = None
    if (gh, gw) != (1, 1):
        glob = TF.resize(t, [p, p], antialias=True)  # bilinear, antialias=True (torchvision >= 0.17 default)
        out = torch.cat([glob.unsqueeze(0), tiles], 0)
    else:
        out = tiles
    out = out.contiguous().numpy().astype("<f4")
    case = dict(name=name, pattern=kind, width=w, height=h, seed=seed, split=p, max_side=m, resize_to_max_side=to_max,
                target_width=nw_, target_height=nh_, grid=[gh, gw], tokens=65 if (gh, gw) == (1, 1) else 65 * (1 + gh * gw),
                source_sha256=sha(src.tobytes()), resized_sha256=sha(rb.tobytes()), tiles_sha256=sha(out.tobytes()),
                global_sha256=None if glob is None else sha(out[0].tobytes()))
    if store_full:
        open(os.path.join(OUT, name + ".resized.rgb"), "wb").write(rb.tobytes())
        open(os.path.join(OUT, name + ".tiles.f32"), "wb").write(out.tobytes())
        case["files"] = [name + ".resized.rgb", name + ".tiles.f32"]
    elif glob is not None:
        g16 = np.ascontiguousarray(out[0][:, ::16, :])
        open(os.path.join(OUT, name + ".global16.f32"), "wb").write(g16.tobytes())
        case["files"] = [name + ".global16.f32"]
    return case


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    # Default nanoVLM options (p=512, m=2048, resize_to_max_side_len=True): digests only (outputs are MBs).
    default = [("d_1x1_noise", "noise", 1, 1), ("d_37x23_gradient", "gradient", 37, 23), ("d_64x48_edges", "edges", 64, 48),
               ("d_513x1025_photo", "photo", 513, 1025), ("d_2049x511_noise", "noise", 2049, 511),
               ("d_1920x1080_photo", "photo", 1920, 1080), ("d_600x800_edges", "edges", 600, 800),
               ("d_2048x2048_gradient", "gradient", 2048, 2048), ("d_300x2600_noise", "noise", 300, 2600)]
    for i, (n, k, w, h) in enumerate(default):
        cases.append(run_case(n, k, w, h, 11 + i, 512, 2048, True, False))
        print(n, file=sys.stderr)
    # Default split but resize_to_max_side_len=False (small images stay small-ish).
    for i, (n, k, w, h) in enumerate([("dn_37x23_noise", "noise", 37, 23), ("dn_700x300_photo", "photo", 700, 300),
                                      ("dn_513x1025_edges", "edges", 513, 1025)]):
        cases.append(run_case(n, k, w, h, 31 + i, 512, 2048, False, False))
    # Small options (CPU-accelerator friendly): full outputs committed.
    small = [(1, 1), (37, 23), (23, 37), (64, 48), (48, 64), (100, 30), (7, 200), (64, 64), (33, 17), (129, 65), (16, 16), (5, 3)]
    kinds = ["noise", "gradient", "edges", "photo"]
    for i, (w, h) in enumerate(small):
        for j, (p, m, tm) in enumerate([(32, 64, True), (16, 64, False), (16, 48, True)]):
            k = kinds[(i + j) % 4]
            n = f"s{p}m{m}{'t' if tm else 'f'}_{w}x{h}_{k}"
            cases.append(run_case(n, k, w, h, 100 + 3 * i + j, p, m, tm, True))
    # Resize-only sweep: arbitrary source/target sizes (up, down, mixed), noise and edges, Pillow BICUBIC.
    rng = np.random.RandomState(1234)
    sweep = []
    for i in range(240):
        w, h = int(rng.randint(1, 90)), int(rng.randint(1, 90))
        tw, th = int(rng.randint(1, 180)), int(rng.randint(1, 180))
        if i % 10 == 0:
            tw = w
        if i % 10 == 1:
            th = h
        k = kinds[i % 4]
        src = pattern(k, w, h, 500 + i)
        out = np.asarray(Image.fromarray(src, "RGB").resize((tw, th), Image.BICUBIC), dtype=np.uint8)
        sweep.append(dict(pattern=k, width=w, height=h, seed=500 + i, target_width=tw, target_height=th, sha256=sha(out.tobytes())))
    for (w, h, tw, th) in [(1, 1, 1, 1), (1, 1, 300, 2), (3000, 2, 7, 1), (2, 3000, 1, 9), (4000, 3, 4001, 3), (255, 256, 2048, 2048)]:
        src = pattern("noise", w, h, 77)
        out = np.asarray(Image.fromarray(src, "RGB").resize((tw, th), Image.BICUBIC), dtype=np.uint8)
        sweep.append(dict(pattern="noise", width=w, height=h, seed=77, target_width=tw, target_height=th, sha256=sha(out.tobytes())))
    # Byte -> float32 (ToTensor) and float32 -> bfloat16 tables from torch.
    b = torch.arange(256, dtype=torch.uint8)
    f = b.to(torch.float32).div(255)
    f.numpy().astype("<f4").tofile(os.path.join(OUT, "tofloat.f32"))
    f.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tofile(os.path.join(OUT, "tobf16.u16"))
    probe = np.concatenate([rng.standard_normal(2000).astype(np.float32), rng.uniform(0, 1, 2000).astype(np.float32),
                            np.array([0.0, -0.0, 1.0, 1.00390625, 1.01171875, 1.0 + 2 ** -8 + 2 ** -20, 3.0e38, -3.0e38,
                                      1e-40, np.inf, -np.inf], dtype=np.float32)]).astype(np.float32)
    probe.astype("<f4").tofile(os.path.join(OUT, "bf16_probe.f32"))
    torch.from_numpy(probe).to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tofile(os.path.join(OUT, "bf16_probe.u16"))
    json.dump(dict(generator="tools/make_image_fixtures.py", pillow=Image.__version__, torch=torch.__version__,
                   cases=cases, sweep=sweep), open(os.path.join(OUT, "manifest.json"), "w"), indent=1)
    print(len(cases), "cases,", len(sweep), "sweep", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Times nanoVLM's per-image path stage by stage with the reference stack (Pillow + torch/torchvision), single-threaded,
on the same synthetic images as bench/NanoVlm.Benchmarks/ImageBenchmarks.cs, for a side-by-side with BenchmarkDotNet.

  /usr/bin/python3 tools/images_reference_bench.py [--repeat 20]

Stages (nanoVLM get_image_processor: DynamicResize -> ToTensor -> GlobalAndSplitImages):
  resize   PIL Image.resize((2048, 1536), BICUBIC) from 1920x1080 (upscale) and 4032x3024 (downscale)
  totensor torchvision ToTensor on the 2048x1536 result
  split    einops-style reshape/permute into [12, 3, 512, 512] (made contiguous, as torch.cat does)
  global   torchvision resize(tensor, [512, 512], antialias=True)
  cat      torch.cat([global, tiles])
  full     the whole path for one 1920x1080 image
"""
import argparse, math, time
import numpy as np
from PIL import Image
import torch
import torchvision.transforms.functional as TF

torch.set_num_threads(1)


def photo(w, h, seed=7):
    y, x, c = np.meshgrid(np.arange(h, dtype=np.uint64), np.arange(w, dtype=np.uint64), np.arange(3, dtype=np.uint64), indexing="ij")
    u, m = np.uint64, np.uint64(0xFFFFFFFF)
    v = (x * u(0x9E3779B1) + y * u(0x85EBCA77) + c * u(0xC2B2AE3D) + u(seed) * u(0x27D4EB2F)) & m
    v ^= v >> u(15); v = (v * u(0x2C1B3C6D)) & m; v ^= v >> u(12); v = (v * u(0x297A2D39)) & m; v ^= v >> u(15)
    xi, yi, ci = x.astype(np.int64), y.astype(np.int64), c.astype(np.int64)
    b = (xi * 191 // (w - 1) + yi * 64 // (h - 1) + ci * 40) % 256 + (v >> u(27)).astype(np.int64) - 16
    return Image.fromarray(np.clip(b, 0, 255).astype(np.uint8), "RGB")


def dynamic_size(w, h, p=512, m=2048):
    long, short = (w, h) if w >= h else (h, w)
    scale = m / long
    ts = max(p, math.ceil(short * scale / p) * p)
    return (m, ts) if w >= h else (ts, m)


def split(t, p=512):
    c, h, w = t.shape
    return t.reshape(c, h // p, p, w // p, p).permute(1, 3, 0, 2, 4).reshape(-1, c, p, p).contiguous()


def full(img):
    r = img.resize(dynamic_size(*img.size), Image.BICUBIC)
    t = TF.to_tensor(r)
    tiles = split(t)
    g = TF.resize(t, [512, 512], antialias=True)
    return torch.cat([g.unsqueeze(0), tiles], 0)


def bench(name, fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    ts.sort()
    print(f"{name:34s} median {1e3 * ts[len(ts) // 2]:8.2f} ms   min {1e3 * ts[0]:8.2f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    hd, phone = photo(1920, 1080), photo(4032, 3024)
    resized = hd.resize((2048, 1536), Image.BICUBIC)
    t = TF.to_tensor(resized)
    tiles = split(t)
    g = TF.resize(t, [512, 512], antialias=True)
    print(f"torch {torch.__version__}, Pillow {Image.__version__}, threads {torch.get_num_threads()}")
    bench("resize 1920x1080->2048x1536", lambda: hd.resize((2048, 1536), Image.BICUBIC), a.repeat)
    bench("resize 4032x3024->2048x1536", lambda: phone.resize((2048, 1536), Image.BICUBIC), a.repeat)
    bench("totensor 2048x1536", lambda: TF.to_tensor(resized), a.repeat)
    bench("split [12,3,512,512]", lambda: split(t), a.repeat)
    bench("global 2048x1536->512 aa", lambda: TF.resize(t, [512, 512], antialias=True), a.repeat)
    bench("cat [13,3,512,512]", lambda: torch.cat([g.unsqueeze(0), tiles], 0), a.repeat)
    bench("full path 1920x1080", lambda: full(hd), a.repeat)


if __name__ == "__main__":
    main()

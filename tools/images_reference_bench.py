#!/usr/bin/python3
"""Times nanoVLM's per-image path stage by stage with the reference stack (Pillow + torch/torchvision), single-threaded,
on the same synthetic images as bench/NanoVlm.Benchmarks/ImageBenchmarks.cs, for a side-by-side with BenchmarkDotNet.

  /usr/bin/python3 tools/images_reference_bench.py [--repeat 20]                      # stage timings (below)
  /usr/bin/python3 tools/images_reference_bench.py generate DIR [--count 40] [--seed 1] [--small]  # photo-like JPEGs
  /usr/bin/python3 tools/images_reference_bench.py files IMG... [--processes N] [--write-ref DIR]
      nanoVLM's whole image path (Pillow decode + convert('RGB') -> DynamicResize -> ToTensor -> split -> global -> cat)
      on encoded files whose bytes are read into memory first (like `nanovlm preprocess --bench`); prints as the last
      line {"images": n, "seconds": s, "images_per_s": r}. --processes N runs N worker processes (DataLoader-style,
      torch 1 thread each). --write-ref DIR also writes <stem>.tiles.npy and <stem>.resized.rgb (not timed).
  /usr/bin/python3 tools/images_reference_bench.py compare REF_DIR OUR_DIR
      our <stem>.tiles.npy / <stem>.resized.png vs the reference: tiles max |diff| must be 0, global <= 1e-6.

Stages (nanoVLM get_image_processor: DynamicResize -> ToTensor -> GlobalAndSplitImages):
  resize   PIL Image.resize((2048, 1536), BICUBIC) from 1920x1080 (upscale) and 4032x3024 (downscale)
  totensor torchvision ToTensor on the 2048x1536 result
  split    einops-style reshape/permute into [12, 3, 512, 512] (made contiguous, as torch.cat does)
  global   torchvision resize(tensor, [512, 512], antialias=True)
  cat      torch.cat([global, tiles])
  full     the whole path for one 1920x1080 image
"""
import argparse, io, json, math, os, sys, time
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


def process_bytes(b):
    """nanoVLM's per-image path from encoded bytes (decode included). Returns (resized PIL image, [N,3,512,512] tensor)."""
    img = Image.open(io.BytesIO(b)).convert("RGB")
    r = img.resize(dynamic_size(*img.size), Image.BICUBIC)
    t = TF.to_tensor(r)
    tiles = split(t)
    if tiles.shape[0] == 1:
        return r, tiles
    g = TF.resize(t, [512, 512], antialias=True)
    return r, torch.cat([g.unsqueeze(0), tiles], 0)


def generate(out, count, seed, small=False):
    """Photo-like JPEGs (quality 90, 4:2:0) of mixed sizes, landscape and portrait: smooth gradients, random shapes,
    blur, then sensor-like noise."""
    from PIL import ImageDraw, ImageFilter
    os.makedirs(out, exist_ok=True)
    sizes = [(640, 480), (800, 600), (1024, 768), (1280, 720), (1600, 1200), (1920, 1080), (2048, 1536), (2560, 1440),
             (3264, 2448), (4032, 3024)]
    if small:  # for the ILGPU CPU accelerator (an emulator), with --split-size 16 --max-img-size 48
        sizes = [(64, 48), (37, 23), (100, 30), (33, 17), (48, 48)]
    rng = np.random.RandomState(seed)
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        if (i // len(sizes)) % 2 == 1:
            w, h = h, w
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        base = np.stack([(x / w) * rng.uniform(80, 200) + rng.uniform(0, 50),
                         (y / h) * rng.uniform(80, 200) + rng.uniform(0, 50),
                         ((x + y) / (w + h)) * rng.uniform(60, 180) + rng.uniform(0, 60)], -1)
        img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(img)
        for _ in range(40):
            x0, y0 = rng.randint(0, w), rng.randint(0, h)
            x1, y1 = x0 + rng.randint(1, max(2, w // 3)), y0 + rng.randint(1, max(2, h // 3))
            col = tuple(int(c) for c in rng.randint(0, 256, 3))
            k = rng.randint(3)
            if k == 0:
                d.ellipse([x0, y0, x1, y1], fill=col)
            elif k == 1:
                d.rectangle([x0, y0, x1, y1], fill=col)
            else:
                d.line([x0, y0, x1, y1], fill=col, width=int(rng.randint(1, 12)))
        img = img.filter(ImageFilter.GaussianBlur(1.5))
        a = np.asarray(img).astype(np.int16) + rng.randint(-9, 10, (h, w, 3)).astype(np.int16)
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")
        img.save(os.path.join(out, f"photo_{i:03d}_{w}x{h}.jpg"), quality=90, subsampling=2)
    print(f"{count} JPEGs in {out}", file=sys.stderr)


_DATA = []


def _work(i):
    _, t = process_bytes(_DATA[i])
    return t.shape[0]


def files(paths, processes, write_ref):
    global _DATA
    _DATA = [open(p, "rb").read() for p in paths]
    if write_ref:
        os.makedirs(write_ref, exist_ok=True)
        for p, b in zip(paths, _DATA):
            r, t = process_bytes(b)
            stem = os.path.splitext(os.path.basename(p))[0]
            np.save(os.path.join(write_ref, stem + ".tiles.npy"), t.numpy().astype("<f4"))
            open(os.path.join(write_ref, stem + ".resized.rgb"), "wb").write(np.asarray(r, dtype=np.uint8).tobytes())
    process_bytes(_DATA[0])  # warm-up (imports, allocator)
    cpu = None
    if processes <= 1:
        c0, t0 = time.process_time(), time.perf_counter()
        for i in range(len(_DATA)):
            _work(i)
        s, cpu = time.perf_counter() - t0, time.process_time() - c0
    else:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(processes) as pool:
            pool.map(_work, range(processes), chunksize=1)  # warm the workers
            t0 = time.perf_counter()
            pool.map(_work, range(len(_DATA)), chunksize=1)
            s = time.perf_counter() - t0
    print(f"torch {torch.__version__}, Pillow {Image.__version__}, torch threads {torch.get_num_threads()}, processes {processes}")
    if cpu is not None:
        print(f"cpu_seconds {cpu!r} (process user+sys during the timed region)")
    print(json.dumps({"images": len(_DATA), "seconds": s, "images_per_s": len(_DATA) / s}))


def compare(ref, ours):
    worst_tiles, worst_global, n = 0.0, 0.0, 0
    for f in sorted(os.listdir(ref)):
        if not f.endswith(".tiles.npy"):
            continue
        stem = f[: -len(".tiles.npy")]
        a, b = np.load(os.path.join(ref, f)), np.load(os.path.join(ours, f))
        assert a.shape == b.shape and b.dtype == np.float32, (stem, a.shape, b.shape, b.dtype)
        r = np.frombuffer(open(os.path.join(ref, stem + ".resized.rgb"), "rb").read(), np.uint8)
        o = np.asarray(Image.open(os.path.join(ours, stem + ".resized.png")).convert("RGB"), np.uint8).reshape(-1)
        resized_equal = np.array_equal(r, o)
        g = float(np.abs(a[0] - b[0]).max()) if a.shape[0] > 1 else 0.0
        t = float(np.abs(a[1:] - b[1:]).max()) if a.shape[0] > 1 else float(np.abs(a - b).max())
        worst_tiles, worst_global, n = max(worst_tiles, t), max(worst_global, g), n + 1
        print(f"{stem}: shape {tuple(b.shape)}, resized bytes equal {resized_equal}, tiles max|diff| {t:g}, global max|diff| {g:g}")
        assert resized_equal and t == 0.0 and g <= 1e-6, stem
    print(json.dumps({"compared": n, "tiles_max_abs_diff": worst_tiles, "global_max_abs_diff": worst_global}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("generate", "files", "compare"):
        ap = argparse.ArgumentParser()
        sub = ap.add_subparsers(dest="cmd")
        g = sub.add_parser("generate")
        g.add_argument("dir")
        g.add_argument("--count", type=int, default=40)
        g.add_argument("--seed", type=int, default=1)
        g.add_argument("--small", action="store_true")
        f = sub.add_parser("files")
        f.add_argument("paths", nargs="+")
        f.add_argument("--processes", type=int, default=1)
        f.add_argument("--write-ref")
        c = sub.add_parser("compare")
        c.add_argument("ref")
        c.add_argument("ours")
        a = ap.parse_args()
        if a.cmd == "generate":
            generate(a.dir, a.count, a.seed, a.small)
        elif a.cmd == "files":
            files(a.paths, a.processes, a.write_ref)
        else:
            compare(a.ref, a.ours)
        return
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

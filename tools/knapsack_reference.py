#!/usr/bin/env python3
"""nanoVLM's knapsack (data/datasets.py, ConstantLengthDataset._balanced_greedy_knapsack), verbatim but for
taking lengths/image counts directly, plus the fixture generator for NanoVlm.Packing's parity tests.

Usage:
  python3 tools/knapsack_reference.py fixtures [OUT_DIR]     # writes tests/fixtures/packing/*.json
  python3 tools/knapsack_reference.py plan ITEMS.json L CAP DELTA SEED|none OUT.json   # times one plan
  python3 tools/knapsack_reference.py stream ITEMS.json L CAP DELTA WINDOW SEED|none OUT.json  # nanoVLM streaming
Plain python3, no dependencies.
"""
import json
import random
import sys
import time


def balanced_greedy_knapsack(lengths, image_counts, L, delta=0, max_images_per_knapsack=None, shuffle=True):
    # keep the position while sorting
    items = sorted(enumerate(zip(lengths, image_counts)), key=lambda x: x[1][0], reverse=True)

    min_knapsacks = (sum(lengths) + L - 1) // L + delta
    knapsack_load = [0] * min_knapsacks
    knapsack_image_counts = [0] * min_knapsacks
    knapsack_groups = [[] for _ in range(min_knapsacks)]

    for idx, (item_len, item_image_count) in items:
        suitable_knapsack = None
        # First try to find a knapsack that can fit both constraints
        for ks_id in sorted(range(len(knapsack_load)), key=knapsack_load.__getitem__):
            length_fits = knapsack_load[ks_id] + item_len <= L
            image_fits = (max_images_per_knapsack is None
                          or knapsack_image_counts[ks_id] + item_image_count <= max_images_per_knapsack)
            if length_fits and image_fits:
                suitable_knapsack = ks_id
                break

        # If no existing knapsack can fit, create a new one
        if suitable_knapsack is None:
            suitable_knapsack = len(knapsack_load)
            knapsack_load.append(0)
            knapsack_image_counts.append(0)
            knapsack_groups.append([])

        knapsack_groups[suitable_knapsack].append(idx)
        knapsack_load[suitable_knapsack] += item_len
        knapsack_image_counts[suitable_knapsack] += item_image_count

    # remove the completely empty bags that the +delta heuristic created
    if shuffle:
        random.shuffle(knapsack_groups)  # Knapsacks are semi-ordered after packing
    return [g for g in knapsack_groups if g]


def plan(lengths, images, L, cap, delta, seed):
    """One offline plan; seed None = no shuffle (groups in bin creation order)."""
    if seed is not None:
        random.seed(seed)
    return balanced_greedy_knapsack(lengths, images, L, delta, cap, shuffle=seed is not None)


def stream(lengths, images, L, cap, delta, window, seed):
    """ConstantLengthDataset's loop: buffer until >= window tokens, knapsack, emit every pack; flush at the end.
    Returns groups as global item indices."""
    if seed is not None:
        random.seed(seed)
    groups, buf, tokens = [], [], 0

    def run():
        bl = [lengths[i] for i in buf]
        bi = [images[i] for i in buf]
        for g in balanced_greedy_knapsack(bl, bi, L, delta, cap, shuffle=seed is not None):
            groups.append([buf[j] for j in g])

    for i in range(len(lengths)):
        buf.append(i)
        tokens += lengths[i]
        if tokens >= window:
            run()
            buf, tokens = [], 0
    if buf:
        run()
    return groups


# ---- fixture generation -------------------------------------------------------------------------------------

def finevision_like(rng, n, L):
    """Mostly one image of 5-17 tiles x 65 tokens, up to 4 images, lognormal text, +1 pad; length < L."""
    lengths, images = [], []
    while len(lengths) < n:
        u = rng.random()
        im = 0 if u < 0.03 else 1 if u < 0.83 else 2 if u < 0.93 else 3 if u < 0.97 else 4
        text = int(rng.lognormvariate(5.0, 1.0)) + 8
        ln = text + sum(65 * rng.randint(5, 17) for _ in range(im)) + 1
        if ln < L:
            lengths.append(ln)
            images.append(im)
    return lengths, images


def cases():
    rng = random.Random(1234)
    out = []

    def add(name, lengths, images, L, cap, delta, seeds=(None, 0, 7)):
        for seed in seeds:
            out.append(dict(name=f"{name}-seed{'none' if seed is None else seed}", seq_len=L, max_images=cap,
                            delta=delta, seed=seed, lengths=lengths, images=images))

    add("empty", [], [], 4096, 18, 5)
    add("single", [4096], [18], 4096, 18, 5)
    add("tiny-ties", [3, 3, 3, 2, 2, 2, 1, 1, 5], [1, 0, 1, 0, 1, 2, 0, 1, 1], 6, 2, 1)
    for n in (10, 100, 1000, 3000):
        ln, im = finevision_like(rng, n, 4096)
        add(f"finevision-{n}", ln, im, 4096, 18, 5)
    # Many ties: lengths from a handful of values.
    add("ties-500", [rng.choice([64, 128, 256, 512]) for _ in range(500)],
        [rng.randint(0, 2) for _ in range(500)], 1024, 6, 5)
    # Image cap binds long before length does.
    add("imagecap-800", [rng.randint(10, 80) for _ in range(800)], [rng.randint(1, 4) for _ in range(800)],
        4096, 5, 5)
    add("imagecap-zero", [rng.randint(10, 300) for _ in range(300)],
        [0 if rng.random() < 0.5 else rng.randint(1, 3) for _ in range(300)], 1000, 3, 2)
    # Items near L: most bins hold one item, the +delta bins and new bins matter.
    add("nearL-400", [rng.randint(3500, 4096) for _ in range(300)] + [rng.randint(1, 600) for _ in range(100)],
        [rng.randint(0, 4) for _ in range(400)], 4096, 18, 5)
    add("delta0-600", [rng.randint(1, 2000) for _ in range(600)], [rng.randint(0, 4) for _ in range(600)],
        4096, 8, 0)
    add("uniform-2000", [rng.randint(1, 4096) for _ in range(2000)], [rng.randint(0, 4) for _ in range(2000)],
        4096, 18, 5, seeds=(None, 42))
    for c in out:
        c["groups"] = plan(c["lengths"], c["images"], c["seq_len"], c["max_images"], c["delta"], c["seed"])
    return out


def main(argv):
    if len(argv) >= 1 and argv[0] == "fixtures":
        out_dir = argv[1] if len(argv) > 1 else "tests/fixtures/packing"
        cs = cases()
        with open(f"{out_dir}/knapsack_parity.json", "w") as f:
            json.dump({"generator": "tools/knapsack_reference.py", "cases": cs}, f, separators=(",", ":"))
        # Streaming (ConstantLengthDataset) parity over several windows.
        rng = random.Random(99)
        ln, im = finevision_like(rng, 600, 4096)
        st = []
        for window, seed in ((32768, None), (32768, 3), (8192, None)):
            st.append(dict(seq_len=4096, max_images=18, delta=5, window=window, seed=seed, lengths=ln, images=im,
                           groups=stream(ln, im, 4096, 18, 5, window, seed)))
        with open(f"{out_dir}/stream_parity.json", "w") as f:
            json.dump({"generator": "tools/knapsack_reference.py", "cases": st}, f, separators=(",", ":"))
        print(f"wrote {len(cs)} plan cases and {len(st)} streaming cases to {out_dir}")
    elif len(argv) == 7 and argv[0] == "plan":
        items = json.load(open(argv[1]))
        L, cap, delta = int(argv[2]), int(argv[3]), int(argv[4])
        seed = None if argv[5] == "none" else int(argv[5])
        t0 = time.perf_counter()
        groups = plan(items["lengths"], items["images"], L, cap, delta, seed)
        dt = time.perf_counter() - t0
        write_groups(argv[6], items, groups, L, dt)
    elif len(argv) == 8 and argv[0] == "stream":
        items = json.load(open(argv[1]))
        L, cap, delta, window = int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5])
        seed = None if argv[6] == "none" else int(argv[6])
        t0 = time.perf_counter()
        groups = stream(items["lengths"], items["images"], L, cap, delta, window, seed)
        dt = time.perf_counter() - t0
        write_groups(argv[7], items, groups, L, dt)
    else:
        print(__doc__)
        return 2
    return 0


def write_groups(path, items, groups, L, seconds):
    total = sum(items["lengths"])
    stats = dict(items=len(items["lengths"]), packs=len(groups), fill=total / (len(groups) * L) if groups else 0.0,
                 lower_bound=(total + L - 1) // L, plan_seconds=seconds)
    with open(path, "w") as f:
        json.dump({"groups": groups, "stats": stats}, f, separators=(",", ":"))
    print(json.dumps(stats))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

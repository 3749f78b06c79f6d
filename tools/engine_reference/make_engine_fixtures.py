#!/usr/bin/python3
"""Parity fixtures for the C# nanoVLM model, computed by huggingface/nanoVLM's OWN models/*.py (commit 4e0c096)
on Debian 12's python3-torch 1.13 (CPU, fp32) through nanovlm_shim.py. See README.md in this folder.

  /usr/bin/python3 tools/engine_reference/make_engine_fixtures.py --nanovlm DIR [--out tests/fixtures/engine]

DIR holds nanoVLM's models/ folder at 4e0c096 (default: env NANOVLM_DIR). Writes per case
<out>/<case>/ckpt/{config.json,model.safetensors} (nanoVLM's save_pretrained), io.safetensors, manifest.json.
"""
import argparse
import hashlib
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NANOVLM_COMMIT = "4e0c0961846135c2217f95e54cb4c2d66eb55e42"
FILTERS = [(3, 1.0), (0, 0.5), (50, 0.9), (5, 0.8), (1, 1.0)]
MAX_NEW = 16
MIN_MARGIN = 1e-3       # smallest top-1/top-2 logit gap over the greedy steps: exact ids must be a stable fp32 test
MIN_DISTINCT = 3        # random tiny models tend to repeat one token; a constant row would not test the KV cache
MAX_ATTEMPTS = 48


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nanovlm", default=os.environ.get("NANOVLM_DIR"),
                    help="folder holding nanoVLM's models/ at commit 4e0c096 (default: $NANOVLM_DIR)")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "engine"))
    ap.add_argument("--cases", default=None, help="comma-separated subset of the cases")
    ap.add_argument("--search-seeds", action="store_true",
                    help="search seed attempts again instead of using each case's seed_attempt (minutes)")
    args = ap.parse_args()
    if not args.nanovlm or not os.path.isdir(os.path.join(args.nanovlm, "models")):
        ap.error(f"--nanovlm (or NANOVLM_DIR) must name a folder with nanoVLM's models/, got {args.nanovlm!r}")
    return args


args = parse_args()
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.abspath(args.nanovlm))

import torch  # noqa: E402

import engine_cases as C  # noqa: E402
import nanovlm_shim as shim  # noqa: E402
import st_torch  # noqa: E402
from redraw import redraw_weights  # noqa: E402

torch.set_num_threads(1)
SHIMS = shim.install(image_token_id=0, eos_token_id=0)
from models.config import VLMConfig  # noqa: E402
from models.utils import top_k_top_p_filtering  # noqa: E402
from models.vision_language_model import VisionLanguageModel  # noqa: E402


def build_batch(case, cfg, seed):
    """Samples like data/datasets.py + the collator: ChatML ids with image strings, assistant-only labels
    (masked_fill -100, roll(-1), last -100), left padding with the eos id (mask 0, label -100)."""
    spec = C.CASES[case]
    eos, tpt, base = spec["eos"], cfg.mp_image_token_length, cfg.lm_base_vocab_size
    g = torch.Generator().manual_seed(seed)
    text = lambda n: torch.randint(C.TEXT_LO, base, (n,), generator=g).tolist()  # noqa: E731
    rows, images, info, tile_start = [], [], [], 0
    for s in spec["samples"]:
        user = [C.IM_START, C.USER, C.NEWLINE] + C.image_string_ids(case, s["images"], tpt) + text(s["question"]) + [eos, C.NEWLINE]
        answer = text(s["answer"]) + [eos, C.NEWLINE]
        ids = user + [C.IM_START, C.ASSISTANT, C.NEWLINE] + answer
        mask = [False] * (len(ids) - len(answer)) + [True] * len(answer)   # content + <|im_end|> + "\n"
        labels = torch.tensor(ids).masked_fill(~torch.tensor(mask), -100).roll(-1)
        labels[-1] = -100
        sample_imgs, img_info = [], []
        for grid in s["images"]:
            n = C.tiles_for(grid)
            sample_imgs.append(torch.rand(n, 3, cfg.vit_img_size, cfg.vit_img_size, generator=g))
            img_info.append({"grid": list(grid), "tiles": n, "tile_range": [tile_start, tile_start + n],
                             "image_tokens": n * tpt})
            tile_start += n
        images.append(sample_imgs)
        rows.append((ids, labels.tolist()))
        info.append({"images": img_info, "length": len(ids), "answer_tokens": len(answer), "left_pad": 0})
    T = max(len(r[0]) for r in rows)
    assert all(len(r[0]) == T for r, s in zip(rows, spec["samples"]) if not s["pad"]), "unpadded rows set T"
    input_ids, attn, labels = [], [], []
    for (ids, lab), inf in zip(rows, info):
        pad = T - len(ids)
        inf["left_pad"] = pad
        input_ids.append([eos] * pad + ids)
        attn.append([0] * pad + [1] * len(ids))
        labels.append([-100] * pad + lab)
    return (torch.tensor(input_ids), torch.tensor(attn), torch.tensor(labels), images, info)


@torch.no_grad()
def naive_greedy(model, ids, images, mask, n, eos, margins, raw):
    """Greedy decoding by full recomputation each step (no KV cache), nanoVLM's EOS post-processing applied."""
    emb = model.decoder.token_embedding(ids)
    imgs = model._process_images(images, ids.device)
    if imgs is not None:
        emb = model._replace_img_tokens_with_embd(ids, emb, model.MP(model.vision_encoder(imgs)))
    out = []
    for _ in range(n):
        h, _ = model.decoder(emb, attention_mask=mask)
        logits = model.decoder.head(h[:, -1, :])
        top2 = logits.topk(2, dim=-1).values
        margins.append(float((top2[:, 0] - top2[:, 1]).min()))
        nxt = logits.argmax(-1, keepdim=True)
        out.append(nxt)
        emb = torch.cat([emb, model.decoder.token_embedding(nxt)], 1)
        if mask is not None:
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)
    gen = torch.cat(out, 1)
    raw.append(gen.clone())
    for b in range(gen.size(0)):
        hits = (gen[b] == eos).nonzero()
        if len(hits):
            gen[b, hits[0, 0] + 1:] = eos
    return gen


def top_p_boundary_gap(logits, top_k, top_p):
    """Smallest |cumulative softmax - top_p| over the sorted, top-k-filtered logits: how far the float32
    cumsum is from flipping a keep/remove decision (inf when top_p filtering is off)."""
    if top_p >= 1.0:
        return math.inf
    lg = logits
    if top_k > 0:
        lg = lg.masked_fill(lg < torch.topk(lg, min(top_k, lg.size(-1)))[0][..., -1, None], -math.inf)
    cum = torch.softmax(torch.sort(lg, descending=True)[0], -1).cumsum(-1)
    return float((cum - top_p).abs().min())


def run_case(case, weight_seed, input_seed):
    cfg = C.make_config(VLMConfig, case)
    patches, _ = C.check_shapes(cfg)
    eos, img_id = C.CASES[case]["eos"], C.image_token_id(case)
    shim.set_token_ids(img_id, eos)
    torch.manual_seed(0)
    model = VisionLanguageModel(cfg, load_backbone=False).eval()
    redraw_weights(model, weight_seed)
    ids, attn, labels, images, info = build_batch(case, cfg, input_seed)
    io = {"in.input_ids": ids, "in.attention_mask": attn, "in.labels": labels,
          "in.images": torch.cat([t for s in images for t in s], 0)}
    with torch.no_grad():
        tiles = model._process_images(images, ids.device)
        vit = model.vision_encoder(tiles)
        mp = model.MP(vit)
        merged = model._replace_img_tokens_with_embd(ids, model.decoder.token_embedding(ids), mp)
        hidden, _ = model(ids, images, attention_mask=attn)
        logits, loss = model(ids, images, attention_mask=attn, targets=labels)
        logits0, _ = model(ids[:1], [images[0]], attention_mask=None, targets=labels[:1])
    greedy = model.generate(ids, images, attention_mask=attn, max_new_tokens=MAX_NEW, greedy=True)
    greedy0 = model.generate(ids[:1], [images[0]], attention_mask=None, max_new_tokens=MAX_NEW, greedy=True)
    io.update({"out.vit": vit, "out.mp": mp, "out.merged_embd": merged, "out.hidden": hidden, "out.logits": logits,
               "out.loss": loss.reshape(1), "out.logits_nomask": logits0, "out.greedy": greedy,
               "out.greedy_sample0_nomask": greedy0})
    g = torch.Generator().manual_seed(input_seed + 1)
    filt_in = 2.0 * torch.randn(ids.size(0), cfg.lm_vocab_size, generator=g)
    io["in.filter_logits"] = filt_in
    for k, p in FILTERS:
        io[f"out.filter_k{k}_p{p}"] = top_k_top_p_filtering(filt_in.clone(), top_k=k, top_p=p)

    margins, raw = [], []
    naive = naive_greedy(model, ids, images, attn, MAX_NEW, eos, margins, raw)
    naive0 = naive_greedy(model, ids[:1], [images[0]], None, MAX_NEW, eos, margins, raw)
    for m in model.modules():           # nanoVLM's own hand-written attention (taken when SDPA is absent)
        if hasattr(m, "sdpa"):
            m.sdpa = False
    with torch.no_grad():
        logits_fb, _ = model(ids, images, attention_mask=attn, targets=labels)
    for m in model.modules():
        if hasattr(m, "sdpa"):
            m.sdpa = True
    checks = {
        "kv_cache_greedy_equals_full_recompute": bool(torch.equal(greedy, naive) and torch.equal(greedy0, naive0)),
        "greedy_min_top1_top2_logit_gap": min(margins),
        "greedy_min_distinct_ids_per_row": min(len(set(r)) for r in greedy.tolist() + greedy0.tolist()),
        "greedy_rows_with_eos_before_last_step": sum(eos in r[:-1] for r in greedy.tolist() + greedy0.tolist()),
        "greedy_ids_replaced_by_eos_postprocessing": int((raw[0] != naive).sum() + (raw[1] != naive0).sum()),
        "filter_min_top_p_boundary_gap": min(top_p_boundary_gap(filt_in, k, p) for k, p in FILTERS),
        "logits_nomask_vs_batched_sample0_max_abs_diff": float((logits0[0] - logits[0]).abs().max()),
        "sdpa_shim_vs_nanovlm_manual_attention_max_abs_logit_diff": float((logits - logits_fb).abs().max()),
        "images_tokens_match_tiles": int((ids == img_id).sum()) == tiles.size(0) * cfg.mp_image_token_length,
    }
    meta = {"cfg": cfg, "patches": patches, "info": info, "labels": labels, "attn": attn, "ids": ids}
    return model, io, checks, meta


def verify_reload(model, ckpt, io, images):
    reloaded = VisionLanguageModel.from_pretrained(ckpt).eval()
    ids, attn, labels = io["in.input_ids"], io["in.attention_mask"], io["in.labels"]
    with torch.no_grad():
        logits, loss = reloaded(ids, images, attention_mask=attn, targets=labels)
    greedy = reloaded.generate(ids, images, attention_mask=attn, max_new_tokens=MAX_NEW, greedy=True)
    return {"reload_logits_bitwise_equal": bool(torch.equal(logits, io["out.logits"])),
            "reload_loss_equal": float(loss) == float(io["out.loss"]),
            "reload_greedy_equal": bool(torch.equal(greedy, io["out.greedy"]))}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def acceptable(checks):
    return (checks["greedy_min_top1_top2_logit_gap"] >= MIN_MARGIN and checks["filter_min_top_p_boundary_gap"] >= 1e-4
            and checks["greedy_min_distinct_ids_per_row"] >= MIN_DISTINCT)


def seeds(attempt):
    return 42 + 1000 * attempt, 1234 + 1000 * attempt


def search_seed_attempt(case):
    """First attempt meeting acceptable() whose greedy output also emits EOS before the last step (so nanoVLM's
    after-EOS replacement is exercised); else the first acceptable one."""
    first = None
    for attempt in range(MAX_ATTEMPTS):
        _, _, checks, _ = run_case(case, *seeds(attempt))
        ok = acceptable(checks)
        print(f"{case}: attempt {attempt}: acceptable {ok}, rows with early EOS "
              f"{checks['greedy_rows_with_eos_before_last_step']}", file=sys.stderr)
        if ok and checks["greedy_rows_with_eos_before_last_step"] > 0:
            return attempt
        if ok and first is None:
            first = attempt
    if first is None:
        raise SystemExit(f"{case}: no seed gave a stable greedy/filter fixture")
    return first


def write_case(case, out_root):
    attempt = search_seed_attempt(case) if args.search_seeds else C.CASES[case]["seed_attempt"]
    weight_seed, input_seed = seeds(attempt)
    model, io, checks, meta = run_case(case, weight_seed, input_seed)
    if not acceptable(checks):
        raise SystemExit(f"{case}: seed attempt {attempt} no longer gives a stable fixture ({checks}); "
                         "run with --search-seeds and update seed_attempt in engine_cases.py")
    d = os.path.join(out_root, case)
    ckpt = os.path.join(d, "ckpt")
    model.save_pretrained(ckpt)
    images = [list(s) for s in _split_images(io["in.images"], meta["info"])]
    checks.update(verify_reload(model, ckpt, io, images))
    io = {k: v.detach().contiguous() for k, v in io.items()}
    st_torch.save_file(io, os.path.join(d, "io.safetensors"))
    again = st_torch.load_file(os.path.join(d, "io.safetensors"))
    checks["io_file_round_trip_equal"] = all(torch.equal(again[k], v) for k, v in io.items())
    failed = [k for k, v in checks.items() if v is False] + \
             [k for k in ("sdpa_shim_vs_nanovlm_manual_attention_max_abs_logit_diff",) if checks[k] > 1e-4]
    if failed:
        raise SystemExit(f"{case}: SELF-CHECK FAILED: {failed}\n{json.dumps(checks, indent=2)}")
    manifest = _manifest(case, meta, io, checks, weight_seed, input_seed, d)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def _split_images(all_tiles, info):
    for s in info:
        yield [all_tiles[im["tile_range"][0]:im["tile_range"][1]] for im in s["images"]]


def _manifest(case, meta, io, checks, weight_seed, input_seed, d):
    cfg, info, ids, attn = meta["cfg"], meta["info"], meta["ids"], meta["attn"]
    img_id, eos = C.image_token_id(case), C.CASES[case]["eos"]
    samples = []
    for b, s in enumerate(info):
        grids = [im["grid"] for im in s["images"]]
        what = []
        if any(g == [1, 1] for g in grids):
            what.append("an image with a 1x1 grid (one tile, no global tile)")
        if any(g != [1, 1] for g in grids):
            what += [f"an image with a {g[0]}x{g[1]} grid (global tile + {g[0] * g[1]} tiles)" for g in grids if g != [1, 1]]
        if len(grids) > 1:
            what.append(f"{len(grids)} images in one sample (with <image: k> markers)")
        if not grids:
            what.append("no image (text only) in a batch with images")
        what.append(f"left padding: {s['left_pad']} pad tokens (id {eos}, mask 0, label -100)" if s["left_pad"]
                    else "no padding (longest row)")
        samples.append(dict(s, exercises=what, image_token_count=int((ids[b] == img_id).sum()),
                            label_count=int((meta["labels"][b] != -100).sum()),
                            pad_positions=[int(t) for t in (attn[b] == 0).nonzero().flatten()]))
    files = {}
    for rel in ("ckpt/config.json", "ckpt/model.safetensors", "io.safetensors"):
        files[rel] = {"bytes": os.path.getsize(os.path.join(d, rel)), "sha256": sha256(os.path.join(d, rel))}
    meta_ck, tensors_ck = st_torch.read_file(os.path.join(d, "ckpt", "model.safetensors"))
    return {
        "case": case, "nanovlm_commit": NANOVLM_COMMIT, "torch": torch.__version__, "dtype": "float32, CPU, 1 thread",
        "image_token_id": img_id, "eos_token_id": eos, "pad_token_id": eos,
        "special_ids": {"im_start": C.IM_START, "im_end": eos, "user": C.USER, "assistant": C.ASSISTANT,
                        "newline": C.NEWLINE, "image_index_marker": f"[{C.IMAGE_INDEX_OPEN}, 4+k, {C.IMAGE_INDEX_CLOSE}]",
                        **{k: v for k, v in C.marker_ids(case).items()}},
        "patches_per_tile": meta["patches"], "tokens_per_tile": cfg.mp_image_token_length,
        "batch": {"B": ids.size(0), "T": ids.size(1), "n_tiles": io["in.images"].size(0)}, "samples": samples,
        "weights": f"nanoVLM init (torch.manual_seed(0)) then fan-in scaled re-draw, seed {weight_seed}",
        "seed_attempt": (weight_seed - 42) // 1000,
        "inputs_seed": input_seed, "filter_logits_seed": input_seed + 1,
        "generate": {"max_new_tokens": MAX_NEW, "greedy": True, "out.greedy": io["out.greedy"].tolist(),
                     "out.greedy_sample0_nomask": io["out.greedy_sample0_nomask"].tolist()},
        "loss": float(io["out.loss"]), "filters": [f"out.filter_k{k}_p{p}" for k, p in FILTERS],
        "self_checks": checks, "shims": SHIMS,
        "io_keys": {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape)} for k, v in io.items()},
        "ckpt_metadata": meta_ck, "ckpt_tensors": len(tensors_ck), "files": files,
    }


def main():
    cases = args.cases.split(",") if args.cases else list(C.CASES)
    total = 0
    for case in cases:
        m = write_case(case, args.out)
        size = sum(f["bytes"] for f in m["files"].values())
        total += size
        print(f"{case}: B={m['batch']['B']} T={m['batch']['T']} tiles={m['batch']['n_tiles']} loss={m['loss']:.6f} "
              f"gap={m['self_checks']['greedy_min_top1_top2_logit_gap']:.4f} {size / 1e6:.2f} MB  OK")
    print(f"ENGINE FIXTURES OK ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

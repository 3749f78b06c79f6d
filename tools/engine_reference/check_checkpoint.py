#!/usr/bin/python3
"""Loads a checkpoint folder (config.json + model.safetensors, e.g. one the C# engine wrote) with nanoVLM's own
VisionLanguageModel.from_pretrained (strict load through nanovlm_shim.py, like the real safetensors library),
runs it on the `in.*` tensors of a fixture io.safetensors and compares with its `out.*` tensors.

  /usr/bin/python3 tools/engine_reference/check_checkpoint.py --nanovlm DIR --ckpt CKPT_DIR \
      --io tests/fixtures/engine/a_gqa2_s2/io.safetensors [--atol 1e-4]

The image/eos token ids come from the manifest.json next to the io file (or --image-token-id/--eos-token-id).
Prints max |delta| per output and OK/FAIL; exit code 0 when everything matches, 1 on any FAIL (a checkpoint
nanoVLM refuses to load is a FAIL), 2 on bad arguments.
"""
import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FILTERS = [(3, 1.0), (0, 0.5), (50, 0.9), (5, 0.8), (1, 1.0)]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nanovlm", default=os.environ.get("NANOVLM_DIR"), help="folder with nanoVLM's models/ (4e0c096)")
    ap.add_argument("--ckpt", required=True, help="checkpoint folder: config.json + model.safetensors")
    ap.add_argument("--io", required=True, help="a fixture io.safetensors (in.* inputs, out.* expected outputs)")
    ap.add_argument("--manifest", help="default: manifest.json next to --io")
    ap.add_argument("--image-token-id", type=int)
    ap.add_argument("--eos-token-id", type=int)
    ap.add_argument("--atol", type=float, default=1e-4, help="max |delta| allowed on float outputs (default 1e-4)")
    args = ap.parse_args()
    if not args.nanovlm or not os.path.isdir(os.path.join(args.nanovlm, "models")):
        ap.error(f"--nanovlm (or NANOVLM_DIR) must name a folder with nanoVLM's models/, got {args.nanovlm!r}")
    if not os.path.isfile(args.io):
        ap.error(f"--io {args.io}: no such file")
    if args.image_token_id is None or args.eos_token_id is None:
        path = args.manifest or os.path.join(os.path.dirname(os.path.abspath(args.io)), "manifest.json")
        if not os.path.isfile(path):
            ap.error(f"no manifest at {path}: pass --manifest or --image-token-id and --eos-token-id")
        with open(path) as f:
            manifest = json.load(f)
        args.image_token_id = manifest["image_token_id"] if args.image_token_id is None else args.image_token_id
        args.eos_token_id = manifest["eos_token_id"] if args.eos_token_id is None else args.eos_token_id
    return args


args = parse_args()
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.abspath(args.nanovlm))
import torch  # noqa: E402

import nanovlm_shim as shim  # noqa: E402
import st_format  # noqa: E402
import st_torch  # noqa: E402

torch.set_num_threads(1)
shim.install(args.image_token_id, args.eos_token_id)
from models.utils import top_k_top_p_filtering  # noqa: E402
from models.vision_language_model import VisionLanguageModel  # noqa: E402


def max_abs(a, b):
    if a.shape != b.shape:
        return math.inf
    finite = torch.isfinite(b)
    if not torch.equal(finite, torch.isfinite(a)) or not torch.equal(a[~finite], b[~finite]):
        return math.inf                       # -inf of the filters must sit at the same places
    return float((a[finite] - b[finite]).abs().max()) if finite.any() else 0.0


def main():
    try:
        model = VisionLanguageModel.from_pretrained(args.ckpt).eval()
    except (RuntimeError, TypeError, ValueError, KeyError, OSError, st_format.SafetensorError) as e:
        print(f"FAIL: nanoVLM's from_pretrained refused {args.ckpt}: {type(e).__name__}: {e}")
        return 1
    io = st_torch.load_file(args.io)
    ids, attn, labels, tiles = io["in.input_ids"], io["in.attention_mask"], io["in.labels"], io["in.images"]
    tpt = model.cfg.mp_image_token_length
    n0 = int((ids[0] == args.image_token_id).sum()) // tpt        # sample 0's tiles come first
    with torch.no_grad():
        vit = model.vision_encoder(tiles)
        mp = model.MP(vit)
        merged = model._replace_img_tokens_with_embd(ids, model.decoder.token_embedding(ids), mp)
        hidden, _ = model(ids, tiles, attention_mask=attn)
        logits, loss = model(ids, tiles, attention_mask=attn, targets=labels)
        logits0, _ = model(ids[:1], tiles[:n0], attention_mask=None, targets=labels[:1])
    new = io["out.greedy"].size(1)
    got = {"out.vit": vit, "out.mp": mp, "out.merged_embd": merged, "out.hidden": hidden, "out.logits": logits,
           "out.loss": loss.reshape(1), "out.logits_nomask": logits0,
           "out.greedy": model.generate(ids, tiles, attention_mask=attn, max_new_tokens=new, greedy=True),
           "out.greedy_sample0_nomask": model.generate(ids[:1], tiles[:n0], attention_mask=None,
                                                       max_new_tokens=new, greedy=True)}
    for k, p in FILTERS:
        got[f"out.filter_k{k}_p{p}"] = top_k_top_p_filtering(io["in.filter_logits"].clone(), top_k=k, top_p=p)
    failed = 0
    for key, value in got.items():
        if key not in io:
            print(f"{key:28s} (not in {os.path.basename(args.io)}, skipped)")
            continue
        want = io[key]
        if want.dtype == torch.int64:
            ok = value.shape == want.shape and torch.equal(value, want)
            detail = "identical ids" if ok else f"expected {want.tolist()}, got {value.tolist()}"
        else:
            d = max_abs(value, want)
            ok = d <= args.atol
            detail = f"max |delta| = {d:.3e}"
        failed += not ok
        print(f"{key:28s} {detail:40s} {'OK' if ok else 'FAIL'}")
    print(("CHECKPOINT OK" if not failed else f"CHECKPOINT FAIL ({failed} outputs differ)") + f": {args.ckpt}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

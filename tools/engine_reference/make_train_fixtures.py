#!/usr/bin/python3
"""Training-recipe fixtures: nanoVLM's train.py optimizer recipe (commit 4e0c096) run in fp32 on nanoVLM's own
model code, from case a_gqa2_s2's checkpoint, for 20 optimizer steps in three variants.

  /usr/bin/python3 tools/engine_reference/make_train_fixtures.py --nanovlm DIR [--fixtures tests/fixtures/engine]
      [--final-weights ga1|all]

Recipe (train.py main loop, without autocast/DDP): AdamW(param_groups) with torch's defaults (betas 0.9/0.999,
eps 1e-8, weight_decay 0.01 on every parameter); groups [MP, vision_encoder, decoder], a group only if its lr > 0
(else its parameters get requires_grad False); per micro-step `loss = loss / GA; loss.backward()`; on update
steps `clip_grad_norm_(all_params, 1.0)` (returns the pre-clip norm), every group's lr = get_lr(global_step,
base_lr, max_training_steps=20), `optimizer.step(); optimizer.zero_grad()`.

Writes <fixtures>/train/: batches.safetensors (the 20 micro-batches), <variant>.json (per step: lrs, micro-batch
losses, pre-clip grad norm; final per-tensor summaries), <variant>.final.safetensors (final weights in
checkpoint layout; by default only for ga1).
"""
import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASE = "a_gqa2_s2"
N_BATCHES, STEPS = 20, 20
LR_MP, LR_VISION, LR_LM = 0.00512, 5e-5, 5e-5
VARIANTS = {"ga1": dict(ga=1, lr_vision=LR_VISION), "ga4": dict(ga=4, lr_vision=LR_VISION),
            "frozen_vision": dict(ga=1, lr_vision=0.0)}

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--nanovlm", default=os.environ.get("NANOVLM_DIR"))
ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "engine"))
ap.add_argument("--final-weights", choices=["ga1", "all"], default="ga1")
args = ap.parse_args()
if not args.nanovlm or not os.path.isdir(os.path.join(args.nanovlm, "models")):
    ap.error(f"--nanovlm (or NANOVLM_DIR) must name a folder with nanoVLM's models/, got {args.nanovlm!r}")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.abspath(args.nanovlm))
import torch  # noqa: E402

import engine_cases as C  # noqa: E402
import nanovlm_shim as shim  # noqa: E402
import st_torch  # noqa: E402

torch.set_num_threads(1)
shim.install(C.image_token_id(CASE), C.CASES[CASE]["eos"])
from models.vision_language_model import VisionLanguageModel  # noqa: E402


from train_recipe import get_lr  # noqa: E402


def make_batches(cfg, seed=2024):
    """20 micro-batches of 2 left-padded samples; images stored as uint8, used as u8.float()/255 (ToTensor)."""
    g = torch.Generator().manual_seed(seed)
    eos, tpt, base = C.CASES[CASE]["eos"], cfg.mp_image_token_length, cfg.lm_base_vocab_size
    rnd = lambda lo, hi: int(torch.randint(lo, hi + 1, (1,), generator=g))  # noqa: E731
    text = lambda n: torch.randint(C.TEXT_LO, base, (n,), generator=g).tolist()  # noqa: E731
    out = {}
    for i in range(N_BATCHES):
        grids_per_sample = [[(1, 1)], [(1, 2)] if i % 5 == 2 else [(1, 1)]]
        rows, tiles = [], []
        for grids in grids_per_sample:
            answer = text(rnd(2, 6)) + [eos, C.NEWLINE]
            ids = [C.IM_START, C.USER, C.NEWLINE] + C.image_string_ids(CASE, grids, tpt) + text(rnd(3, 10)) + \
                [eos, C.NEWLINE, C.IM_START, C.ASSISTANT, C.NEWLINE] + answer
            mask = torch.tensor([False] * (len(ids) - len(answer)) + [True] * len(answer))
            labels = torch.tensor(ids).masked_fill(~mask, -100).roll(-1)
            labels[-1] = -100
            rows.append((ids, labels.tolist()))
            for grid in grids:
                n = C.tiles_for(grid)
                tiles.append(torch.randint(0, 256, (n, 3, cfg.vit_img_size, cfg.vit_img_size), generator=g,
                                           dtype=torch.uint8))
        T = max(len(r[0]) for r in rows)
        out[f"mb{i:02d}.input_ids"] = torch.tensor([[eos] * (T - len(r[0])) + r[0] for r in rows])
        out[f"mb{i:02d}.attention_mask"] = torch.tensor([[0] * (T - len(r[0])) + [1] * len(r[0]) for r in rows])
        out[f"mb{i:02d}.labels"] = torch.tensor([[-100] * (T - len(r[0])) + r[1] for r in rows])
        out[f"mb{i:02d}.images_u8"] = torch.cat(tiles, 0)
    return out


def summary(t):
    t64 = t.detach().double()
    return {"shape": list(t.shape), "sum": float(t64.sum()), "l2": float(t64.norm()), "absmax": float(t64.abs().max()),
            "first": [float(v) for v in t.detach().flatten()[:4]]}


def train(variant, batches, ckpt):
    spec = VARIANTS[variant]
    ga = spec["ga"]
    model = VisionLanguageModel.from_pretrained(ckpt)
    model.train()
    bases = [("MP", model.MP, LR_MP), ("vision", model.vision_encoder, spec["lr_vision"]), ("LM", model.decoder, LR_LM)]
    groups, names = [], []
    for name, module, lr in bases:
        if lr > 0:
            groups.append({"params": list(module.parameters()), "lr": lr})
            names.append(name)
        else:
            for p in module.parameters():
                p.requires_grad = False
    optimizer = torch.optim.AdamW(groups)
    all_params = [p for group in optimizer.param_groups for p in group["params"]]
    steps, micro_losses, used = [], [], []
    optimizer.zero_grad()
    for i in range(STEPS * ga):
        k = i % N_BATCHES
        images = batches[f"mb{k:02d}.images_u8"].float().div(255)
        _, loss = model(batches[f"mb{k:02d}.input_ids"], images, attention_mask=batches[f"mb{k:02d}.attention_mask"],
                        targets=batches[f"mb{k:02d}.labels"])
        if ga > 1:
            loss = loss / ga
        loss.backward()
        micro_losses.append(loss.item() * ga if ga > 1 else loss.item())
        used.append(k)
        if (i + 1) % ga == 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(all_params, max_norm=1.0)
            step = len(steps)
            lrs = {}
            for gi, (name, base) in enumerate((n, b) for n, _, b in bases if b > 0):
                optimizer.param_groups[gi]["lr"] = lrs[name] = get_lr(step, base, STEPS)
            optimizer.step()
            optimizer.zero_grad()
            steps.append({"step": step, "micro_batches": used, "micro_losses": micro_losses,
                          "mean_loss": sum(micro_losses) / len(micro_losses), "grad_norm_preclip": float(grad_norm),
                          "clip_coef": min(1.0, 1.0 / (float(grad_norm) + 1e-6)), "lrs": lrs})
            micro_losses, used = [], []
    return model, names, steps


def main():
    ckpt = os.path.join(args.fixtures, CASE, "ckpt")
    out_dir = os.path.join(args.fixtures, "train")
    os.makedirs(out_dir, exist_ok=True)
    shim.set_token_ids(C.image_token_id(CASE), C.CASES[CASE]["eos"])
    cfg = VisionLanguageModel.from_pretrained(ckpt).cfg
    batches = make_batches(cfg)
    st_torch.save_file(batches, os.path.join(out_dir, "batches.safetensors"))
    batches = st_torch.load_file(os.path.join(out_dir, "batches.safetensors"))
    for variant in VARIANTS:
        model, names, steps = train(variant, batches, ckpt)
        again_model, _, again = train(variant, batches, ckpt) if variant == "ga1" else (None, None, steps)
        if again != steps:
            raise SystemExit(f"{variant}: two runs differ: not deterministic")
        if variant == "frozen_vision":
            start = st_torch.load_file(os.path.join(ckpt, "model.safetensors"))
            moved = [k for k, v in model.state_dict().items() if k.startswith("vision_encoder.") and not torch.equal(v, start[k])]
            if moved:
                raise SystemExit(f"frozen_vision: vision weights changed: {moved}")
        final = {k: summary(v) for k, v in model.state_dict().items() if k != "decoder.token_embedding.weight"}
        record = {
            "variant": variant, "source_checkpoint": f"{CASE}/ckpt", "batches": "batches.safetensors",
            "nanovlm_commit": "4e0c0961846135c2217f95e54cb4c2d66eb55e42", "torch": torch.__version__,
            "precision": "float32 (train.py runs under bf16 autocast; these fixtures do not)",
            "gradient_accumulation_steps": VARIANTS[variant]["ga"], "optimizer_steps": STEPS,
            "micro_batch_schedule": "micro-step m uses micro-batch m % 20; images = images_u8.float().div(255)",
            "max_training_steps": STEPS, "max_grad_norm": 1.0,
            "optimizer": {"type": "torch.optim.AdamW", "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01,
                          "amsgrad": False, "groups": names,
                          "base_lrs": {n: b for n, b in (("MP", LR_MP), ("vision", VARIANTS[variant]["lr_vision"]),
                                                         ("LM", LR_LM)) if b > 0}},
            "frozen": [] if VARIANTS[variant]["lr_vision"] > 0 else ["vision_encoder (requires_grad False, not in any group)"],
            "steps": steps,
            "final_weights_file": f"{variant}.final.safetensors" if args.final_weights == "all" or variant == "ga1" else None,
            "final_weights_summary": final,
        }
        with open(os.path.join(out_dir, f"{variant}.json"), "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        if record["final_weights_file"]:
            st_torch.save_model(model, os.path.join(out_dir, record["final_weights_file"]))
        print(f"{variant}: loss {steps[0]['mean_loss']:.4f} -> {steps[-1]['mean_loss']:.4f}, "
              f"grad norm {steps[0]['grad_norm_preclip']:.3f} -> {steps[-1]['grad_norm_preclip']:.3f}")
    print("TRAIN FIXTURES OK")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""bf16 mixed-precision fixtures: nanoVLM's own model code (commit 4e0c096) under torch.autocast('cpu', bfloat16)
on Debian's torch 1.13, made to follow CUDA autocast's rule where torch 1.13's CPU autocast differs
(autocast_shim.py), from case a_gqa2_s2's checkpoint and the recipe fixtures' micro-batches.

  /usr/bin/python3 tools/engine_reference/make_bf16_fixtures.py --nanovlm DIR [--fixtures tests/fixtures/engine]

Writes <fixtures>/train_bf16/:
  forward.safetensors  for micro-batches mb00 and mb02 (mb02: a 1x2 grid) at the checkpoint's weights, model.train():
                       under autocast <mb>.vit_block0_bf16 (ViT block 0 over the patch embedding, float32 residual),
                       <mb>.vit_bf16 (ViT output, float32), <mb>.mp_bf16 (F32 holding the projector's bf16 output),
                       <mb>.logits_bf16 (F32 holding the bf16 logits of decoder.head under autocast),
                       <mb>.logits_fp32 (the same forward without autocast), <mb>.loss_bf16, <mb>.loss_fp32
  bf16.json            train.py's recipe (AdamW, get_lr with max_training_steps 20, clip 1.0, GA 1) for STEPS
                       optimizer steps, forward+loss under autocast and backward outside it (train.py): per step
                       the loss, pre-clip grad norm and lrs; the same run in float32 next to it; the parameter
                       dtypes after the steps; the self-checks.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASE = "a_gqa2_s2"
STEPS = 6
FORWARD_BATCHES = ["mb00", "mb02"]
LR_MP, LR_VISION, LR_LM, MAX_STEPS = 0.00512, 5e-5, 5e-5, 20

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--nanovlm", default=os.environ.get("NANOVLM_DIR"))
ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "engine"))
args = ap.parse_args()
if not args.nanovlm or not os.path.isdir(os.path.join(args.nanovlm, "models")):
    ap.error(f"--nanovlm (or NANOVLM_DIR) must name a folder with nanoVLM's models/, got {args.nanovlm!r}")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.abspath(args.nanovlm))
import torch  # noqa: E402

import autocast_shim  # noqa: E402
import engine_cases as C  # noqa: E402
import nanovlm_shim as shim  # noqa: E402
import st_torch  # noqa: E402
from train_recipe import get_lr  # noqa: E402

torch.set_num_threads(1)
shims = shim.install(C.image_token_id(CASE), C.CASES[CASE]["eos"])
shims.update(autocast_shim.install())
from models.vision_language_model import VisionLanguageModel  # noqa: E402


def autocast(on):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=on)


def batch(batches, mb):
    return (batches[f"{mb}.input_ids"], batches[f"{mb}.images_u8"].float().div(255),
            batches[f"{mb}.attention_mask"], batches[f"{mb}.labels"])


def forward(model, batches, mb, bf16):
    ids, images, mask, labels = batch(batches, mb)
    with torch.no_grad(), autocast(bf16):
        logits, loss = model(ids, images, attention_mask=mask, targets=labels)
    return logits, loss


def train(ckpt, batches, bf16):
    """train.py's loop for STEPS optimizer steps (GA 1); returns the model and the per-step records."""
    model = VisionLanguageModel.from_pretrained(ckpt)
    model.train()
    groups = [{"params": list(m.parameters()), "lr": lr} for m, lr in
              ((model.MP, LR_MP), (model.vision_encoder, LR_VISION), (model.decoder, LR_LM))]
    names, bases = ["MP", "vision", "LM"], [LR_MP, LR_VISION, LR_LM]
    optimizer = torch.optim.AdamW(groups)
    all_params = [p for g in optimizer.param_groups for p in g["params"]]
    steps = []
    optimizer.zero_grad()
    for step in range(STEPS):
        ids, images, mask, labels = batch(batches, f"mb{step:02d}")
        with autocast(bf16):
            _, loss = model(ids, images, attention_mask=mask, targets=labels)
        loss.backward()
        if not all(p.grad is None or p.grad.dtype == torch.float32 for p in all_params):
            raise SystemExit("a gradient is not float32")
        grad_norm = torch.nn.utils.clip_grad_norm_(all_params, max_norm=1.0)
        lrs = {}
        for gi, (name, base) in enumerate(zip(names, bases)):
            optimizer.param_groups[gi]["lr"] = lrs[name] = get_lr(step, base, MAX_STEPS)
        optimizer.step()
        optimizer.zero_grad()
        steps.append({"step": step, "micro_batch": step, "loss": loss.item(), "loss_dtype": str(loss.dtype),
                      "grad_norm_preclip": float(grad_norm), "lrs": lrs})
    return model, steps


def main():
    ckpt = os.path.join(args.fixtures, CASE, "ckpt")
    out_dir = os.path.join(args.fixtures, "train_bf16")
    os.makedirs(out_dir, exist_ok=True)
    checks = {"cpu_autocast": autocast_shim.check_cpu_autocast()}
    batches = st_torch.load_file(os.path.join(args.fixtures, "train", "batches.safetensors"))

    model = VisionLanguageModel.from_pretrained(ckpt)
    model.train()
    seen, remove = autocast_shim.check_norm_inputs(model)
    out, summary = {}, {}
    for mb in FORWARD_BATCHES:
        lb, sb = forward(model, batches, mb, True)
        lf, sf = forward(model, batches, mb, False)
        if lb.dtype != torch.bfloat16 or sb.dtype != torch.float32 or lf.dtype != torch.float32:
            raise SystemExit(f"{mb}: dtypes logits {lb.dtype}, loss {sb.dtype}, fp32 logits {lf.dtype}")
        if not torch.isfinite(lb.float()).all():
            raise SystemExit(f"{mb}: non-finite bf16 logits (left-padding rows?)")
        ids, images, mask, _ = batch(batches, mb)
        with torch.no_grad(), autocast(True):
            pe = model.vision_encoder.patch_embedding(images)
            block0 = model.vision_encoder.blocks[0](pe)
            vit = model.vision_encoder(images)
            mp = model.MP(vit)
        out[f"{mb}.vit_block0_bf16"] = block0.contiguous()
        out[f"{mb}.vit_bf16"] = vit.contiguous()
        out[f"{mb}.mp_bf16"] = mp.float().contiguous()
        if (pe.dtype, block0.dtype, vit.dtype, mp.dtype) != (torch.float32, torch.float32, torch.float32, torch.bfloat16):
            raise SystemExit(f"{mb}: dtypes patch embedding {pe.dtype}, block {block0.dtype}, ViT {vit.dtype}, MP {mp.dtype}")
        out[f"{mb}.logits_bf16"] = lb.float()
        out[f"{mb}.logits_fp32"] = lf
        out[f"{mb}.loss_bf16"] = sb.reshape(1)
        out[f"{mb}.loss_fp32"] = sf.reshape(1)
        pads = (batches[f"{mb}.attention_mask"] == 0)
        summary[mb] = {"loss_bf16": sb.item(), "loss_fp32": sf.item(),
                       "max_abs_logit_bf16_vs_fp32": float((lb.float() - lf).abs().max()),
                       "mean_abs_logit_bf16_vs_fp32": float((lb.float() - lf).abs().mean()),
                       "left_pad_positions": int(pads.sum())}
    remove()
    checks["norm_input_dtypes"] = sorted(f"{a}: {b}" for a, b in seen)
    if any(not s.endswith("torch.float32") for s in checks["norm_input_dtypes"]):
        raise SystemExit(f"a norm saw a non-float32 input under autocast: {checks['norm_input_dtypes']}")
    st_torch.save_file(out, os.path.join(out_dir, "forward.safetensors"))

    bf16_model, bf16_steps = train(ckpt, batches, True)
    _, again = train(ckpt, batches, True)
    if again != bf16_steps:
        raise SystemExit("two bf16 runs differ: not deterministic")
    _, fp32_steps = train(ckpt, batches, False)
    dtypes = sorted({str(p.dtype) for p in bf16_model.parameters()})
    if dtypes != ["torch.float32"]:
        raise SystemExit(f"parameters are not float32 after bf16 steps: {dtypes}")
    checks["deterministic"] = True
    checks["parameter_dtypes_after_steps"] = dtypes
    record = {
        "source_checkpoint": f"{CASE}/ckpt", "batches": "../train/batches.safetensors",
        "nanovlm_commit": "4e0c0961846135c2217f95e54cb4c2d66eb55e42", "torch": torch.__version__,
        "precision": "torch.autocast('cpu', dtype=torch.bfloat16) around forward + loss (train.py), backward outside; "
                     "parameters and AdamW state float32; see autocast_shim.py for where CPU autocast was made to "
                     "follow CUDA's rule",
        "shims": shims, "optimizer_steps": STEPS, "max_training_steps": MAX_STEPS, "max_grad_norm": 1.0,
        "gradient_accumulation_steps": 1, "micro_batch_schedule": "step s uses micro-batch s; images = u8/255",
        "optimizer": {"type": "torch.optim.AdamW", "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01,
                      "groups": ["MP", "vision", "LM"], "base_lrs": {"MP": LR_MP, "vision": LR_VISION, "LM": LR_LM}},
        "forward": {"file": "forward.safetensors", "mode": "model.train(), no_grad", "batches": summary},
        "steps": bf16_steps, "steps_fp32": fp32_steps, "self_checks": checks,
    }
    with open(os.path.join(out_dir, "bf16.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    for mb, s in summary.items():
        print(f"{mb}: loss bf16 {s['loss_bf16']:.5f} fp32 {s['loss_fp32']:.5f}, "
              f"max |logit bf16 - fp32| {s['max_abs_logit_bf16_vs_fp32']:.4f}")
    for b, f32 in zip(bf16_steps, fp32_steps):
        print(f"step {b['step']}: loss bf16 {b['loss']:.5f} fp32 {f32['loss']:.5f}, "
              f"grad norm bf16 {b['grad_norm_preclip']:.4f} fp32 {f32['grad_norm_preclip']:.4f}")
    print("BF16 FIXTURES OK")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Speed of nanoVLM's own model code (commit 4e0c096, via nanovlm_shim.py on Debian's torch 1.13, CPU, fp32):
one training step (forward + loss + backward + clip + AdamW step + zero_grad, train.py's recipe) and greedy
generation with the KV cache (nanoVLM's generate(greedy=True)). The C# side is
bench/NanoVlm.Benchmarks/EngineHarness.cs; tools/engine_bench.sh runs both, alternating.

  /usr/bin/python3 tools/engine_reference/engine_bench.py --nanovlm DIR [--config small|tiny] [--threads 2]
      [--steps 8] [--warmup 2] [--gen-tokens 64] [--gen-reps 3]

Prints one JSON object. The configurations and the token layout are defined identically in EngineHarness.cs
(same shapes, same deterministic ids and pixels; weights are nanoVLM's random init, which does not change speed).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# small: ViT 4x192 (3 heads, MLP 4x), 256 px / patch 16 = 256 patches, pixel shuffle 2 -> 64 tokens per tile;
# LM 4x256, 4 heads / 2 KV heads, MLP 4x, vocab 8192 + 66. tiny: same block and tile counts (same op graph),
# every width ~minimal, 32 tokens: its step time is ~all per-op overhead.
CONFIGS = {
    "small": dict(vit=(192, 768, 3, 4, 256, 16), lm=(256, 1024, 4, 2, 4), base_vocab=8192, tokens=1024, answer=256),
    "tiny": dict(vit=(8, 16, 2, 4, 32, 16), lm=(8, 16, 2, 1, 4), base_vocab=64, tokens=32, answer=8),
}
SHUFFLE, EXTRA, EOS, TEXT_LO = 2, 66, 2, 20
LR_MP, LR_VISION, LR_LM, MAX_STEPS = 0.00512, 5e-5, 5e-5, 40000


def cfg_kwargs(name):
    c = CONFIGS[name]
    vd, vi, vh, vb, img, patch = c["vit"]
    ld, li, lh, lkv, lb = c["lm"]
    side = img // patch
    return dict(vit_hidden_dim=vd, vit_inter_dim=vi, vit_patch_size=patch, vit_img_size=img, vit_n_heads=vh,
                vit_n_blocks=vb, vit_dropout=0.0, vit_ln_eps=1e-6, vit_cls_flag=False,
                lm_hidden_dim=ld, lm_inter_dim=li, lm_rms_eps=1e-5, lm_re_base=100000, lm_max_position_embeddings=8192,
                lm_base_vocab_size=c["base_vocab"], extra_token_amount=EXTRA, lm_vocab_size=c["base_vocab"] + EXTRA,
                lm_n_heads=lh, lm_n_kv_heads=lkv, lm_n_blocks=lb, lm_dropout=0.0, lm_attn_scaling=1.0,
                lm_max_length=c["tokens"], lm_use_tokens=False, lm_tie_weights=True,
                mp_pixel_shuffle_factor=SHUFFLE, mp_image_token_length=side * side // SHUFFLE ** 2,
                resize_to_max_side_len=False, vlm_load_backbone_weights=False)


def layout(name, tokens_per_tile):
    """One sample: ChatML-like user turn with one image on a 2x2 grid (global + 4 tiles, get_image_string's order),
    question text up to the answer, answer of `answer` tokens; labels = next id over the answer only. Text ids are
    TEXT_LO + (7919 i mod (base - TEXT_LO)); pixels (i mod 251) / 250."""
    c = CONFIGS[name]
    base, n, answer = c["base_vocab"], c["tokens"], c["answer"]
    image, glob = base, base + 1
    text = lambda i: TEXT_LO + (7919 * i) % (base - TEXT_LO)  # noqa: E731
    head = [1, 14, 13, glob] + [image] * tokens_per_tile
    for r in range(2):
        for col in range(2):
            head += [image + 2 + r * 8 + col] + [image] * tokens_per_tile
    tail = [EOS, 13, 1, 15, 13]
    question = n - len(head) - len(tail) - answer
    assert question > 0, "layout does not fit"
    ids = head + [text(i) for i in range(question)] + tail + [text(1000 + i) for i in range(answer)]
    labels = [-100] * n
    for t in range(n - answer - 1, n - 1):
        labels[t] = ids[t + 1]
    return ids, labels


from train_recipe import get_lr  # noqa: E402  (next to this script)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nanovlm", default=os.environ.get("NANOVLM_DIR"))
    ap.add_argument("--config", choices=sorted(CONFIGS), default="small")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--gen-reps", type=int, default=3)
    args = ap.parse_args()
    if not args.nanovlm or not os.path.isdir(os.path.join(args.nanovlm, "models")):
        ap.error(f"--nanovlm (or NANOVLM_DIR) must name a folder with nanoVLM's models/, got {args.nanovlm!r}")
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.abspath(args.nanovlm))
    import torch
    import nanovlm_shim as shim

    torch.set_num_threads(args.threads)
    base = CONFIGS[args.config]["base_vocab"]
    shims = shim.install(image_token_id=base, eos_token_id=EOS)
    from models.config import VLMConfig
    from models.vision_language_model import VisionLanguageModel

    torch.manual_seed(0)
    cfg = VLMConfig(**cfg_kwargs(args.config))
    model = VisionLanguageModel(cfg, load_backbone=False)
    ids, labels = layout(args.config, cfg.mp_image_token_length)
    input_ids = torch.tensor([ids])
    targets = torch.tensor([labels])
    mask = torch.ones_like(input_ids)
    n_px = 5 * 3 * cfg.vit_img_size * cfg.vit_img_size
    images = (torch.arange(n_px, dtype=torch.float32).remainder(251) / 250).reshape(5, 3, cfg.vit_img_size, cfg.vit_img_size)

    # train.py: param groups [MP, vision, LM], AdamW defaults, clip 1.0, get_lr per group before every step
    model.train()
    groups = [{"params": list(m.parameters()), "lr": lr} for m, lr in
              ((model.MP, LR_MP), (model.vision_encoder, LR_VISION), (model.decoder, LR_LM))]
    optimizer = torch.optim.AdamW(groups)
    all_params = [p for g in optimizer.param_groups for p in g["params"]]
    step_ms, cpu_ms, losses = [], [], []
    for step in range(args.warmup + args.steps):
        c0, t0 = time.process_time(), time.perf_counter()
        _, loss = model(input_ids, images, attention_mask=mask, targets=targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(all_params, max_norm=1.0)
        for g, lr in zip(optimizer.param_groups, (LR_MP, LR_VISION, LR_LM)):
            g["lr"] = get_lr(step, lr, MAX_STEPS)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if step >= args.warmup:
            step_ms.append((time.perf_counter() - t0) * 1000)
            cpu_ms.append((time.process_time() - c0) * 1000)

    model.eval()
    gen_s, prefill_s = [], []
    with torch.no_grad():
        model.generate(input_ids, images, attention_mask=mask, max_new_tokens=2, greedy=True)  # warm-up
        for _ in range(args.gen_reps):
            t0 = time.perf_counter()
            model.generate(input_ids, images, attention_mask=mask, max_new_tokens=1, greedy=True)
            prefill_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = model.generate(input_ids, images, attention_mask=mask, max_new_tokens=args.gen_tokens, greedy=True)
            gen_s.append(time.perf_counter() - t0)
    assert out.shape == (1, args.gen_tokens)
    g, p = statistics.median(gen_s), statistics.median(prefill_s)
    print(json.dumps({
        "side": "nanoVLM (python)", "config": args.config, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
        "params": sum(p.numel() for p in model.parameters()), "tokens": len(ids), "tiles": 5,
        "step_ms": [round(x, 2) for x in step_ms], "step_ms_median": round(statistics.median(step_ms), 2),
        "step_cpu_ms": [round(x, 2) for x in cpu_ms], "step_cpu_ms_median": round(statistics.median(cpu_ms), 2),
        "first_loss": losses[0], "last_loss": losses[-1],
        "gen_tokens": args.gen_tokens, "gen_s": [round(x, 4) for x in gen_s], "prefill_1tok_s": [round(x, 4) for x in prefill_s],
        "gen_tok_per_s": round(args.gen_tokens / g, 2),
        "decode_tok_per_s": round((args.gen_tokens - 1) / (g - p), 2) if g > p else None,
        "shims": sorted(shims)}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""nanoVLM's training step driven by its own DataLoader pipeline: the Python side of tools/train_bench.sh.

Runs huggingface/nanoVLM's own code from a checkout at the pinned commit (NANOVLM_DIR, checked file by file by
tools/nanovlm_reference/checkout.py), wired the way train.py wires it:
  rows -> VQADataset -> ConstantLengthDataset (knapsack, producer thread) -> DataLoader(VQACollator, workers,
  seed_worker, pin_memory, drop_last) -> synchronized_dataloader_step -> train.py's inner loop: forward with
  targets (under train.py's autocast: bf16 on CPU), backward, clip_grad_norm_, get_lr per parameter group, AdamW
  step, zero_grad, with train.py's own timers (data_load_time, fw_bw_time, post_process_time, batch_duration,
  num_tokens = attention_mask.sum()).
The model configuration is a config.json written by `nanovlm train` (its run folder), so both sides train the same
model shape on the same rows (the JSONL copy that `nanovlm sample-data --format all` writes next to the parquet).
Run-time stand-ins (Debian has no transformers, einops, datasets, safetensors, and torch 1.13 no SDPA): see
tools/nanovlm_reference/README.md and tools/engine_reference/nanovlm_shim.py.

  NANOVLM_DIR=/tmp/nanovlm /usr/bin/python3 tools/train_reference_bench.py --data DIR --config RUN/config.json \
      --steps 60 --workers 3 --threads 1 [--autocast bf16|off] [--lr-mp 3e-3 --lr-vision 1e-3 --lr-language 2e-3]

Prints one JSON object: per-step arrays (data_load_time, fw_bw_time, post_process_time, batch_duration, tokens,
positions, images, loss, t = wall seconds since the loop started at the end of the step) and the settings.
"""
import argparse
import contextlib
import dataclasses
import json
import os
import random
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "nanovlm_reference"))
import checkout  # noqa: E402

checkout.use_nanovlm()  # the data/ shims (transformers, einops) first, then the checkout, then hf_rows
sys.path.insert(0, os.path.join(ROOT, "tools", "engine_reference"))

import numpy  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

import nanovlm_shim  # noqa: E402
from train_recipe import get_lr  # noqa: E402

DEFAULT_TOKENIZER = os.path.join(ROOT, "src", "Loader", "Assets", "default_tokenizer.model")
warnings.filterwarnings("ignore", message=".*Length of IterableDataset.*")
warnings.filterwarnings("ignore", message=".*pin_memory.*")


def seed_worker(worker_id):  # train.py, verbatim
    worker_seed = torch.initial_seed() % 2**32
    numpy.random.seed(worker_seed)
    random.seed(worker_seed)


def install_model_shims(image_token_id, eos_token_id):
    """SDPA and safetensors stand-ins for models/*.py; the shim's stub `data` package is dropped again so that the
    checkout's real data/ (with the transformers stand-in) is imported."""
    done = nanovlm_shim.install(image_token_id, eos_token_id)
    for name in ("data", "data.processors"):
        sys.modules.pop(name, None)
    return done


def vlm_config(path, tokenizer_path):
    from models.config import VLMConfig
    with open(path) as f:
        saved = json.load(f)
    fields = {f.name for f in dataclasses.fields(VLMConfig)}
    kwargs = {k: v for k, v in saved.items() if k in fields}
    kwargs["lm_tokenizer"] = tokenizer_path  # the stand-in AutoTokenizer opens a SentencePiece file by path
    kwargs["vlm_load_backbone_weights"] = False
    return VLMConfig(**kwargs), sorted(set(saved) - fields)


def build_loader(args, vlm_cfg):
    """train.py get_dataloaders for the training split, with the model's image and sequence settings."""
    from data.advanced_datasets import ConstantLengthDataset
    from data.collators import VQACollator
    from data.datasets import VQADataset
    from data.processors import get_image_processor, get_tokenizer
    from hf_rows import MapRows, StreamingRows, load_shards
    import models.config as config

    train_cfg = config.TrainConfig()
    train_cfg.batch_size = args.batch_size
    with contextlib.redirect_stdout(sys.stderr):  # DynamicResize prints a line
        image_processor = get_image_processor(vlm_cfg.max_img_size, vlm_cfg.vit_img_size, vlm_cfg.resize_to_max_side_len)
    tokenizer = get_tokenizer(vlm_cfg.lm_tokenizer, vlm_cfg.vlm_extra_tokens, vlm_cfg.lm_chat_template)
    shards = load_shards(args.data, None)
    rows = StreamingRows(shards) if args.mode == "stream" else MapRows(shards)
    dataset = VQADataset(rows, tokenizer, image_processor, vlm_cfg.mp_image_token_length,
                         train_cfg.relevance_min_rating, train_cfg.image_correspondence_min_rating,
                         train_cfg.visual_dependency_min_rating, train_cfg.formatting_min_rating)
    dataset = ConstantLengthDataset(dataset, infinite=True, max_sample_length=vlm_cfg.lm_max_length,
                                    seq_length=vlm_cfg.lm_max_length, num_of_sequences=train_cfg.batch_size * 4,
                                    queue_size=8, max_images_per_example=train_cfg.max_images_per_example,
                                    max_images_per_knapsack=train_cfg.max_images_per_knapsack)
    g = torch.Generator()
    g.manual_seed(0)
    loader = DataLoader(dataset, batch_size=train_cfg.batch_size, collate_fn=VQACollator(tokenizer, vlm_cfg.lm_max_length),
                        num_workers=args.workers, pin_memory=True, persistent_workers=False, drop_last=True,
                        worker_init_fn=seed_worker, generator=g)
    return loader, tokenizer, len(shards), sum(len(s) for s in shards)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder written by `nanovlm sample-data --format all`")
    ap.add_argument("--config", required=True, help="a config.json written by nanovlm train (the model shape)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--workers", type=int, default=3, help="DataLoader num_workers (train.py: 3)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--mode", choices=["stream", "map"], default="stream")
    ap.add_argument("--autocast", choices=["bf16", "off"], default="bf16",
                    help="bf16: train.py's torch.autocast(device_type='cpu', dtype=bfloat16); off: fp32 like the engine on CPU")
    ap.add_argument("--lr-mp", type=float, default=3e-3)
    ap.add_argument("--lr-vision", type=float, default=1e-3)
    ap.add_argument("--lr-language", type=float, default=2e-3)
    ap.add_argument("--max-training-steps", type=int, default=None, help="get_lr's horizon (default --steps)")
    ap.add_argument("--tokenizer", default=DEFAULT_TOKENIZER)
    args = ap.parse_args()

    result_out, sys.stdout = sys.stdout, sys.stderr  # nanoVLM's data code prints (also in the workers): keep stdout for the JSON
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    shims = install_model_shims(sp.piece_to_id("<|image|>"), sp.piece_to_id("<|im_end|>"))
    vlm_cfg, ignored = vlm_config(args.config, args.tokenizer)
    from data.data_utils import synchronized_dataloader_step
    from models.vision_language_model import VisionLanguageModel

    model = VisionLanguageModel(vlm_cfg, load_backbone=False)
    # HF tokenizers expose every extra special token's id as `<name>_id` (models/ reads image_token_id); the
    # SentencePiece stand-in has the token strings only.
    model.tokenizer.image_token_id = sp.piece_to_id(model.tokenizer.image_token)
    loader, tokenizer, n_shards, n_rows = build_loader(args, vlm_cfg)
    max_steps = args.max_training_steps or args.steps
    lrs = (args.lr_mp, args.lr_vision, args.lr_language)

    # train.py: parameter groups (a group with lr 0 is frozen), AdamW defaults, clip 1.0 (TrainConfig.max_grad_norm).
    groups = []
    for module, lr in zip((model.MP, model.vision_encoder, model.decoder), lrs):
        if lr > 0:
            groups.append({"params": list(module.parameters()), "lr": lr})
        else:
            for p in module.parameters():
                p.requires_grad = False
    optimizer = torch.optim.AdamW(groups)
    all_params = [p for g in optimizer.param_groups for p in g["params"]]
    device = torch.device("cpu")
    autocast = (torch.autocast(device_type="cpu", dtype=torch.bfloat16) if args.autocast == "bf16"
                else contextlib.nullcontext())

    rec = {k: [] for k in ("data_load_time", "fw_bw_time", "post_process_time", "batch_duration", "tokens",
                           "positions", "images", "loss", "grad_norm", "t")}
    global_step = 0
    model.train()
    optimizer.zero_grad()
    loop_start = time.perf_counter()
    data_load_start = time.time()
    for batch in synchronized_dataloader_step(iter(loader), False):
        batch_start_time = time.time()
        images = batch["images"]
        input_ids = batch["input_ids"].to(device)
        labels = batch["labels"].to(device)
        attention_mask = batch["attention_mask"].to(device)
        data_load_time = time.time() - data_load_start
        fw_bw_start = time.time()
        with autocast:
            _, loss = model(input_ids, images, attention_mask=attention_mask, targets=labels)
        loss.backward()
        fw_bw_time = time.time() - fw_bw_start
        post_process_start = time.time()
        grad_norm = torch.nn.utils.clip_grad_norm_(all_params, max_norm=1.0)
        for g, lr in zip(optimizer.param_groups, [lr for lr in lrs if lr > 0]):
            g["lr"] = get_lr(global_step, lr, max_steps)
        optimizer.step()
        optimizer.zero_grad()
        batch_loss = loss.item()
        num_tokens = torch.sum(attention_mask).item()
        post_process_time = time.time() - post_process_start
        batch_duration = time.time() - batch_start_time
        global_step += 1
        for k, v in (("data_load_time", data_load_time), ("fw_bw_time", fw_bw_time),
                     ("post_process_time", post_process_time), ("batch_duration", batch_duration),
                     ("tokens", int(num_tokens)), ("positions", int(input_ids.numel())),
                     ("images", sum(len(x) for x in images)), ("loss", batch_loss), ("grad_norm", float(grad_norm)),
                     ("t", time.perf_counter() - loop_start)):
            rec[k].append(round(v, 6) if isinstance(v, float) else v)
        if global_step >= args.steps:
            break
        data_load_start = time.time()
    print(json.dumps({
        "side": "nanoVLM (python)", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "workers": args.workers, "autocast": args.autocast, "batch_size": args.batch_size,
        "seq_len": vlm_cfg.lm_max_length, "steps": global_step, "rows": n_rows, "shards": n_shards, "mode": args.mode,
        "params": sum(p.numel() for p in model.parameters()), "vocab": vlm_cfg.lm_vocab_size,
        "config_keys_ignored": ignored, "shims": sorted(shims), **rec}), file=result_out)


if __name__ == "__main__":
    main()

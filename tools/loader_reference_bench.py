#!/usr/bin/python3
"""End-to-end throughput of nanoVLM's own training-data pipeline, the Python side of the loader benchmark (tools/loader_bench.sh).

Runs nanoVLM's own code, from a checkout at the pinned commit named by NANOVLM_DIR (with the run-time shims of
tools/nanovlm_reference/; see its README.md), the way train.py's get_dataloaders wires it:
  rows -> VQADataset (Pillow decode, DynamicResize/ToTensor/GlobalAndSplitImages, ChatML, loss mask, labels)
       -> ConstantLengthDataset (knapsack over seq_len x batch_size*4 tokens, producer thread, queue_size=8)
       -> torch DataLoader(batch_size=2, VQACollator(lm_max_length=4096), pin_memory, drop_last, seed_worker, ...)
       -> synchronized_dataloader_step (skips batches without images)
on the rows of `nanovlm sample-data --format all` (the JSONL copy; Debian has no pyarrow), with our built-in
SentencePiece tokenizer standing in for SmolLM2's.

  NANOVLM_DIR=/path/to/nanoVLM /usr/bin/python3 tools/loader_reference_bench.py --data DIR --workers 1 --batches 20
  /usr/bin/python3 tools/loader_reference_bench.py --data DIR --workers 0 --dump 8 --dump-dir OUT

Prints one JSON line on stdout:
  {"impl":"nanovlm-python","workers":w,"samples":..,"batches":..,"seconds":..,"samples_per_s":..,"tokens_per_s":..,
   "images_per_s":..,"fill":..,...}
samples = source samples (conversations) in the timed batches, counted as the attention 1->0 steps (every packed
sample ends in its pad token with attention 0); tokens = real tokens (attention 1); images = source images (tiles
are reported separately); fill = tokens / (batches * batch_size * lm_max_length). The clock starts after
--warmup valid batches (train.py itself takes one warm-up batch) and stops after --batches more.
"""
import argparse
import contextlib
import json
import os
import random
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "nanovlm_reference"))
import checkout  # noqa: E402

checkout.use_nanovlm()  # NANOVLM_DIR, checked against the pinned commit; the shims come first on sys.path

import numpy  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from data.advanced_datasets import ConstantLengthDataset  # noqa: E402
from data.collators import VQACollator  # noqa: E402
from data.data_utils import synchronized_dataloader_step  # noqa: E402
from data.datasets import VQADataset  # noqa: E402
from data.processors import get_image_processor, get_tokenizer  # noqa: E402
import models.config as config  # noqa: E402
from hf_rows import MapRows, StreamingRows, load_shards  # noqa: E402

# train.py module-level settings that concern the data path.
warnings.filterwarnings("ignore", message=".*Length of IterableDataset.*")
warnings.filterwarnings("ignore", message=".*pin_memory.*")  # no accelerator here: DataLoader skips pinning
import PIL.PngImagePlugin  # noqa: E402
PIL.PngImagePlugin.MAX_TEXT_CHUNK = 100 * 1024 * 1024


def seed_worker(worker_id):  # train.py, verbatim
    worker_seed = torch.initial_seed() % 2**32
    numpy.random.seed(worker_seed)
    random.seed(worker_seed)


def use_current_torchvision_antialias():
    """nanoVLM targets torchvision >= 0.17, where tensor resize antialiases by default; Debian's 0.14 does not. So that
    the reference computes (and pays for) the same global tile as nanoVLM with its own torchvision (and as this
    project, docs/nanovlm-compat.md), GlobalAndSplitImages' resize(x, [p, p]) is given antialias=True here, leaving
    nanoVLM's module as it is."""
    import functools
    import data.custom_transforms as ct
    ct.resize = functools.partial(ct.resize, antialias=True)


def build_loader(args, tokenizer_path):
    if args.global_antialias:
        use_current_torchvision_antialias()
    vlm_cfg = config.VLMConfig()
    train_cfg = config.TrainConfig()
    if args.batch_size is not None:
        train_cfg.batch_size = args.batch_size
    if args.seq_len is not None:
        vlm_cfg.lm_max_length = args.seq_len

    # DynamicResize prints a line to stdout; keep stdout for the JSON result.
    with contextlib.redirect_stdout(sys.stderr):
        image_processor = get_image_processor(vlm_cfg.max_img_size, vlm_cfg.vit_img_size, vlm_cfg.resize_to_max_side_len)
    tokenizer = get_tokenizer(tokenizer_path, vlm_cfg.vlm_extra_tokens, vlm_cfg.lm_chat_template)

    shards = load_shards(args.data, args.rows)
    stream = args.mode == "stream"
    if stream and args.workers > len(shards):
        print(f"warning: {len(shards)} shard(s) for {args.workers} workers: as with datasets' streaming, "
              f"workers without a shard yield nothing", file=sys.stderr)
    train_ds = StreamingRows(shards) if stream else MapRows(shards)
    n_rows = sum(len(s) for s in shards)

    train_dataset = VQADataset(
        train_ds,
        tokenizer,
        image_processor,
        vlm_cfg.mp_image_token_length,
        train_cfg.relevance_min_rating,
        train_cfg.image_correspondence_min_rating,
        train_cfg.visual_dependency_min_rating,
        train_cfg.formatting_min_rating,
    )
    train_dataset = ConstantLengthDataset(train_dataset, infinite=args.infinite, max_sample_length=train_cfg.max_sample_length, seq_length=vlm_cfg.lm_max_length, num_of_sequences=train_cfg.batch_size*4, queue_size=8,
                                          max_images_per_example=train_cfg.max_images_per_example, max_images_per_knapsack=train_cfg.max_images_per_knapsack)
    vqa_collator = VQACollator(tokenizer, vlm_cfg.lm_max_length)

    g = torch.Generator()
    g.manual_seed(0)
    # train.py: num_workers=3 for training (1 for validation); the benchmark sets it.
    train_loader = DataLoader(
        train_dataset,
        batch_size=train_cfg.batch_size,
        collate_fn=vqa_collator,
        num_workers=args.workers,
        pin_memory=True,
        persistent_workers=False,
        drop_last=True,
        worker_init_fn=seed_worker,
        generator=g,
    )
    return train_loader, tokenizer, vlm_cfg, train_cfg, n_rows, len(shards)


def batch_stats(batch):
    am = batch["attention_mask"]
    samples = int(((am[:, :-1] == 1) & (am[:, 1:] == 0)).sum())
    tokens = int(am.sum())
    images = sum(len(seq_imgs) for seq_imgs in batch["images"])
    tiles = sum(int(t.shape[0]) for seq_imgs in batch["images"] for t in seq_imgs)
    return samples, tokens, images, tiles


def dump(args, loader):
    os.makedirs(args.dump_dir, exist_ok=True)
    ids, labels, attn, n_images, n_tiles = [], [], [], [], []
    for batch in synchronized_dataloader_step(loader, False):
        for r in range(batch["input_ids"].shape[0]):
            ids.append(batch["input_ids"][r].numpy())
            labels.append(batch["labels"][r].numpy())
            attn.append(batch["attention_mask"][r].numpy())
            n_images.append(len(batch["images"][r]))
            n_tiles.append(sum(int(t.shape[0]) for t in batch["images"][r]))
            if len(ids) == args.dump:
                break
        if len(ids) == args.dump:
            break
    numpy.save(os.path.join(args.dump_dir, "input_ids.npy"), numpy.stack(ids).astype(numpy.int64))
    numpy.save(os.path.join(args.dump_dir, "labels.npy"), numpy.stack(labels).astype(numpy.int64))
    numpy.save(os.path.join(args.dump_dir, "attention_mask.npy"), numpy.stack(attn).astype(numpy.int64))
    numpy.save(os.path.join(args.dump_dir, "images_per_sequence.npy"), numpy.array(n_images, dtype=numpy.int64))
    numpy.save(os.path.join(args.dump_dir, "tiles_per_sequence.npy"), numpy.array(n_tiles, dtype=numpy.int64))
    return len(ids)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder written by `nanovlm sample-data --format all` (reads DIR/jsonl/*.jsonl)")
    ap.add_argument("--workers", type=int, default=1, help="DataLoader num_workers (train.py uses 3)")
    ap.add_argument("--batches", type=int, default=20, help="timed batches (after warm-up)")
    ap.add_argument("--warmup", type=int, default=1, help="valid batches taken before the clock starts (train.py takes 1)")
    ap.add_argument("--mode", choices=["stream", "map"], default="stream",
                    help="stream: TrainConfig.stream_dataset=True (nanoVLM default; workers split shards); map: False (workers split indices)")
    ap.add_argument("--rows", type=int, default=None, help="use only the first N rows")
    ap.add_argument("--infinite", action="store_true", help="ConstantLengthDataset(infinite=True): restart the rows when exhausted")
    ap.add_argument("--batch-size", type=int, default=None, help="override TrainConfig.batch_size (2)")
    ap.add_argument("--seq-len", type=int, default=None, help="override VLMConfig.lm_max_length (4096)")
    ap.add_argument("--no-global-antialias", dest="global_antialias", action="store_false",
                    help="keep Debian torchvision 0.14's tensor-resize default (antialias=False) for the global tile")
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "src", "Loader", "Assets", "default_tokenizer.model"))
    ap.add_argument("--dump", type=int, default=0, metavar="K", help="write the first K packed sequences to --dump-dir as .npy and exit")
    ap.add_argument("--dump-dir", default="loader_reference_dump")
    args = ap.parse_args()

    loader, tokenizer, vlm_cfg, train_cfg, n_rows, n_shards = build_loader(args, args.tokenizer)

    if args.dump:
        k = dump(args, loader)
        print(json.dumps({"impl": "nanovlm-python", "dumped_sequences": k, "dir": os.path.abspath(args.dump_dir)}))
        return

    it = synchronized_dataloader_step(iter(loader), False)
    exhausted = False
    for _ in range(args.warmup):
        if next(it, None) is None:
            exhausted = True
            break
    samples = tokens = images = tiles = batches = 0
    t0 = time.perf_counter()
    if not exhausted:
        for batch in it:
            s, t, i, ti = batch_stats(batch)
            samples += s; tokens += t; images += i; tiles += ti; batches += 1
            if batches == args.batches:
                break
        else:
            exhausted = True
    seconds = time.perf_counter() - t0
    bs, L = train_cfg.batch_size, vlm_cfg.lm_max_length
    per_s = lambda x: round(x / seconds, 3) if seconds > 0 else None
    print(json.dumps({
        "impl": "nanovlm-python",
        "workers": args.workers,
        "samples": samples,
        "batches": batches,
        "seconds": round(seconds, 3),
        "samples_per_s": per_s(samples),
        "tokens_per_s": per_s(tokens),
        "images_per_s": per_s(images),
        "fill": round(tokens / (batches * bs * L), 4) if batches else None,
        "sequences": batches * bs,
        "tokens": tokens,
        "images": images,
        "tiles": tiles,
        "batch_size": bs,
        "seq_len": L,
        "mode": args.mode,
        "rows": n_rows,
        "shards": n_shards,
        "warmup_batches": args.warmup,
        "exhausted": exhausted,
        "torch_threads_main": torch.get_num_threads(),
        "global_antialias": args.global_antialias,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()

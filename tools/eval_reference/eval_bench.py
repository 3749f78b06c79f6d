#!/usr/bin/python3
"""Evaluation throughput of nanoVLM's lmms-eval wrapper (eval/lmms_eval_wrapper.py at 4e0c096, unmodified:
NanoVLMWrapper(model=DIR) + generate_until) on Debian's torch 1.13, over the same requests `nanovlm eval --data`
answers; driven side by side with the C# CLI by tools/eval_bench.sh.

    eval_bench.py --lmms-eval DIR write-requests --out FILE.jsonl [--n 32]
    eval_bench.py --lmms-eval DIR make-small --out DIR
    eval_bench.py --lmms-eval DIR run --requests FILE.jsonl --ckpt DIR --batch-size B [--max-new-tokens 32] [--threads 1]

`run` prints one JSON line: seconds spent in generate_until (the wrapper built and the model loaded beforehand),
samples/s, the predictions. The requests are own-data questions: the wrapper's default formatting (the task name,
the file's stem, is none of its benchmarks), context = the question, one image, greedy, max_new_tokens as given.
"""
import argparse
import base64
import contextlib
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_eval_e2e_fixtures as E  # noqa: E402  (re-executes with PYTHONHASHSEED=0, sets up sys.path)

SMALL = dict(vit_hidden_dim=192, vit_inter_dim=768, vit_patch_size=16, vit_img_size=128, vit_n_heads=3, vit_n_blocks=4,
             lm_hidden_dim=256, lm_inter_dim=1024, lm_n_heads=4, lm_n_kv_heads=2, lm_n_blocks=4, mp_pixel_shuffle_factor=2,
             mp_image_token_length=16, max_img_size=256)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nanovlm", default=os.environ.get("NANOVLM_DIR"))
    ap.add_argument("--lmms-eval", required=True)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write-requests")
    w.add_argument("--out", required=True)
    w.add_argument("--n", type=int, default=32)
    m = sub.add_parser("make-small")
    m.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--requests", required=True)
    r.add_argument("--ckpt", required=True)
    r.add_argument("--batch-size", type=int, required=True)
    r.add_argument("--max-new-tokens", type=int, default=32)
    r.add_argument("--threads", type=int, default=1)
    return ap.parse_args()


def write_requests(path, n):
    """n questions over the e2e fixture's images (PNG data URIs), questions of varied lengths."""
    from eval_docs import documents
    images = [v for rows in documents().values() for r in rows for v in r.values() if isinstance(v, dict) and "bytes" in v]
    questions = ["What is shown?", "What colour is the top left corner of the picture?", "Count the objects.",
                 "Describe the texture of the image in a few words, please.", "Is it dark?", "Which letter is printed here?"]
    with open(path, "w", encoding="ascii") as f:
        for i in range(n):
            img = images[i % len(images)]
            uri = "data:image/png;base64," + base64.b64encode(img["bytes"]).decode("ascii")
            f.write(json.dumps({"image": uri, "question": questions[i % len(questions)] + " " * (i % 3), "answers": ["x"]}) + "\n")


def run(R, args):
    from PIL import Image
    torch = R["torch"]
    torch.set_num_threads(args.threads)
    E.prime_tokenizer(R)
    rows = [json.loads(line) for line in open(args.requests) if line.strip()]
    docs = [{"question": r["question"], "image": Image.open(io.BytesIO(base64.b64decode(r["image"].split(",", 1)[1])))} for r in rows]
    task = os.path.splitext(os.path.basename(args.requests))[0]
    gen_kwargs = {"max_new_tokens": args.max_new_tokens, "do_sample": False, "temperature": 0}
    to_visual = lambda d: [d["image"].convert("RGB")]  # noqa: E731  (lmms-eval tasks' doc_to_visual)
    requests = [R["Instance"](request_type="generate_until", arguments=(d["question"], dict(gen_kwargs), to_visual, i, task, "test"),
                              idx=0, metadata={"task": task, "doc_id": i, "repeats": 1}) for i, d in enumerate(docs)]
    with contextlib.redirect_stdout(sys.stderr):
        wrapper = R["wrapper_mod"].NanoVLMWrapper(model=args.ckpt, device="cpu", batch_size=args.batch_size)
    wrapper.task_dict = {task: {"test": docs}}
    start = time.perf_counter()
    with torch.inference_mode():
        answers = wrapper.generate_until(requests)
    seconds = time.perf_counter() - start
    print(json.dumps({"side": "nanoVLM wrapper (python)", "batch_size": args.batch_size, "n": len(docs), "threads": torch.get_num_threads(),
                      "seconds": round(seconds, 3), "samples_per_s": round(len(docs) / seconds, 3), "predictions": answers}))


def main():
    args = parse_args()
    if args.cmd == "write-requests":
        write_requests(args.out, args.n)
        return
    R = E.load_reference(args)
    if args.cmd == "make-small":
        os.makedirs(args.out, exist_ok=True)
        E.prime_tokenizer(R)
        E.make_checkpoint(R, args.out, seed=7, dims=SMALL)
    else:
        run(R, args)


if __name__ == "__main__":
    main()

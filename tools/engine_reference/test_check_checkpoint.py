#!/usr/bin/python3
"""Proves check_checkpoint.py accepts the fixture checkpoints and refuses broken ones the way nanoVLM's
from_pretrained + safetensors.load_model do.

  /usr/bin/python3 tools/engine_reference/test_check_checkpoint.py --nanovlm DIR [--fixtures tests/fixtures/engine]

Each scenario copies case a's checkpoint into a temp folder, alters it, runs check_checkpoint.py and checks the
exit code and a phrase of its output. Prints one line per scenario and CHECK_CHECKPOINT TESTS OK / FAILED.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch  # noqa: E402

import st_torch  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--nanovlm", default=os.environ.get("NANOVLM_DIR"))
ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "engine"))
args = ap.parse_args()
if not args.nanovlm:
    ap.error("--nanovlm (or NANOVLM_DIR) is required")


def alter_weights(fn):
    def edit(ckpt):
        path = os.path.join(ckpt, "model.safetensors")
        meta, tensors = st_torch.read_file(path)
        meta = fn(tensors, meta)
        st_torch.save_file(tensors, path, metadata=meta)
    return edit


def both_tied(t, m):
    t["decoder.token_embedding.weight"] = t["decoder.head.weight"].clone()
    return None


def only_embedding_name(t, m):
    t["decoder.token_embedding.weight"] = t.pop("decoder.head.weight")
    return None


def extra_key(t, m):
    t["decoder.extra.weight"] = torch.zeros(4)
    return m


def drop(name):
    def fn(t, m):
        del t[name]
        return m
    return fn


def scale(name, factor):
    def fn(t, m):
        t[name] = t[name] * factor
        return m
    return fn


def bf16(t, m):
    for k in t:
        t[k] = t[k].to(torch.bfloat16)
    return m


def config_edit(fn):
    def edit(ckpt):
        path = os.path.join(ckpt, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        fn(cfg)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=4)
    return edit


def truncate(ckpt):
    path = os.path.join(ckpt, "model.safetensors")
    with open(path, "rb") as f:
        blob = f.read()
    with open(path, "wb") as f:
        f.write(blob[:-4])


# (name, edit, expected exit code, phrase expected in the output)
SCENARIOS = [
    ("unchanged copy", None, 0, "CHECKPOINT OK"),
    ("only decoder.token_embedding.weight (the other tied name)", alter_weights(only_embedding_name), 0, "CHECKPOINT OK"),
    ("config.json missing optional keys (defaults apply)", config_edit(lambda c: c.pop("hf_repo_name")), 0, "CHECKPOINT OK"),
    ("both tied names in the file", alter_weights(both_tied), 1, 'Unexpected key(s) in state_dict: "decoder.token_embedding.weight"'),
    ("an extra key", alter_weights(extra_key), 1, 'Unexpected key(s) in state_dict: "decoder.extra.weight"'),
    ("missing decoder.rotary_embd.inv_freq", alter_weights(drop("decoder.rotary_embd.inv_freq")), 1,
     'Missing key(s) in state_dict: "decoder.rotary_embd.inv_freq"'),
    ("missing MP.proj.weight", alter_weights(drop("MP.proj.weight")), 1, 'Missing key(s) in state_dict: "MP.proj.weight"'),
    ("unknown key in config.json", config_edit(lambda c: c.update(lm_eos_token_id=2)), 1, "unexpected keyword argument 'lm_eos_token_id'"),
    ("truncated model.safetensors", truncate, 1, "MetadataIncompleteBuffer"),
    ("final norm gain scaled by 1.001", alter_weights(scale("decoder.norm.weight", 1.001)), 1, "CHECKPOINT FAIL"),
    ("all weights stored as BF16 (loads, numbers differ)", alter_weights(bf16), 1, "CHECKPOINT FAIL"),
]


def main():
    src = os.path.join(args.fixtures, "a_gqa2_s2")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(f"case {c}: own checkpoint", os.path.join(args.fixtures, c, "ckpt"), os.path.join(args.fixtures, c), 0,
                 "CHECKPOINT OK") for c in sorted(os.listdir(args.fixtures)) if os.path.isdir(os.path.join(args.fixtures, c, "ckpt"))]
        for i, (name, edit, code, phrase) in enumerate(SCENARIOS):
            ckpt = os.path.join(tmp, f"s{i}")
            shutil.copytree(os.path.join(src, "ckpt"), ckpt)
            if edit:
                edit(ckpt)
            runs.append((name, ckpt, src, code, phrase))
        for name, ckpt, case_dir, code, phrase in runs:
            p = subprocess.run([sys.executable, os.path.join(HERE, "check_checkpoint.py"), "--nanovlm", args.nanovlm,
                                "--ckpt", ckpt, "--io", os.path.join(case_dir, "io.safetensors")],
                               capture_output=True, text=True)
            out = p.stdout + p.stderr
            ok = p.returncode == code and phrase in out
            failures += not ok
            last = [ln for ln in out.strip().splitlines() if ln.strip()][-1] if out.strip() else ""
            print(f"{'PASS' if ok else 'FAIL'}  exit {p.returncode} (want {code})  {name}\n      {last[:200]}")
    print("CHECK_CHECKPOINT TESTS OK" if not failures else f"CHECK_CHECKPOINT TESTS FAILED ({failures})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""nanoVLM's outputs from a checkpoint the C# engine SAVED (weights of its own), for the C# test
SavedCheckpointRoundTripTests: the folder tests/fixtures/engine/csharp_saved/ckpt is written by that test
(NANOVLM_UPDATE_ROUNDTRIP=1); this script loads it with nanoVLM's own VisionLanguageModel.from_pretrained (commit
4e0c096, strict load: a missing, unexpected or mis-shaped key or an unknown config key is an error), runs it on case
a's inputs and writes what nanoVLM computed:

  /usr/bin/python3 tools/engine_reference/make_roundtrip_fixture.py --nanovlm DIR \
      [--dir tests/fixtures/engine/csharp_saved] [--io tests/fixtures/engine/a_gqa2_s2/io.safetensors]

Writes <dir>/nanovlm_out.safetensors (out.logits [B,T,V], out.loss [1]) and <dir>/manifest.json. Self-check: nanoVLM's
save_pretrained of the loaded model writes the C# files back byte for byte (config.json and model.safetensors).
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
NANOVLM_COMMIT = "4e0c0961846135c2217f95e54cb4c2d66eb55e42"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nanovlm", default=os.environ.get("NANOVLM_DIR"),
                    help="folder holding nanoVLM's models/ at commit 4e0c096 (default: $NANOVLM_DIR)")
    ap.add_argument("--dir", default=os.path.join(ROOT, "tests", "fixtures", "engine", "csharp_saved"))
    ap.add_argument("--io", default=os.path.join(ROOT, "tests", "fixtures", "engine", "a_gqa2_s2", "io.safetensors"))
    args = ap.parse_args()
    if not args.nanovlm or not os.path.isdir(os.path.join(args.nanovlm, "models")):
        ap.error(f"--nanovlm (or NANOVLM_DIR) must name a folder with nanoVLM's models/, got {args.nanovlm!r}")
    for f in ("config.json", "model.safetensors"):
        if not os.path.isfile(os.path.join(args.dir, "ckpt", f)):
            ap.error(f"{os.path.join(args.dir, 'ckpt', f)} is missing: run the C# test with NANOVLM_UPDATE_ROUNDTRIP=1 first")
    return args


args = parse_args()
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.abspath(args.nanovlm))
import torch  # noqa: E402

import nanovlm_shim as shim  # noqa: E402
import st_torch  # noqa: E402

with open(os.path.join(os.path.dirname(os.path.abspath(args.io)), "manifest.json")) as f:
    IO_MANIFEST = json.load(f)
torch.set_num_threads(1)
shim.install(IO_MANIFEST["image_token_id"], IO_MANIFEST["eos_token_id"])
from models.vision_language_model import VisionLanguageModel  # noqa: E402


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ckpt = os.path.join(args.dir, "ckpt")
    model = VisionLanguageModel.from_pretrained(ckpt).eval()      # strict: raises on any key or config mismatch
    io = st_torch.load_file(args.io)
    ids, attn, labels, tiles = io["in.input_ids"], io["in.attention_mask"], io["in.labels"], io["in.images"]
    with torch.no_grad():
        logits, loss = model(ids, tiles, attention_mask=attn, targets=labels)
    checks = {}
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        for f in ("config.json", "model.safetensors"):
            checks[f"nanovlm_resave_{f}_byte_identical"] = sha256(os.path.join(tmp, f)) == sha256(os.path.join(ckpt, f))
    checks["logits_differ_from_case_a"] = float((logits - io["out.logits"]).abs().max()) > 0.1
    out = os.path.join(args.dir, "nanovlm_out.safetensors")
    st_torch.save_file({"out.logits": logits.contiguous(), "out.loss": loss.reshape(1).contiguous()}, out)
    manifest = {
        "what": "nanoVLM's from_pretrained (strict) on the C#-saved ckpt/, forward with targets on the io inputs",
        "nanovlm_commit": NANOVLM_COMMIT,
        "torch": torch.__version__,
        "dtype": "float32, CPU, 1 thread",
        "io": os.path.relpath(os.path.abspath(args.io), os.path.abspath(args.dir)),
        "io_sha256": sha256(args.io),
        "loss": float(loss),
        "logits_shape": list(logits.shape),
        "checks": checks,
        "files": {rel: {"bytes": os.path.getsize(os.path.join(args.dir, rel)), "sha256": sha256(os.path.join(args.dir, rel))}
                  for rel in ("ckpt/config.json", "ckpt/model.safetensors", "nanovlm_out.safetensors")},
    }
    with open(os.path.join(args.dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(checks, indent=2))
    if not all(checks.values()):
        raise SystemExit("ROUNDTRIP SELF-CHECK FAILED")
    print(f"ROUNDTRIP FIXTURE OK: loss {float(loss):.6f}, logits {list(logits.shape)}")


if __name__ == "__main__":
    main()

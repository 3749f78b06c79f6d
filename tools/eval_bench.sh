#!/usr/bin/env bash
# Evaluation throughput side by side, in one invocation on the same machine: nanoVLM's lmms-eval wrapper
# (tools/eval_reference/eval_bench.py: NanoVLMWrapper.generate_until on Debian's python3-torch 1.13) against
# `nanovlm eval --data` (Evaluator.GenerateAnswers, TorchSharp), the same requests, the same checkpoints (the e2e
# fixture's tiny one and a small one made by nanoVLM), batch size 1 (one request at a time) and BATCH, the same
# libtorch thread count, sides alternating. Checks both sides answered identically. Prints a markdown table; raw
# JSON stays in $OUT.
#   NANOVLM_DIR=/tmp/nanovlm LMMS_EVAL=/tmp/lmms tools/eval_bench.sh
#   N=32 BATCH=16 THREADS=1 REPS=1 OUT=/tmp/evb tools/eval_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NANOVLM_DIR:?set NANOVLM_DIR to a nanoVLM checkout at 4e0c096 (see tools/eval_reference/README.md)}"
: "${LMMS_EVAL:?set LMMS_EVAL to a folder holding lmms_eval/ at 654bd6c7}"
OUT=${OUT:-$(mktemp -d)}
N=${N:-32}                 # requests
BATCH=${BATCH:-16}         # the batched run's chunk size
THREADS=${THREADS:-1}      # libtorch intra-op threads on both sides
NEW=${NEW:-32}             # max new tokens per answer
REPS=${REPS:-1}
mkdir -p "$OUT"
dotnet build src/Cli/nanovlm.csproj -c Release -v q -nologo >/dev/null
py() { /usr/bin/python3 tools/eval_reference/eval_bench.py --nanovlm "$NANOVLM_DIR" --lmms-eval "$LMMS_EVAL" "$@"; }
cs() { OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS dotnet src/Cli/bin/Release/net10.0/nanovlm.dll "$@"; }

{ echo "date: $(date -u +%FT%TZ)"; grep -m1 'model name' /proc/cpuinfo; echo "cpus: $(nproc)";
  grep -m1 '^flags' /proc/cpuinfo; dotnet --version; /usr/bin/python3 -c 'import torch; print("python torch", torch.__version__)'; } > "$OUT/machine.txt"
py write-requests --out "$OUT/requests.jsonl" --n "$N"
[ -f "$OUT/small/model.safetensors" ] || py make-small --out "$OUT/small" 2>/dev/null
: > "$OUT/runs.jsonl"; : > "$OUT/load.txt"
for r in $(seq "$REPS"); do
  for cfg in tiny small; do
    ckpt=tests/fixtures/eval_e2e/ckpt; [ "$cfg" = small ] && ckpt="$OUT/small"
    for b in 1 "$BATCH"; do
      echo "$cfg batch $b rep $r load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2
      py run --requests "$OUT/requests.jsonl" --ckpt "$ckpt" --batch-size "$b" --max-new-tokens "$NEW" --threads "$THREADS" 2>/dev/null \
        | CFG=$cfg /usr/bin/python3 -c 'import json,os,sys; r=json.loads(sys.stdin.read()); r["config"]=os.environ["CFG"]; print(json.dumps(r))' >> "$OUT/runs.jsonl"
      rm -rf "$OUT/cs"
      cs eval --checkpoint "$ckpt" --data "$OUT/requests.jsonl" --metric exact_match --max-new-tokens "$NEW" --batch-size "$b" \
        --tokenizer default --device cpu --run-name bench --out "$OUT/cs" --json --log-samples 2>/dev/null \
        | CFG=$cfg B=$b /usr/bin/python3 -c '
import json, os, sys
r = json.loads(sys.stdin.read())
preds = [json.loads(l)["prediction"] for l in open(r["samples"])]
t = r["tasks"]["requests"]
print(json.dumps({"side": "NanoVlm.NET (C#)", "config": os.environ["CFG"], "batch_size": int(os.environ["B"]), "n": t["documents"],
                  "threads": None, "seconds": t["seconds"], "samples_per_s": round(t["documents"] / t["seconds"], 3), "predictions": preds}))' >> "$OUT/runs.jsonl"
    done
  done
done
echo "end load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2

/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl") if l.strip()]
print("| config | batch | side | requests | seconds | samples/s |\n|---|---:|---|---:|---:|---:|")
for r in runs:
    print(f"| {r['config']} | {r['batch_size']} | {r['side']} | {r['n']} | {r['seconds']:.2f} | {r['samples_per_s']:.2f} |")
pairs = {}
for r in runs:
    pairs.setdefault((r["config"], r["batch_size"]), {})[r["side"]] = r["predictions"]
for (cfg, b), sides in pairs.items():
    v = list(sides.values())
    same = len(v) == 2 and v[0] == v[1]
    diff = sum(a != c for a, c in zip(*v)) if len(v) == 2 else None
    print(f"\n{cfg} batch {b}: predictions identical on both sides: {same}" + ("" if same else f" ({diff} of {len(v[0])} differ)"))
PY
echo "raw: $OUT" >&2

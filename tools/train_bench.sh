#!/usr/bin/env bash
# Training throughput side by side, in one invocation on the same rows and the same model configuration:
#   `nanovlm train` (the loader's packs, document attention by default, and once more with --attention nanovlm)
#   vs nanoVLM's own train.py step driven by its own DataLoader pipeline (tools/train_reference_bench.py, nanoVLM
#   4e0c096 from NANOVLM_DIR on Debian's python3-torch 1.13; as train.py under bf16 autocast, and in fp32 like
#   the engine on CPU).
# The rows: `nanovlm sample-data --format parquet jsonl` (parquet for .NET, the JSONL copy for Python: Debian has no
# pyarrow). The model: the `tiny` preset; its config.json, written by the first .NET run, is what Python builds.
# Both sides: batch 2 × 1,024 tokens, the same learning rates, the same libtorch thread count (THREADS, also
# OMP_NUM_THREADS / MKL_NUM_THREADS), each side's default loader workers (nanovlm: 2, train.py: 3) unless set.
# Each run is wrapped in /usr/bin/time (CPU seconds of the process and its loader workers).
#   NANOVLM_DIR=/tmp/nanovlm tools/train_bench.sh
#   STEPS=40 PY_STEPS=25 WARMUP=5 THREADS=1 OUT=/tmp/trb tools/train_bench.sh
# Needs NANOVLM_DIR: a checkout of huggingface/nanoVLM at 4e0c096 with data/ and models/ (tools/nanovlm_reference/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NANOVLM_DIR:?set NANOVLM_DIR to a nanoVLM checkout at 4e0c096 with data/ and models/}"
OUT=${OUT:-$(mktemp -d)}
ROWS=${ROWS:-1000}
SHARDS=${SHARDS:-4}
STEPS=${STEPS:-40}          # .NET optimizer steps per run
PY_STEPS=${PY_STEPS:-25}    # Python steps per run (slower: fewer keep the run short)
WARMUP=${WARMUP:-5}         # steps left out of the rates on both sides (JIT, first batches, allocator warm-up)
THREADS=${THREADS:-1}
PY_WORKERS=${PY_WORKERS:-3} # train.py's num_workers
CS_WORKERS=${CS_WORKERS:-}  # empty: nanovlm train's default
AUTOCASTS=${AUTOCASTS:-"bf16 off"}
PY=${PY:-/usr/bin/python3}
mkdir -p "$OUT"
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
dotnet build src/Cli -c Release -v q -nologo >/dev/null
CLI=src/Cli/bin/Release/net10.0/nanovlm.dll
nanovlm() { dotnet "$CLI" "$@"; }
timed() { local f=$1; shift; /usr/bin/time -f '{"user_s": %U, "sys_s": %S, "wall_s": %e, "max_rss_kb": %M}' -o "$f" "$@"; }

{ echo "date: $(date -u +%FT%TZ)"; lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Flags)'
  grep -m1 'model name' /proc/cpuinfo; dotnet --version; "$PY" -c 'import torch; print("python torch", torch.__version__)'; } > "$OUT/machine.txt"
: > "$OUT/load.txt"
load() { echo "$1 $(date -u +%T) $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2; }

DATA=$OUT/data
[ -d "$DATA" ] || nanovlm sample-data --out "$DATA" --rows "$ROWS" --shards "$SHARDS" --format parquet jsonl >&2
workers=(); [ -n "$CS_WORKERS" ] && workers=(--workers "$CS_WORKERS")
cs_run() {  # $1 = attention mode
  rm -rf "$OUT/run_$1"
  load "nanovlm train --attention $1"
  timed "$OUT/time_cs_$1.json" dotnet "$CLI" train --data "$DATA/*.parquet" --out "$OUT/run_$1" --max-steps "$STEPS" --eval-interval 0 \
    --attention "$1" --log-every 10 "${workers[@]}" >&2
}
py_run() {  # $1 = autocast
  load "nanoVLM train step, autocast $1"
  timed "$OUT/time_py_$1.json" "$PY" tools/train_reference_bench.py --data "$DATA" --config "$OUT/run_document/config.json" \
    --steps "$PY_STEPS" --workers "$PY_WORKERS" --threads "$THREADS" --autocast "$1" --max-training-steps "$STEPS" \
    > "$OUT/py_$1.json" 2> "$OUT/py_$1.err"
}
cs_run document
for a in $AUTOCASTS; do py_run "$a"; done
cs_run nanovlm
load end

"$PY" - "$OUT" "$WARMUP" $AUTOCASTS <<'PY'
import json, os, sys
out, warm, autocasts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def cs(mode):
    rows = [json.loads(l) for l in open(f"{out}/run_{mode}/metrics.jsonl") if '"batch_loss"' in l]
    tok = [r["tokens_per_second"] * r["fw_bw_time"] for r in rows]
    return dict(name=f"nanovlm train --attention {mode}", steps=len(rows), t=[r["elapsed"] for r in rows], tokens=tok,
                positions=[t / (1 - r["padding_ratio"]) for t, r in zip(tok, rows)], data=[r["data_load_time"] for r in rows],
                compute=[r["fw_bw_time"] for r in rows], loss=[r["batch_loss"] for r in rows],
                time=json.load(open(f"{out}/time_cs_{mode}.json")))
def py(a):
    r = json.load(open(f"{out}/py_{a}.json"))
    return dict(name=f"nanoVLM train.py step, autocast {a}", steps=r["steps"], t=r["t"], tokens=r["tokens"], positions=r["positions"],
                data=r["data_load_time"], compute=[f + p for f, p in zip(r["fw_bw_time"], r["post_process_time"])], loss=r["loss"],
                time=json.load(open(f"{out}/time_py_{a}.json")))
def summary(s):
    k = slice(warm, None)
    wall = s["t"][-1] - s["t"][warm - 1]
    tok, pos, data, comp = sum(s["tokens"][k]), sum(s["positions"][k]), sum(s["data"][k]), sum(s["compute"][k])
    return dict(s, n=len(s["tokens"][k]), wall=wall, tok=tok, fill=tok / pos, tok_s=tok / wall, pos_s=pos / wall,
                pos_s_compute=pos / comp, data_share=data / wall, compute_share=comp / wall,
                step_s=wall / len(s["tokens"][k]), cpu=s["time"]["user_s"] + s["time"]["sys_s"])
sides = [summary(cs("document"))] + [summary(py(a)) for a in autocasts] + [summary(cs("nanovlm"))]
json.dump([{k: v for k, v in s.items() if not isinstance(v, list)} for s in sides], open(f"{out}/summary.json", "w"), indent=1)
print(f"\nsteps {warm + 1}.. of each run (first {warm} left out)\n")
print("| run | steps | s/step | real tok/s | fill (real/padded) | padded pos/s | padded pos/s in compute | data wait share | compute share | loss first→last | CPU s (whole run) | max RSS MB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
for s in sides:
    print(f"| {s['name']} | {s['n']} | {s['step_s']:.2f} | {s['tok_s']:.0f} | {s['fill']:.3f} | {s['pos_s']:.0f} | {s['pos_s_compute']:.0f} | "
          f"{100 * s['data_share']:.2f}% | {100 * s['compute_share']:.1f}% | {s['loss'][0]:.2f}→{s['loss'][-1]:.2f} | {s['cpu']:.0f} | {s['time']['max_rss_kb'] / 1024:.0f} |")
ours = sides[0]
print("\nratios, engine (document attention) / nanoVLM = fill ratio × padded-positions/s-in-compute ratio × compute-share ratio\n")
print("| vs | real tok/s | fill | kernel (pos/s in compute) | compute share | fill × compute share (kernel-neutral) |")
print("|---|---:|---:|---:|---:|---:|")
for s in sides[1:]:
    f, k, c = ours["fill"] / s["fill"], ours["pos_s_compute"] / s["pos_s_compute"], ours["compute_share"] / s["compute_share"]
    print(f"| {s['name']} | {ours['tok_s'] / s['tok_s']:.2f}× | {f:.2f}× | {k:.2f}× | {c:.2f}× | {f * c:.2f}× |")
PY
echo "raw: $OUT" >&2

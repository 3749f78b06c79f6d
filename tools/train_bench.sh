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

"$PY" tools/train_bench_summary.py "$OUT" "$WARMUP" $AUTOCASTS
echo "raw: $OUT" >&2

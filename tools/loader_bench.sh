#!/usr/bin/env bash
# The end-to-end loader benchmark: nanoVLM's Python DataLoader pipeline (tools/loader_reference_bench.py, its
# VQADataset + ConstantLengthDataset + VQACollator run with Debian's torch) against `nanovlm loader`, on the same
# rows: `nanovlm sample-data --format all` writes them once as parquet (read by .NET) and as JSONL + image files
# (read by Python, since Debian has no pyarrow). Batch size 2, lm_max_length 4096, 1 and 2 workers.
#
#   tools/loader_bench.sh                          # 2000 rows, 30 (Python) / 150 (.NET) batches, workers 1 and 2
#   ROWS=4000 BATCHES=60 WORKERS="1 2" tools/loader_bench.sh
#   DATA=/tmp/existing-sample-data tools/loader_bench.sh   # reuse a folder written by sample-data --format all
#
# Needs NANOVLM_DIR: a checkout of huggingface/nanoVLM at 4e0c096 (tools/nanovlm_reference/README.md).
# Env: ROWS (2000), SHARDS (4: streaming splits shards among workers, so >= 2 for a fair 2-worker run),
#      BATCHES (30 timed Python batches after WARMUP (1) batches), DOTNET_BATCHES (150: .NET's clock includes its
#      startup and first batch, so it runs longer to reach a steady rate), WORKERS ("1 2"), MODE (stream|map, nanoVLM default
#      stream), OUT (a temp dir: JSON results + the data unless DATA is given), PY (/usr/bin/python3),
#      BASELINE_CLI (another build's nanovlm.dll, e.g. of an earlier commit: run right before this build's loader for
#      each worker count, on the same data, as the "NanoVlm.NET (baseline)" rows), SKIP_PYTHON (1: .NET rows only).
# Prints each run's JSON line, then a markdown table (with .NET/Python ratios when `nanovlm loader` exists).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-2000}
SHARDS=${SHARDS:-4}
BATCHES=${BATCHES:-30}
DOTNET_BATCHES=${DOTNET_BATCHES:-150}
WARMUP=${WARMUP:-1}
WORKERS=${WORKERS:-"1 2"}
MODE=${MODE:-stream}
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
CLI=src/Cli/bin/Release/net10.0/nanovlm.dll

dotnet build src/Cli -c Release -v q -nologo >/dev/null
nanovlm() { dotnet "$CLI" "$@"; }

DATA=${DATA:-}
if [ -z "$DATA" ]; then
  DATA=$OUT/data
  nanovlm sample-data --out "$DATA" --rows "$ROWS" --shards "$SHARDS" --format all >&2
fi

# .NET side: `nanovlm loader --json` prints one (indented) JSON object on stdout; nanoVLM-compatible defaults
# (batch 2, 4096 tokens, window 32,768 tokens) are its defaults; it reads the parquet shards of DATA.
dotnet_has_loader() { nanovlm --help 2>/dev/null | grep -qE '^[[:space:]]+loader([[:space:]]|$)'; }
run_dotnet_loader() {  # $1 = workers, $2 = result file
  nanovlm loader --data "$DATA" --batches "$DOTNET_BATCHES" --workers "$1" --json > "$2"
}
# ---------------------------------------------------------------------------------------------------------------

BASELINE_CLI=${BASELINE_CLI:-}
export SKIP_PYTHON=${SKIP_PYTHON:-0}
for w in $WORKERS; do
  [ "$SKIP_PYTHON" = 1 ] && break
  echo "python nanoVLM reference, workers=$w ..." >&2
  "$PY" tools/loader_reference_bench.py --data "$DATA" --workers "$w" --batches "$BATCHES" --warmup "$WARMUP" \
    --mode "$MODE" > "$OUT/python_w$w.json"
  cat "$OUT/python_w$w.json"
done

HAVE_DOTNET=0
if dotnet_has_loader; then
  HAVE_DOTNET=1
  for w in $WORKERS; do
    if [ -n "$BASELINE_CLI" ]; then
      echo "nanovlm loader (baseline $BASELINE_CLI), workers=$w ..." >&2
      dotnet "$BASELINE_CLI" loader --data "$DATA" --batches "$DOTNET_BATCHES" --workers "$w" --json > "$OUT/baseline_w$w.json"
      cat "$OUT/baseline_w$w.json"
    fi
    echo "nanovlm loader, workers=$w ..." >&2
    run_dotnet_loader "$w" "$OUT/dotnet_w$w.json"
    cat "$OUT/dotnet_w$w.json"
  done
fi

"$PY" - "$OUT" "$HAVE_DOTNET" $WORKERS <<'PY'
import json, os, sys
out, have_dotnet, workers = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
def load(name):
    p = os.path.join(out, name)
    return json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) else None
def pick(d, *names):
    for n in names:
        if d is not None and d.get(n) is not None:
            return d[n]
    return None
def f(x, spec):
    return "" if x is None else format(x, spec)
print()
print("| impl | workers | batches | samples | seconds | samples/s | tokens/s | images/s | fill | .NET / Python samples/s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
rows = []
for w in workers:
    p = load(f"python_w{w}.json")
    rows.append(("nanoVLM Python", w, p, None))
    if have_dotnet:
        d = load(f"dotnet_w{w}.json")
        ratio = None
        if d is not None and p and p.get("samples_per_s") and pick(d, "samples_per_s") is not None:
            ratio = pick(d, "samples_per_s") / p["samples_per_s"]
        b = load(f"baseline_w{w}.json")
        if b is not None:
            bratio = pick(b, "samples_per_s") / p["samples_per_s"] if p and p.get("samples_per_s") else None
            rows.append(("NanoVlm.NET (baseline)", w, b, bratio))
        rows.append(("NanoVlm.NET", w, d, ratio))
for impl, w, r, ratio in rows:
    if r is None and impl == "nanoVLM Python" and os.environ.get("SKIP_PYTHON") == "1":
        continue
    if r is None:
        print(f"| {impl} | {w} | (no result) | | | | | | | |"); continue
    print(f"| {impl} | {w} | {pick(r, 'batches')} | {pick(r, 'samples', 'samples_emitted')} | {f(pick(r, 'seconds'), '.2f')} | "
          f"{f(pick(r, 'samples_per_s'), ',.2f')} | {f(pick(r, 'tokens_per_s'), ',.0f')} | {f(pick(r, 'images_per_s'), ',.2f')} | "
          f"{f(pick(r, 'fill', 'real_token_fill', 'fill_real'), '.3f')} | {'' if ratio is None else f'{ratio:,.1f}x'} |")
p1 = load(f"python_w{workers[0]}.json") if workers else None
if len(workers) > 1 and p1 and p1.get("samples_per_s"):
    for w in workers[1:]:
        pw = load(f"python_w{w}.json")
        if pw and pw.get("samples_per_s"):
            print(f"\nPython scaling {workers[0]} -> {w} workers: {pw['samples_per_s'] / p1['samples_per_s']:.2f}x")
if not have_dotnet:
    print("\n.NET side missing: this CLI has no `nanovlm loader` command yet (branch `pipeline`); only the Python rows are shown.")
PY
echo "results in $OUT" >&2

#!/usr/bin/env bash
# Side by side on the same items, in the same run: nanoVLM's knapsack in Python (tools/knapsack_reference.py, the
# algorithm verbatim) against `nanovlm pack`. Items are the CLI's built-in FineVision-like shapes, written once
# with --write-items and read by both. Checks that the compat groups are identical, then prints a markdown table.
#   tools/packing_bench.sh                 # sizes 1000 8192 32768
#   SIZES="1000 8192" tools/packing_bench.sh
#   OUT=/tmp/pb SIZES="1000 8192 32768 131072" tools/packing_bench.sh   # keep the JSON files; 131072 takes minutes in Python
# plan_seconds is planning time only, measured inside each process (Python: time.perf_counter around the knapsack;
# .NET: Stopwatch around Plan, first call of the process, so JIT is included). Warm .NET numbers: BenchmarkDotNet.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
SIZES=${SIZES:-"1000 8192 32768"}
SEED=${SEED:-0}
WINDOW=32768
dotnet build src/Cli -c Release -v q -nologo >/dev/null
nanovlm() { dotnet src/Cli/bin/Release/net10.0/nanovlm.dll "$@" >/dev/null; }

for n in $SIZES; do
  items=$OUT/items_$n.json
  nanovlm pack --synthetic-items "$n" --seed "$SEED" --write-items "$items" --out "$OUT/tmp.json"
  python3 tools/knapsack_reference.py plan "$items" 4096 18 5 "$SEED" "$OUT/py_plan_$n.json" >/dev/null
  nanovlm pack --items "$items" --planner nanovlm --seed "$SEED" --out "$OUT/cs_nanovlm_$n.json"
  nanovlm pack --items "$items" --planner bfd --seed "$SEED" --out "$OUT/cs_bfd_$n.json"
  python3 tools/knapsack_reference.py stream "$items" 4096 18 5 $WINDOW "$SEED" "$OUT/py_stream_$n.json" >/dev/null
  nanovlm pack --items "$items" --planner nanovlm --window-tokens $WINDOW --seed "$SEED" --out "$OUT/cs_stream_nanovlm_$n.json"
  nanovlm pack --items "$items" --planner bfd --window-tokens $WINDOW --seed "$SEED" --out "$OUT/cs_stream_bfd_$n.json"
done

python3 - "$OUT" $SIZES <<'PY'
import json, sys
out, sizes = sys.argv[1], sys.argv[2:]
load = lambda name: json.load(open(f"{out}/{name}"))
fmt = lambda r: f"{r:,.0f}x" if r >= 10 else f"{r:.2f}x"
print("| items | mode | packs | lower bound | fill | plan s (Python) | plan s (.NET, cold CLI) | speed-up | groups == Python |")
print("|---:|---|---:|---:|---:|---:|---:|---:|:---:|")
for n in sizes:
    rows = [("offline, nanoVLM knapsack", "py_plan", "cs_nanovlm"), ("offline, bfd (ours)", None, "cs_bfd"),
            ("stream 32768, nanoVLM", "py_stream", "cs_stream_nanovlm"), ("stream 32768, bfd + carry (ours)", None, "cs_stream_bfd")]
    for label, py, cs in rows:
        c = load(f"{cs}_{n}.json"); s = c["stats"]
        if py:
            p = load(f"{py}_{n}.json"); ps = p["stats"]
            same = "yes" if p["groups"] == c["groups"] else "NO"
            if same == "NO": print(f"MISMATCH at {n} {label}", file=sys.stderr)
            speed = fmt(ps['plan_seconds'] / max(s['plan_seconds'], 1e-9))
            pyt = f"{ps['plan_seconds']:.4f}"
        else:
            same, speed = "n/a", ""
            base = load(f"{'py_plan' if 'offline' in label else 'py_stream'}_{n}.json")["stats"]
            pyt = ""
            speed = fmt(base['plan_seconds'] / max(s['plan_seconds'], 1e-9)) + " (vs Python nanoVLM)"
        print(f"| {n} | {label} | {s['packs']} | {s['lower_bound']} | {s['fill']:.4f} | {pyt} | {s['plan_seconds']:.4f} | {speed} | {same} |")
PY

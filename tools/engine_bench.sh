#!/usr/bin/env bash
# Side by side, in one invocation on the same machine: nanoVLM's own model code (tools/engine_reference/engine_bench.py,
# Debian's python3-torch 1.13 through nanovlm_shim.py) against NanoVlm.Engine (the engine-harness mode of
# bench/NanoVlm.Benchmarks, TorchSharp-cpu 0.107 = libtorch 2.10), alternating runs, same configuration, same batch
# shapes, same libtorch thread count. Then the overhead runs (tiny config, every width minimal, same op graph) and a
# 1,000-step soak of the engine (managed heap after a full GC and RSS every 100 steps). Prints a markdown summary;
# raw JSON lines stay in $OUT.
#   NANOVLM_DIR=/tmp/nanovlm tools/engine_bench.sh
#   REPS=5 THREADS=2 OUT=/tmp/eb tools/engine_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NANOVLM_DIR:?set NANOVLM_DIR to a folder with the nanoVLM models/ (see tools/engine_reference/README.md)}"
OUT=${OUT:-$(mktemp -d)}
REPS=${REPS:-3}            # alternating runs per side of the small config
THREADS=${THREADS:-2}      # libtorch intra-op threads on both sides
STEPS=${STEPS:-4}          # timed training steps per run (after WARMUP)
WARMUP=${WARMUP:-1}
GEN=${GEN:-64}             # greedy new tokens after the 1,024-token prompt
TINY_REPS=${TINY_REPS:-3}
SOAK=${SOAK:-1000}
mkdir -p "$OUT"
dotnet build bench/NanoVlm.Benchmarks -c Release -v q -nologo >/dev/null
cs() { dotnet bench/NanoVlm.Benchmarks/bin/Release/net10.0/NanoVlm.Benchmarks.dll engine-harness "$@"; }
py() { /usr/bin/python3 tools/engine_reference/engine_bench.py --nanovlm "$NANOVLM_DIR" "$@"; }

{ echo "date: $(date -u +%FT%TZ)"; lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Flags)'; dotnet --version;
  /usr/bin/python3 -c 'import torch; print("python torch", torch.__version__)'; } > "$OUT/machine.txt"
: > "$OUT/small.jsonl"; : > "$OUT/tiny.jsonl"; : > "$OUT/load.txt"
for r in $(seq "$REPS"); do
  echo "small rep $r $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2
  py --config small --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP" --gen-tokens "$GEN" --gen-reps 1 >> "$OUT/small.jsonl"
  cs step --config small --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP" --gen-tokens "$GEN" --gen-reps 1 >> "$OUT/small.jsonl"
done
# Overhead: the tiny config (kernel time ~0) at 1 thread (per-op dispatch is single-threaded; with 2 threads on a
# loaded 2-core VM, OpenMP barriers make tiny ops wait for descheduled workers), and the small config at 1 thread to
# relate it to.
for r in $(seq "$TINY_REPS"); do
  echo "tiny rep $r $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2
  py --config tiny --threads 1 --steps 30 --warmup 5 --gen-tokens "$GEN" --gen-reps 3 >> "$OUT/tiny.jsonl"
  cs step --config tiny --threads 1 --steps 30 --warmup 5 --gen-tokens "$GEN" --gen-reps 3 >> "$OUT/tiny.jsonl"
done
echo "small 1-thread $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2
cs step --config small --threads 1 --steps "$STEPS" --warmup "$WARMUP" --gen-tokens "$GEN" --gen-reps 1 >> "$OUT/small1.jsonl"
echo "soak $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2
cs soak --threads 1 --steps "$SOAK" --every 100 > "$OUT/soak.json" 2>/dev/null
echo "end $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2

/usr/bin/python3 - "$OUT" <<'PY'
import json, statistics as st, sys
out = sys.argv[1]
rows = lambda f: [json.loads(l) for l in open(f"{out}/{f}") if l.strip()]
med = lambda xs: st.median(xs)
join_medians = lambda v: ", ".join(str(round(r["step_ms_median"])) for r in v)
def table(name, rs):
    print(f"\n### {name}\n")
    print("| side | threads | runs | step ms (median of run medians) | step CPU ms | run medians | gen tok/s (64 incl. prefill) | decode tok/s | prefill+1 s |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    sides = {}
    for r in rs: sides.setdefault(r["side"], []).append(r)
    for side, v in sides.items():
        print(f"| {side} | {v[0]['threads']} | {len(v)} | {med([r['step_ms_median'] for r in v]):.1f} | "
              f"{med([r['step_cpu_ms_median'] for r in v]):.1f} | {join_medians(v)} | "
              f"{med([r['gen_tok_per_s'] for r in v]):.2f} | {med([r['decode_tok_per_s'] or 0 for r in v]):.2f} | "
              f"{med([med(r['prefill_1tok_s']) for r in v]):.3f} |")
    return {s: med([r["step_ms_median"] for r in v]) for s, v in sides.items()}
small = table("small config", rows("small.jsonl"))
tiny = table("tiny config (overhead)", rows("tiny.jsonl"))
small1 = table("small config, engine, 1 thread", rows("small1.jsonl"))
py_s, cs_s = small.get("nanoVLM (python)"), small.get("NanoVlm.Engine (C#)")
if py_s and cs_s: print(f"\nsmall step speed-up (python / C#): {py_s / cs_s:.2f}x")
cs_t, cs_1 = tiny.get("NanoVlm.Engine (C#)"), small1.get("NanoVlm.Engine (C#)")
if cs_t and cs_1: print(f"engine tiny step / small step (1 thread): {100 * cs_t / cs_1:.2f}%")
if cs_t and cs_s: print(f"engine tiny step (1 thread) / small step (same threads as above): {100 * cs_t / cs_s:.2f}%")
soak = json.load(open(f"{out}/soak.json"))
print("\n### soak (tiny, 1 thread)\n\n| step | managed heap KB | RSS MB | gen0 GCs | s |\n|---:|---:|---:|---:|---:|")
for s in soak["samples"]:
    print(f"| {s['step']} | {s['managed_bytes'] / 1024:.1f} | {s['rss_bytes'] / 2**20:.1f} | {s['gen0']} | {s['seconds']} |")
PY
echo "raw: $OUT" >&2

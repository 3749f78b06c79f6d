#!/usr/bin/env bash
# Issue 5's soak benchmark (not a test): `nanovlm loader` streams batches for DURATION seconds over the sample data
# repeated forever (--epochs 0), printing a progress line every EVERY seconds (managed heap without the pinned slab
# pool, the pinned heap, RSS). Then it checks that heap and RSS stay flat: after the warm-up (the first
# WARMUP_FRACTION of the run), the mean of the last quarter of the samples must lie within TOLERANCE (5%) of the mean
# of the first quarter (a leak shows as drift; single samples swing with the GC's timing and are shown as a range).
# Exit code 1 when they do not.
#
#   tools/loader_soak.sh                                # 20 minutes, 2 workers, 2000-row sample data
#   DURATION=300 EVERY=10 tools/loader_soak.sh          # a 5-minute smoke run
#
# Env: DURATION (1200 s), EVERY (30 s), WORKERS (2), ROWS (2000), DATA (a folder to read instead of the sample data),
#      WARMUP_FRACTION (0.2), TOLERANCE (0.05), OUT (a temp dir: progress log + final JSON), PY (/usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-1200}
EVERY=${EVERY:-30}
WORKERS=${WORKERS:-2}
ROWS=${ROWS:-2000}
WARMUP_FRACTION=${WARMUP_FRACTION:-0.2}
TOLERANCE=${TOLERANCE:-0.05}
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
CLI=src/Cli/bin/Release/net10.0/nanovlm.dll

dotnet build src/Cli -c Release -v q -nologo >/dev/null
DATA=${DATA:-}
if [ -z "$DATA" ]; then
  DATA=$OUT/data
  dotnet "$CLI" sample-data --out "$DATA" --rows "$ROWS" --shards 4 >&2
fi

echo "soak: $DURATION s, workers $WORKERS, data $DATA, progress every $EVERY s (log: $OUT/progress.log)" >&2
dotnet "$CLI" loader --data "$DATA" --epochs 0 --seconds "$DURATION" --progress-every "$EVERY" --workers "$WORKERS" \
  --json > "$OUT/result.json" 2> >(tee "$OUT/progress.log" >&2)
sleep 1 # let tee flush

"$PY" - "$OUT" "$DURATION" "$WARMUP_FRACTION" "$TOLERANCE" <<'PY'
import json, re, sys
out, duration, warm_frac, tol = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = []
for line in open(f"{out}/progress.log"):
    if line.startswith("progress:"):
        rows.append({k: float(v.rstrip("s")) for k, v in re.findall(r"(\w+)=([0-9.]+s?)", line)})
if len(rows) < 4:
    sys.exit(f"soak: only {len(rows)} progress samples; run longer or sample more often")
warm = [r for r in rows if r["t"] <= duration * warm_frac] or rows[:1]
steady = [r for r in rows if r["t"] > warm[-1]["t"]]
result = json.load(open(f"{out}/result.json"))
print("| t s | batches | samples/s | fill | heap MB | pinned MB | RSS MB |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['t']:.0f} | {r['batches']:.0f} | {r['samples_per_s']:.1f} | {r['fill']:.4f} | {r['heap_mb']:.1f} | {r['pinned_mb']:.0f} | {r['rss_mb']:.1f} |")
ok = True
q = max(1, len(steady) // 4)
for key, name in (("heap_mb", "managed heap"), ("rss_mb", "RSS")):
    if len(steady) < 4:
        sys.exit("soak: fewer than 4 samples after the warm-up; run longer or sample more often")
    first = sum(r[key] for r in steady[:q]) / q
    last = sum(r[key] for r in steady[-q:]) / q
    drift = (last - first) / first
    lo, hi = min(r[key] for r in steady), max(r[key] for r in steady)
    verdict = "flat" if abs(drift) <= tol else "NOT flat"
    ok &= abs(drift) <= tol
    print(f"\n{name}: mean of the first {q} samples after warm-up {first:.1f} MB, of the last {q} {last:.1f} MB: "
          f"drift {drift:+.1%} -> {verdict} (tolerance {tol:.0%}); range {lo:.1f}..{hi:.1f} MB over {len(steady)} samples")
print(f"\nrun: {result['batches']} batches in {result['seconds']:.0f} s, {result['samples_per_s']} samples/s, "
      f"fill {result['fill']}, {result['managed_bytes_allocated_per_batch']} managed bytes allocated per batch")
sys.exit(0 if ok else 1)
PY

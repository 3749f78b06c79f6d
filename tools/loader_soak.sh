#!/usr/bin/env bash
# Issue 5's soak benchmark (not a test): `nanovlm loader` streams batches for DURATION seconds over the sample data
# repeated forever (--epochs 0), printing a progress line every EVERY seconds (managed heap without the pinned slab
# pool, the pinned heap, and RSS); then
# this script checks that both stay flat: every sample after the warm-up (the first WARMUP_FRACTION of the run)
# lies within TOLERANCE (5%) of the warm-up's last sample. Exit code 1 when they do not.
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
base, steady = warm[-1], [r for r in rows if r["t"] > warm[-1]["t"]]
result = json.load(open(f"{out}/result.json"))
print("| t s | batches | samples/s | fill | heap MB | pinned MB | RSS MB |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['t']:.0f} | {r['batches']:.0f} | {r['samples_per_s']:.1f} | {r['fill']:.4f} | {r['heap_mb']:.1f} | {r['pinned_mb']:.0f} | {r['rss_mb']:.1f} |")
ok = True
for key, name in (("heap_mb", "managed heap"), ("rss_mb", "RSS")):
    dev = max(abs(r[key] - base[key]) / base[key] for r in steady) if steady else 0.0
    top = max(r[key] for r in steady) if steady else base[key]
    verdict = "flat" if dev <= tol else "NOT flat"
    ok &= dev <= tol
    print(f"\n{name}: {base[key]:.1f} MB after warm-up (t={base['t']:.0f} s), max {top:.1f} MB, "
          f"max deviation {dev:.1%} over {len(steady)} samples -> {verdict} (tolerance {tol:.0%})")
print(f"\nrun: {result['batches']} batches in {result['seconds']:.0f} s, {result['samples_per_s']} samples/s, "
      f"fill {result['fill']}, {result['managed_bytes_allocated_per_batch']} managed bytes allocated per batch")
sys.exit(0 if ok else 1)
PY

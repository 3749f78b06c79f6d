#!/usr/bin/env bash
# Side-by-side throughput of nanoVLM's Python image path and `nanovlm preprocess --bench` on the SAME photo-like
# JPEGs in the SAME run, plus an output-identity check. Writes a markdown table on stdout (perf-reports/images.md).
#
#   tools/images_bench.sh [WORKDIR]          (default /tmp/nanovlm-images-bench)
#   env: COUNT=40 (photos)  ROUNDS=2 (interleaved rounds; best of rounds is reported, every round is printed)
#        THREADS=$(nproc) (the "all cores" column)  SKIP_BUILD=1 (use the existing Release build)
#
# Reference: /usr/bin/python3 with Debian's Pillow 9.4 + torch 1.13 / torchvision 0.14
#   (sudo apt-get install -y python3-pil python3-numpy python3-torch python3-torchvision).
# Both sides read every file into memory first, run one untimed warm-up image, then time decode + DynamicResize +
# ToTensor/tiles + global tile for every image without writing. Python "all cores" = N worker processes
# (DataLoader-style, torch 1 thread each); ours = N threads in one process.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/nanovlm-images-bench}
COUNT=${COUNT:-40}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-$(nproc)}
PY=/usr/bin/python3
REF="$ROOT/tools/images_reference_bench.py"
DLL="$ROOT/src/Cli/bin/Release/net10.0/nanovlm.dll"

"$PY" -c "import PIL, numpy, torch, torchvision" 2>/dev/null || {
  echo "need Debian's python3-pil python3-numpy python3-torch python3-torchvision for $PY" >&2; exit 2; }
if [[ -z "${SKIP_BUILD:-}" || ! -f "$DLL" ]]; then
  dotnet build "$ROOT/src/Cli/nanovlm.csproj" -c Release -warnaserror -v q -nologo >&2
fi
nanovlm() { dotnet "$DLL" "$@"; }

mkdir -p "$WORK"
[[ -d "$WORK/photos" ]] || "$PY" "$REF" generate "$WORK/photos" --count "$COUNT" >&2
[[ -d "$WORK/small" ]] || "$PY" "$REF" generate "$WORK/small" --count 10 --small >&2
mapfile -t PHOTOS < <(ls "$WORK"/photos/*.jpg)
mapfile -t SMALL < <(ls "$WORK"/small/*.jpg)

# 1. Identical output on a few photos (landscape and portrait, up- and downscaled): Python-written reference .npy vs ours.
CHECK=("${PHOTOS[0]}" "${PHOTOS[5]}" "${PHOTOS[9]}" "${PHOTOS[$(( ${#PHOTOS[@]} > 19 ? 19 : ${#PHOTOS[@]} - 1 ))]}")
rm -rf "$WORK/ref" "$WORK/ours"
"$PY" "$REF" files "${CHECK[@]}" --write-ref "$WORK/ref" > /dev/null
nanovlm preprocess "${CHECK[@]}" --out "$WORK/ours" > /dev/null
IDENTITY=$("$PY" "$REF" compare "$WORK/ref" "$WORK/ours")
echo "$IDENTITY" >&2

# 2. Throughput, interleaved so that the machine's background load hits both sides alike.
RESULTS="$WORK/results.tsv"
: > "$RESULTS"
# Each result line: the JSON object, a tab, then the "cpu_seconds X" line when the tool printed one.
last() { local out; out=$(cat); printf '%s\t%s' "$(tail -n 1 <<< "$out")" "$(grep -m1 '^cpu_seconds' <<< "$out" | cut -d' ' -f2)"; }
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS" >&2
  printf 'python_1\t%s\n' "$("$PY" "$REF" files "${PHOTOS[@]}" --processes 1 | last)" >> "$RESULTS"
  printf 'ours_1\t%s\n' "$(nanovlm preprocess "${PHOTOS[@]}" --bench --threads 1 | last)" >> "$RESULTS"
  printf 'python_n\t%s\n' "$("$PY" "$REF" files "${PHOTOS[@]}" --processes "$THREADS" | last)" >> "$RESULTS"
  printf 'ours_n\t%s\n' "$(nanovlm preprocess "${PHOTOS[@]}" --bench --threads "$THREADS" | last)" >> "$RESULTS"
done
SMALL_OPTS=(--split-size 16 --max-img-size 48 --threads 1)
printf 'ilgpu_small\t%s\n' "$(nanovlm preprocess "${SMALL[@]}" --bench --backend ilgpu "${SMALL_OPTS[@]}" | last)" >> "$RESULTS"
printf 'simd_small\t%s\n' "$(nanovlm preprocess "${SMALL[@]}" --bench --backend simd "${SMALL_OPTS[@]}" | last)" >> "$RESULTS"

# 3. The table.
"$PY" - "$RESULTS" "$THREADS" "${#PHOTOS[@]}" "$IDENTITY" <<'EOF'
import json, sys
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    k, v, cpu = (line.rstrip("\n").split("\t") + [""])[:3]
    r = json.loads(v)
    r["cpu_seconds"] = float(cpu) if cpu else None
    rows[k].append(r)
n, photos = sys.argv[2], sys.argv[3]
ident_lines = sys.argv[4].strip().splitlines()
ident = json.loads(ident_lines[-1])
best = {k: max(v, key=lambda r: r["images_per_s"]) for k, v in rows.items()}
def rate(k): return best[k]["images_per_s"]
def all_rounds(k): return ", ".join(f'{r["images_per_s"]:.2f}' for r in rows[k])
print(f"{photos} photo-like JPEGs (640x480 .. 4032x3024, landscape and portrait) -> nanoVLM defaults (max side 2048, split 512).")
print(f"Identity on {ident['compared']} of them: resized bytes equal, tiles max |diff| {ident['tiles_max_abs_diff']:g}, "
      f"global max |diff| {ident['global_max_abs_diff']:g}:\n")
for l in ident_lines[:-1]:
    print(f"- {l}")
print()
def per_round(a, b): return ", ".join(f'{x["images_per_s"] / y["images_per_s"]:.1f}x' for x, y in zip(rows[a], rows[b]))
print("| path | threads | images/s (best) | every round | vs Python (best / best) | vs Python, per round |")
print("|---|---:|---:|---|---:|---|")
print(f"| nanoVLM Python (Pillow + torchvision) | 1 | {rate('python_1'):.2f} | {all_rounds('python_1')} | 1.0x | |")
print(f"| nanovlm preprocess --bench (SIMD) | 1 | {rate('ours_1'):.2f} | {all_rounds('ours_1')} | **{rate('ours_1') / rate('python_1'):.1f}x** | {per_round('ours_1', 'python_1')} |")
print(f"| nanoVLM Python, {n} processes | {n} | {rate('python_n'):.2f} | {all_rounds('python_n')} | 1.0x | |")
print(f"| nanovlm preprocess --bench (SIMD), {n} threads | {n} | {rate('ours_n'):.2f} | {all_rounds('ours_n')} | **{rate('ours_n') / rate('python_n'):.1f}x** | {per_round('ours_n', 'python_n')} |")
def cpu_rates(k): return [r["images"] / r["cpu_seconds"] for r in rows[k] if r["cpu_seconds"]]
if cpu_rates("python_1") and cpu_rates("ours_1"):
    p, o = max(cpu_rates("python_1")), max(cpu_rates("ours_1"))
    print(f"\nSingle thread per CPU-second (process user+sys in the timed region, less sensitive to other load): "
          f"Python {p:.2f} images/CPU-s (rounds: {', '.join(f'{x:.2f}' for x in cpu_rates('python_1'))}), "
          f"ours {o:.2f} images/CPU-s (rounds: {', '.join(f'{x:.2f}' for x in cpu_rates('ours_1'))}): **{o / p:.1f}x**.")
print(f"\nSmall images (64x48 .. 100x30, --split-size 16 --max-img-size 48, 1 thread): ILGPU CPU accelerator "
      f"{rate('ilgpu_small'):.2f} images/s vs SIMD {rate('simd_small'):.1f} images/s (the CPU accelerator is an emulator, for correctness only).")
EOF

#!/usr/bin/env bash
# Clean-room check: build and run the README's first command as a new user would on a fresh Debian 12 /
# Ubuntu 22.04 with nothing but the .NET SDK:
#   - a fresh copy of the working tree (tracked and untracked, not ignored files; no bin/ or obj/), so the
#     TorchSharp libstdc++ fix (build/glibcxx) really runs;
#   - patchelf and the C/C++ compilers hidden from PATH: PATH is one folder of links to every other command;
#   - the TurboJPEG library absent: in a private mount namespace (unshare), every libturbojpeg.so* that
#     ld.so.cache lists is covered by an empty file, so dlopen fails as if libturbojpeg0 were not installed.
#     LD_LIBRARY_PATH cannot hide a library the dynamic linker finds through ld.so.cache, and
#     NANOVLM_JPEG_DECODER=skia would only choose the other decoder while the library stays loadable.
# Then: `dotnet run --project src/Cli -c Release -- train` (the README's first command: the tiny preset on the built-in
# data, in a fresh temp folder for the sample data) must exit 0 and write its last checkpoint, and the CLI's output
# folder must hold TorchSharp's library patched exactly as the build says (or untouched where not needed).
#
# Usage: tools/clean_room_check.sh [--tests]
#   --tests  also run, in the same clean room, the Engine tests (TorchSharp loads from the patched copy, runs an op,
#            libtorch prints through std::cout/std::cerr) and the Loader's image tests (TurboJPEG ones: skipped).
# Needs root or unprivileged user namespaces (unshare --mount, else unshare --map-root-user --mount).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
with_tests=0
[ "${1:-}" = "--tests" ] && with_tests=1

if [ "${NANOVLM_CLEAN_ROOM_INNER:-}" != 1 ]; then
  work="$(mktemp -d /tmp/nanovlm-clean-room.XXXXXX)"
  echo "clean room: copying the working tree of $repo to $work/repo"
  mkdir -p "$work/repo" "$work/bin"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -xf - -C "$work/repo"

  # PATH without patchelf and compilers: links to the first of every other command name on PATH.
  hidden='^(patchelf|cc|c\+\+|cpp|(x86_64-linux-gnu-)?(g\+\+|gcc|c\+\+|cpp)(-[0-9.]+)?|clang.*)$'
  IFS=: read -ra dirs <<< "$PATH"
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      name="${f##*/}"
      [ -x "$f" ] && [ ! -d "$f" ] && [ ! -e "$work/bin/$name" ] || continue
      [[ "$name" =~ $hidden ]] && continue
      ln -s "$f" "$work/bin/$name"
    done
  done
  : > "$work/empty"

  export NANOVLM_CLEAN_ROOM_INNER=1 NANOVLM_CLEAN_ROOM_WORK="$work" NANOVLM_CLEAN_ROOM_TESTS="$with_tests"
  self="$work/repo/tools/clean_room_check.sh"
  set +e
  if unshare --mount --propagation private true 2>/dev/null; then
    unshare --mount --propagation private env PATH="$work/bin" bash "$self"
  elif unshare --map-root-user --mount true 2>/dev/null; then
    unshare --map-root-user --mount env PATH="$work/bin" bash "$self"
  else
    echo "clean room: FAILED: cannot create a mount namespace (needs root or unprivileged user namespaces)" >&2
    exit 2
  fi
  rc=$?
  rm -rf "$work"
  exit $rc
fi

# ---- inside the mount namespace, PATH without compilers ----
work="$NANOVLM_CLEAN_ROOM_WORK"
cd "$work/repo"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
fail() { echo "clean room: FAILED: $*" >&2; exit 1; }

for f in $(ldconfig -p 2>/dev/null | sed -n 's/.*libturbojpeg\.so.* => //p' | sort -u); do
  mount --bind "$work/empty" "$(readlink -f "$f")"
done
for lib in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
  for f in "$lib"/libturbojpeg.so*; do
    [ -e "$f" ] || continue
    [ -s "$f" ] && fail "$f is still a loadable file"
  done
done
for tool in patchelf g++ gcc cc c++; do
  command -v "$tool" >/dev/null && fail "$tool is still on PATH"
done
echo "clean room: no patchelf, g++, gcc, cc, c++ on PATH; libturbojpeg.so* covered by empty files; fresh tree without bin/obj"
echo "clean room: libstdc++: $(ls -l /usr/lib/x86_64-linux-gnu/libstdc++.so.6 | sed 's/.*-> //')"
echo
echo '$ dotnet run --project src/Cli -c Release -- train'
set +e
# A private temp folder: the sample data is generated here as on a fresh machine, not taken from an earlier run's cache.
mkdir -p "$work/tmp"
TMPDIR="$work/tmp" dotnet run --project src/Cli -c Release -- train 2>&1 | tee "$work/train.out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || fail "the README's first command exited with $rc"
grep -q '^done: 300 steps' "$work/train.out" || fail "train did not report 300 steps"
grep -q 'step_300' "$work/train.out" || fail "train wrote no step_300 checkpoint"

# The CLI's output folder: TorchSharp's library is the package's file with at most its one flag byte changed.
native="src/Cli/bin/Release/net10.0/runtimes/linux-x64/native/libLibTorchSharp.so"
version="$(sed -n 's/.*Include="TorchSharp" Version="\([^"]*\)".*/\1/p' Directory.Packages.props)"
package="${NUGET_PACKAGES:-$HOME/.nuget/packages}/torchsharp/$version/runtimes/linux-x64/native/libLibTorchSharp.so"
[ -f "$native" ] || fail "$native is missing"
state="$(cat src/Cli/obj/Release/net10.0/nanovlm-glibcxx-fix/state-auto.txt 2>/dev/null || echo none)"
changed="$({ cmp -l "$package" "$native" || true; } | wc -l)"
echo
echo "clean room: build's libstdc++ fix: $state; $native differs from the package's file in $changed byte(s)"
case "$state" in
  patched) [ "$changed" = 1 ] || fail "expected exactly one changed byte (the VER_FLG_WEAK flag)";;
  *) [ "$changed" = 0 ] || fail "expected the package's file unchanged";;
esac

if [ "${NANOVLM_CLEAN_ROOM_TESTS:-0}" = 1 ]; then
  set +e
  echo
  echo '$ dotnet test tests/NanoVlm.Engine.Tests -c Release'
  dotnet test tests/NanoVlm.Engine.Tests -c Release 2>&1 | tail -n 3
  [ "${PIPESTATUS[0]}" = 0 ] || fail "Engine tests failed"
  echo '$ dotnet test tests/NanoVlm.Loader.Tests -c Release --filter FullyQualifiedName~NanoVlm.Loader.Tests.Images'
  dotnet test tests/NanoVlm.Loader.Tests -c Release --filter FullyQualifiedName~NanoVlm.Loader.Tests.Images 2>&1 | tail -n 3
  [ "${PIPESTATUS[0]}" = 0 ] || fail "Loader image tests failed"
fi
echo
echo "clean room: PASSED"

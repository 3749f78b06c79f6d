#!/usr/bin/env bash
# The GPU check of the NCCL gradient all-reduce (tools/gpu/NcclCheck). Two steps, because TorchSharp's CUDA packages
# (TorchSharp-cuda-linux, ~4 GB with libtorch) must come from a NuGet source that serves them:
#
#   tools/gpu/nccl_check.sh publish DIR        # where TorchSharp-cuda-linux restores: a self-contained CUDA build in DIR
#   tools/gpu/nccl_check.sh run DIR [ELEMENTS] # on the GPU machine (DIR copied there): the checks, then a report
#   tools/gpu/nccl_check.sh dry-run            # here, without a GPU: the same program on the CPU (host collective)
#
# `run` reports, before the program's own checks: the GPUs; whether DIR's libtorch_cuda.so exports NCCL's C API (it
# links NCCL statically in PyTorch's libtorch downloads) or needs a libnccl.so.2; the libnccl.so.2 the loader would
# find. The program then says which file its ncclAllReduce came from. With a system libnccl.so.2 present it runs a
# second time with NANOVLM_NCCL_LIBRARY pointing at it, so both sources are checked.
# Exit code: the program's (0 all passed, 1 a check failed, 2 no CUDA).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-}
case "$mode" in
publish)
    out=${2:?usage: nccl_check.sh publish DIR}
    dotnet publish "$here/NcclCheck/NcclCheck.csproj" -c Release -r linux-x64 --self-contained -p:TorchBackend=cuda -o "$out"
    ;;
dry-run)
    dotnet build "$here/NcclCheck/NcclCheck.csproj" -c Release -warnaserror -v q
    dotnet "$here/NcclCheck/bin/Release/net10.0/NcclCheck.dll" "${2:-20000000}" --cpu
    ;;
run)
    dir=$(cd "${2:?usage: nccl_check.sh run DIR [ELEMENTS]}" && pwd)
    elements=${3:-460000000}
    echo "== GPUs"; nvidia-smi -L || true
    echo "== libtorch_cuda.so in $dir"
    lib=$(find "$dir" -name libtorch_cuda.so | head -1)
    if [ -n "$lib" ]; then
        if command -v nm >/dev/null; then
            n=$(nm -D --defined-only "$lib" | grep -c ' T nccl' || true)
            echo "exported nccl* functions: $n"
            for f in ncclGetVersion ncclGetUniqueId ncclCommInitRank ncclAllReduce ncclCommDestroy ncclCommAbort ncclCommGetAsyncError ncclGetErrorString; do
                nm -D --defined-only "$lib" | grep -q " T $f\$" && echo "  $f: exported" || echo "  $f: NOT exported"
            done
        else
            echo "(nm not installed: binutils)"
        fi
        echo "needs: $(readelf -d "$lib" 2>/dev/null | grep -o 'libnccl[^]]*' || echo 'no libnccl (statically linked or absent)')"
    else
        echo "no libtorch_cuda.so in $dir (was it published with -p:TorchBackend=cuda?)"
    fi
    echo "== libnccl.so.2 on the loader's path"
    system=$(ldconfig -p 2>/dev/null | awk '/libnccl\.so\.2 /{print $NF; exit}')
    echo "${system:-none}"
    echo "== NcclCheck (default search: NANOVLM_NCCL_LIBRARY=${NANOVLM_NCCL_LIBRARY:-unset})"
    rc=0
    "$dir/NcclCheck" "$elements" || rc=$?
    if [ -n "$system" ] && [ -z "${NANOVLM_NCCL_LIBRARY:-}" ]; then
        echo "== NcclCheck with NANOVLM_NCCL_LIBRARY=$system"
        NANOVLM_NCCL_LIBRARY=$system "$dir/NcclCheck" 0 || rc=$?
    fi
    exit $rc
    ;;
*)
    sed -n '2,13p' "$0"
    exit 64
    ;;
esac

#!/bin/bash
# A/B timing of the text path between two commits on a noisy shared machine: builds NanoVlm.Benchmarks (and so
# NanoVlm.Loader) of each commit from a `git archive` export, builds Program.cs against each, then alternates
# before/after runs ROUNDS times; each run reports the least and the median per-sample time over ~SECONDS of
# 256-sample batches (TextPrepareBenchmarks' data) for SamplePreparer.Prepare and VlmTokenizer.EncodeToIds.
# Compare the median over rounds of the per-run minimum: the minimum is the run least disturbed by other load.
#   tools/text_ab/run.sh <before-commit> <after-commit> [qwen2_5|default] [rounds=8] [seconds=5]
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
before=$1; after=$2; tok=${3:-qwen2_5}; rounds=${4:-8}; secs=${5:-5}
work=$(mktemp -d /tmp/text_ab.XXXX)
for v in before after; do
  commit=$([ $v = before ] && echo "$before" || echo "$after")
  mkdir -p "$work/$v/repo" "$work/$v/h"
  git -C "$repo" archive "$commit" | tar -x -C "$work/$v/repo"
  dotnet build "$work/$v/repo/bench/NanoVlm.Benchmarks/NanoVlm.Benchmarks.csproj" -c Release -v q -nologo >/dev/null
  bin="$work/$v/repo/bench/NanoVlm.Benchmarks/bin/Release/net10.0"
  cp "$repo/tools/text_ab/Program.cs" "$work/$v/h/"
  cat > "$work/$v/h/h.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings><InvariantGlobalization>true</InvariantGlobalization></PropertyGroup>
  <ItemGroup><Reference Include="NanoVlm.Loader"><HintPath>$bin/NanoVlm.Loader.dll</HintPath></Reference></ItemGroup>
</Project>
XML
  dotnet build "$work/$v/h/h.csproj" -c Release -o "$work/$v/out" -v q -nologo >/dev/null
  cp -n "$bin"/*.dll "$work/$v/out/"
  rm -f "$work/$v/out/h.deps.json" # probe every dll in the folder (Google.Protobuf for SentencePiece)
done
for i in $(seq "$rounds"); do
  for v in before after; do
    echo "$v $(dotnet "$work/$v/out/h.dll" "$work/$v/repo" "$tok" "$secs") load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done

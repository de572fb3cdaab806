#!/usr/bin/env bash
# Runs on the GPU machine (through the device tool), over a copy of the repository with the
# carried build-gpu/ folder: the gpu-labelled tests, the CPU tests for comparison, and the
# benchmarks. Everything is logged under $OUT (or ./out). Usage:
#   scripts/gpu-check.sh [tests|bench|all] [ctest -R regex]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
# CTest files hold the absolute paths of the machine that configured the build; give the
# repository that path here too.
src=$(grep -m1 '^CMAKE_HOME_DIRECTORY' "$here/build-gpu/CMakeCache.txt" | cut -d= -f2)
if [[ -n "$src" && "$src" != "$here" && ! -e "$src" ]]; then
  mkdir -p "$(dirname "$src")" && ln -s "$here" "$src"
fi
cd "$src/build-gpu"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"
mode=${1:-all}
filter=${2:-}
status=0
if [[ $mode == tests || $mode == all ]]; then
  ctest --output-on-failure -L gpu ${filter:+-R "$filter"} 2>&1 | tee "$out/ctest-gpu.log" || status=1
fi
if [[ $mode == bench || $mode == all ]]; then
  for b in bench/*_bench; do
    [[ -x $b ]] || continue
    echo "== $b" | tee -a "$out/bench.log"
    "$b" --json "$out/$(basename "$b").json" 2>&1 | tee -a "$out/bench.log" || status=1
  done
fi
exit $status

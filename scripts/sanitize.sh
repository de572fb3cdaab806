#!/usr/bin/env bash
# Runs compute-sanitizer (memcheck, racecheck, synccheck, initcheck) over every example program
# and every mHC op/variant at two sizes, on the GPU machine, from a carried build-gpu/.
# Prints one line per run and a summary; exits non-zero if any run reports an error.
#   scripts/sanitize.sh [examples|mhc|all]      SANITIZE_TOOLS="memcheck racecheck" for a subset
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build-gpu
out=${OUT:-$here/out}
mkdir -p "$out"
san=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
export TESSERA_CACHE_DIR=${TESSERA_CACHE_DIR:-/tmp/tessera-sanitize-cache}
mode=${1:-all}
fails=0
runs=0
check() { # name, tool, command...
  local name=$1 tool=$2
  shift 2
  local log="$out/sanitize-${name//[^a-zA-Z0-9_.-]/_}-$tool.log"
  "$san" --tool "$tool" --error-exitcode 99 --print-limit 20 "$@" >"$log" 2>&1
  local rc=$?
  runs=$((runs + 1))
  local summary
  summary=$(grep -m1 "SUMMARY" "$log" || echo "rc=$rc")
  if [[ $rc -ne 0 ]]; then
    fails=$((fails + 1))
    echo "FAIL $tool $name: $summary"
  else
    echo "ok   $tool $name: $summary"
  fi
}
read -r -a tools <<<"${SANITIZE_TOOLS:-memcheck racecheck synccheck initcheck}"
if [[ $mode == examples || $mode == all ]]; then
  for ex in vector_add rmsnorm softmax tutorial gemm; do
    bin=$build/examples/example_$ex
    [[ -x $bin ]] || { echo "missing $bin"; fails=$((fails + 1)); continue; }
    for tool in "${tools[@]}"; do check "$ex" "$tool" "$bin"; done
  done
  ops_tests=$build/tests/ops/ops_gpu_tests # the tile ops' kernels (cumsum: shared scratch, barriers)
  for tool in "${tools[@]}"; do check ops_gpu_tests "$tool" "$ops_tests"; done
fi
if [[ $mode == mhc || $mode == all ]]; then
  tessera=$build/tools/tessera
  # T = 40 and 130 take the token-tile stage A (block_m 64 and 128, both with a token tail).
  for size in "3 4096" "40 1000" "130 1000"; do
    read -r tokens hidden <<<"$size"
    for op in "mhc_pre plain" "mhc_pre norm" "mhc_pre broadcast" "mhc_post plain" \
              "mhc_fused_post_pre plain" "mhc_fused_post_pre norm" "hc_head plain" "sinkhorn plain"; do
      read -r name variant <<<"$op"
      for tool in "${tools[@]}"; do
        check "$name-$variant-T$tokens-H$hidden" "$tool" "$tessera" run "$name" --tokens "$tokens" \
          --hidden "$hidden" --variant "$variant" --check
      done
    done
  done
fi
echo "sanitizer: $runs runs, $fails failed"
[[ $fails -eq 0 ]]

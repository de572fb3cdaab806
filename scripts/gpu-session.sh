#!/usr/bin/env bash
# One GPU-machine session as one command (device tool), over a copy of the repository with the
# carried build-gpu/ (scripts/build-gpu.sh + scripts/pack-gpu.sh) and, optionally, build-base/:
# the benchmark binaries of an earlier commit, for a same-run, same-card A/B comparison.
#   scripts/gpu-session.sh [tests] [diff] [bench] [goal] [sanitize] [python] [head]
#   (default: all but goal, python and head)
# python: the Python package's GPU tests (pytest tests/python/gpu, from the wheels
# scripts/fetch-gpu-wheels.sh put in build-gpu/wheels) and bench/python_overhead.py.
# head: hc_head's one-pass cluster kernel (head_fused), A/B against the two-kernel form, its
# GPU tests, cluster-exchange checks and compute-sanitizer (decides its GPU default).
# goal: the full mhc_bench grid with issue 9's yardsticks, torch.compile from the peer script
# run just before it on the same card (PEER_SCRIPT, default ../shared/peer/torch_mhc.py; a
# checkout carried without shared/ can point it at a copy).
# Everything lands in $OUT/results.tgz (the device tool returns at most 8 files) and a short
# summary is printed last.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$here/out}
work=$out/session
mkdir -p "$work"
# CTest files hold the absolute paths of the machine that configured the build.
src=$(grep -m1 '^CMAKE_HOME_DIRECTORY' "$here/build-gpu/CMakeCache.txt" | cut -d= -f2)
if [[ -n "$src" && "$src" != "$here" && ! -e "$src" ]]; then
  mkdir -p "$(dirname "$src")" && ln -s "$here" "$src"
fi
steps=${*:-tests diff bench sanitize}
summary=()
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
  --format=csv | tee "$work/gpu.txt"
date -u | tee -a "$work/gpu.txt"
export TESSERA_CACHE_DIR=/tmp/tessera-session-cache

if [[ $steps == *tests* ]]; then
  (cd "$here/build-gpu" && ctest --output-on-failure -L gpu) >"$work/ctest-gpu.log" 2>&1
  summary+=("tests: $(grep -E 'tests passed|tests failed' "$work/ctest-gpu.log" | tail -1)")
fi

if [[ $steps == *diff* ]]; then
  # GPU outputs for scripts/differential.py, which reruns the same seeds on the CPU backend.
  fails=0
  for T in 5 33; do
    for case in mhc_pre:plain mhc_pre:norm mhc_pre:broadcast mhc_post:plain \
      mhc_fused_post_pre:plain mhc_fused_post_pre:norm hc_head:plain sinkhorn:plain; do
      op=${case%%:*} variant=${case##*:}
      "$here/build-gpu/tools/tessera" run "$op" --tokens "$T" --hidden 1000 --variant "$variant" \
        --seed 7 --target cuda --outputs "$work/diff/$op-$variant-T$T" >>"$work/diff.log" 2>&1 ||
        fails=$((fails + 1))
    done
  done
  summary+=("diff: GPU outputs written, $fails run(s) failed")
fi

if [[ $steps == *bench* ]]; then
  # A, B, A, B: the two builds alternate so clock and thermal drift hit both alike.
  for round in 1 2; do
    for side in new base; do
      dir=$here/build-gpu
      [[ $side == base ]] && dir=$here/build-base
      [[ -x $dir/bench/mhc_bench ]] || continue
      "$dir/bench/mhc_bench" --quick --json "$work/mhc-$side-$round.json" \
        >"$work/mhc-$side-$round.log" 2>&1
      "$dir/bench/examples_bench" --json "$work/examples-$side-$round.json" \
        >"$work/examples-$side-$round.log" 2>&1
    done
  done
  summary+=("bench: $(ls "$work"/mhc-*.json 2>/dev/null | wc -l) mhc_bench runs")
fi

if [[ $steps == *goal* ]]; then
  peer=${PEER_SCRIPT:-$here/../shared/peer/torch_mhc.py}
  torch_json=()
  if [[ -f $peer ]] && python3 "$peer" --json "$work/torch-peer.json" >"$work/torch-peer.log" 2>&1; then
    torch_json=(--torch-json "$work/torch-peer.json")
  fi
  "$here/build-gpu/bench/mhc_bench" "${torch_json[@]}" --json "$work/mhc-goal.json" \
    >"$work/mhc-goal.log" 2>&1
  summary+=("goal: mhc_bench full grid $([[ ${#torch_json[@]} -gt 0 ]] && echo 'with' || echo 'without') torch peer")
fi

if [[ $steps == *head* ]]; then
  # hc_head's one-pass cluster kernel (opt-in on GPUs until measured): A/B against the
  # two-kernel form over the full grid, its GPU tests, adjacent tiles in one cluster (1 and 3
  # persistent clusters: the workspace exchange across the cluster barrier), compute-sanitizer.
  for f in 1 0; do
    TESSERA_MHC_HEAD_FUSED=$f "$here/build-gpu/bench/mhc_bench" --ops hc_head \
      --json "$work/head-fused$f.json" >"$work/head-fused$f.log" 2>&1
  done
  "$here/build-gpu/tests/codegen/codegen_gpu_tests" "[cluster]" >"$work/head-tests.log" 2>&1
  "$here/build-gpu/tests/kernels/mhc/mhc_ops_gpu_tests" "[head_fused]" >>"$work/head-tests.log" 2>&1
  fails=0
  for clusters in 1 3; do
    for th in "37 1000" "1025 3000" "129 7168"; do
      set -- $th
      TESSERA_MHC_HEAD_FUSED=1 TESSERA_MHC_HEAD_CLUSTERS=$clusters "$here/build-gpu/tools/tessera" \
        run hc_head --tokens "$1" --hidden "$2" --target cuda --check >>"$work/head-check.log" 2>&1 ||
        fails=$((fails + 1))
    done
  done
  for tool in memcheck racecheck synccheck initcheck; do
    TESSERA_MHC_HEAD_FUSED=1 TESSERA_MHC_HEAD_CLUSTERS=3 compute-sanitizer --tool "$tool" \
      --error-exitcode 9 "$here/build-gpu/tools/tessera" run hc_head --tokens 37 --hidden 1000 \
      --target cuda --check >>"$work/head-sanitize.log" 2>&1 || fails=$((fails + 1))
  done
  summary+=("head: $(grep -cE 'passed' "$work/head-tests.log") test binaries passed; $fails check/sanitizer run(s) failed")
fi

if [[ $steps == *python* ]]; then
  python3 -m pip install -q --no-index --no-deps --find-links "$here/build-gpu/wheels" \
    --target /tmp/tessera-pydeps pytest pluggy iniconfig packaging pygments ml_dtypes \
    >"$work/pip.log" 2>&1
  export PYTHONPATH=$here/python:/tmp/tessera-pydeps
  export TESSERA_LIBRARY=$here/build-gpu/python/libtessera_c.so
  (cd "$here" && python3 -m pytest tests/python/gpu -q -p no:cacheprovider) >"$work/pytest-gpu.log" 2>&1
  python3 "$here/bench/python_overhead.py" --cxx-bench "$here/build-gpu/bench/launch_bench" \
    --json "$work/python-overhead.json" >"$work/python-overhead.log" 2>&1
  summary+=("python: $(tail -1 "$work/pytest-gpu.log"); overhead: $(ls "$work"/python-overhead.json 2>/dev/null | wc -l) json")
fi

if [[ $steps == *sanitize* ]]; then
  OUT=$work/sanitize timeout "${SANITIZE_SECONDS:-500}" "$here/scripts/sanitize.sh" all >"$work/sanitize.log" 2>&1
  summary+=("sanitize: $(tail -1 "$work/sanitize.log")")
fi

tar czf "$out/results.tgz" -C "$out" session && rm -rf "$work"
printf '%s\n' "${summary[@]}"

#!/usr/bin/env bash
# libFuzzer runs (part of scripts/test.sh, so of CI): builds the fuzz targets with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer into build-fuzz/, then runs each for
# FUZZ_SECONDS (default 30) from its committed seed corpus (tests/fuzz/corpus/<target>; new
# inputs go to build-fuzz/corpus/, not into the repository). Any crash, sanitizer report or
# leak fails the run and leaves the input in build-fuzz/ — add it to the corpus once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
CXX=${FUZZ_CXX:-clang++-16} CC=${FUZZ_CC:-clang-16} cmake -S . -B build-fuzz -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_FUZZ=ON -DTESSERA_BUILD_TESTS=OFF \
  -DTESSERA_BUILD_BENCH=OFF -DTESSERA_BUILD_EXAMPLES=OFF -DTESSERA_ENABLE_LLVM=OFF \
  -DTESSERA_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
cmake --build build-fuzz -j "${JOBS:-$(nproc)}" --target npy_fuzz cache_entry_fuzz dsl_fuzz
for target in npy_fuzz cache_entry_fuzz dsl_fuzz; do
  work=build-fuzz/corpus/${target%_fuzz}
  mkdir -p "$work"
  (cd build-fuzz && "tests/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -print_final_stats=1 "../$work" "../tests/fuzz/corpus/${target%_fuzz}" 2>&1 |
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==.*ERROR|SUMMARY)" |
    sed "s/^/$target: /")
done

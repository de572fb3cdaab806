#!/usr/bin/env bash
# The hostile-input surface under sanitizers (part of scripts/test.sh, so of CI): the base and
# runtime libraries with their tests (file I/O, the disk cache, NVRTC compiles, tensors, driver
# absence) and the .npy reader, built with AddressSanitizer + UndefinedBehaviorSanitizer, and
# the cache's concurrency tests with ThreadSanitizer. Any report fails the run. A subset: the
# whole tree under ASan takes over an hour to build on CI's two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_ENABLE_LLVM=OFF
        -DTESSERA_BUILD_BENCH=OFF -DTESSERA_BUILD_EXAMPLES=OFF)
jobs=${JOBS:-$(nproc)}

cmake -S . -B build-asan "${common[@]}" -DTESSERA_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$jobs" --target base_cpu_tests runtime_cpu_tests tools_npy_tests
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -R '^(base_cpu_tests|runtime_cpu_tests|runtime_driver_absent|tools_npy_tests)$')

cmake -S . -B build-tsan "${common[@]}" -DTESSERA_SANITIZE=thread >/dev/null
cmake --build build-tsan -j "$jobs" --target runtime_cpu_tests
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 TESSERA_CACHE_DIR="$PWD/test-cache" \
  tests/runtime/runtime_cpu_tests "[cache]")

#!/usr/bin/env bash
# README command 2: install what is missing, build, check formatting, run every CPU test
# (the `gpu` label is excluded explicitly: those run on the GPU machine, see scripts/gpu-check.sh),
# then the Python package's tests (pip install into build/venv, pytest without `gpu` marks), the
# runtime and file/cache code under ASan+UBSan and TSan (scripts/test-sanitize.sh), and the
# libFuzzer targets for 30 s each (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -LE gpu -j "${JOBS:-$(nproc)}")
scripts/test-python.sh
scripts/test-sanitize.sh
scripts/fuzz.sh

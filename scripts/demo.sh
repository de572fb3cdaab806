#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main demo: the mHC ops on random
# DeepSeek-V4-shaped inputs, checked against the C++ references. Runs on the GPU when one is
# present, otherwise on the LLVM CPU backend.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
tessera=${BUILD_DIR:-build}/tools/tessera
"$tessera" info
for op in mhc_pre mhc_post mhc_fused_post_pre hc_head; do
  "$tessera" run "$op" --tokens 64 --hidden 4096 --check
done

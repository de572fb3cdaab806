#!/usr/bin/env bash
# Builds the tree that travels to the GPU machine: Release, no LLVM (libLLVM is too large to
# carry), fmt header-only (so nothing from Debian is needed there). Output: build-gpu/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-gpu BUILD_TYPE=Release scripts/build.sh -DTESSERA_ENABLE_LLVM=OFF "$@"
du -sh build-gpu | awk '{print "build-gpu size: " $1}'

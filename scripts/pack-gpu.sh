#!/usr/bin/env bash
# Copies a configured+built build-gpu/ from SRC (default: this checkout) into this checkout's
# build-gpu/ with object files and static libraries dropped and binaries stripped, so that it
# fits the device tool's 64 MiB transfer. CTest files keep SRC's absolute paths;
# scripts/gpu-check.sh links SRC to the repository root on the GPU machine.
set -euo pipefail
dst=$(cd "$(dirname "$0")/.." && pwd)/build-gpu
src=${1:-$dst}/build-gpu
[[ -d $src ]] || src=${1:-$dst}
if [[ "$(realpath "$src")" != "$(realpath -m "$dst")" ]]; then
  rm -rf "$dst"
  cp -a "$src" "$dst"
  rm -rf "$dst/test-cache"
fi
find "$dst" \( -name '*.o' -o -name '*.a' \) -delete
find "$dst" -type f -perm -u+x -exec sh -c 'file -b "$1" | grep -q ELF && strip "$1"' _ {} \;
du -sh "$dst" | awk '{print "packed build-gpu: " $1}'

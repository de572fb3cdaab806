#!/usr/bin/env bash
# The GPU machine reaches no network and has no pytest: download what the Python GPU tests need
# (pytest and its dependencies, ml_dtypes) as wheels for its CPython 3.12 into build-gpu/wheels,
# which travels with the carried build-gpu/ (scripts/gpu-session.sh python).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=build-gpu/wheels
mkdir -p "$dest"
python3 -m pip download -q --only-binary=:all: --no-deps --python-version 3.12 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d "$dest" \
  pytest pluggy iniconfig packaging pygments ml_dtypes
ls "$dest"

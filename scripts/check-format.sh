#!/usr/bin/env bash
# Fails if any C++ file in the repository differs from clang-format's output.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.h' '*.cpp' '*.cuh')
if ((${#files[@]} == 0)); then exit 0; fi
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "error: formatting differs; run: clang-format -i \$(git ls-files '*.h' '*.cpp' '*.cuh')" >&2
  exit 1
fi

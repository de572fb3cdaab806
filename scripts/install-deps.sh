#!/usr/bin/env bash
# Installs the Debian packages Tessera builds against, if any is missing. The CUDA 13 toolkit
# (NVRTC + headers) is expected at $CUDA_HOME or /usr/local/cuda; it is not a Debian package.
set -euo pipefail
packages=(cmake ninja-build g++ libfmt-dev catch2 libcli11-dev nlohmann-json3-dev llvm-14-dev clang-format clang-16 libclang-rt-16-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cuda_home=${CUDA_HOME:-/usr/local/cuda}
if [[ ! -f "$cuda_home/include/nvrtc.h" ]]; then
  echo "error: CUDA toolkit not found at $cuda_home (set CUDA_HOME); Tessera needs NVRTC and its headers" >&2
  exit 1
fi
# The Python package's tests run in a virtual environment (scripts/test-python.sh).
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
  echo "installing: python3-venv"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends python3-venv
fi

#!/usr/bin/env bash
# The Python package as a user gets it: `pip install ".[test]"` into a virtual environment
# (build/venv; scikit-build-core builds libtessera_c.so in build/python-<tag>/, incrementally on
# reruns), then pytest over tests/python without the gpu-marked tests. Extra arguments go to
# pytest. Build and test tools come from PyPI (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV_DIR:-build/venv}
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q ".[test]"
# From the repository root, `import tessera` must resolve to the installed package.
"$venv/bin/python" -c "import tessera, sys; print('tessera', tessera.__version__, 'from', tessera.info()['library'])"
"$venv/bin/python" -m pytest -m "not gpu" -q "$@"

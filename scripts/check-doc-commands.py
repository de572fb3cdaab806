#!/usr/bin/env python3
"""Runs every shell command shown in README.md and docs/*.md code blocks that needs no GPU and
no network, against a build tree, and fails when one fails: the commands a reader copies must
work. Commands that cannot run here are listed with the reason (and what covers them instead).

    scripts/check-doc-commands.py --build-dir build
"""

import argparse
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (pattern, reason): commands not run here.
SKIPS = [
    (r"^scripts/(demo|test)\.sh", "the README's two commands: CI runs scripts/test.sh itself"),
    (r"^scripts/install-deps\.sh", "installs Debian packages: run by scripts/test.sh"),
    (r"^pip install|^python -c|pytest", "the Python package: scripts/test-python.sh installs and tests it"),
    (r"tessera tune", "needs a GPU: ctest label gpu (tools_tune_gpu)"),
]


def commands():
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    for f in files:
        for block in re.finditer(r"```(?:bash|sh)\n(.*?)```", f.read_text(), re.S):
            for line in block.group(1).splitlines():
                cmd = re.sub(r"\s+#.*$", "", line).strip()
                if cmd and not cmd.startswith("#"):
                    yield f.relative_to(ROOT), cmd


def write_npy(path: Path, descr: str, shape: tuple, fill: bytes):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    count = 1
    for d in shape:
        count *= d
    size = 2 if descr == "<u2" else 4
    data = (fill * (count * size // len(fill) + 1))[: count * size]
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)


def prepare(work: Path):
    """The inputs the README's `--inputs in/` example reads (T 16, H 4096, n 4)."""
    (work / "in").mkdir()
    write_npy(work / "in" / "y.npy", "<u2", (16, 4096), struct.pack("<H", 0x3F80))  # bf16 1.0
    write_npy(work / "in" / "residual.npy", "<u2", (16, 4, 4096), struct.pack("<H", 0x3F00))
    write_npy(work / "in" / "post_mix.npy", "<f4", (16, 4), struct.pack("<f", 0.5))
    write_npy(work / "in" / "comb_mix.npy", "<f4", (16, 4, 4), struct.pack("<f", 0.25))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default="build")
    args = parser.parse_args()
    build = Path(args.build_dir).resolve()
    failures = ran = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work)
        for source, cmd in commands():
            skip = next((why for pat, why in SKIPS if re.search(pat, cmd)), None)
            if skip:
                print(f"skip  {source}: {cmd}\n      ({skip})")
                continue
            if not cmd.startswith("build/"):
                print(f"FAIL  {source}: {cmd}\n      (no rule to run it: add a skip with a reason)")
                failures += 1
                continue
            run = str(build) + cmd[len("build"):]
            r = subprocess.run(run, shell=True, cwd=work, capture_output=True, text=True,
                               timeout=600)
            ran += 1
            status = "ok  " if r.returncode == 0 else "FAIL"
            print(f"{status}  {source}: {cmd}")
            if r.returncode != 0:
                failures += 1
                print("      " + (r.stdout + r.stderr).strip().replace("\n", "\n      ")[-2000:])
    print(f"{ran} documented commands run, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

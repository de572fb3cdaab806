"""Differential check of the CPU backend against the GPU on identical inputs.

The GPU build carries no LLVM, so the two sides run on two machines: on the GPU machine,
    tessera run OP --tokens T --hidden H --variant V --seed S --target cuda --outputs DIR/OP-V-TT
for each case (see bench/RESULTS.md for the exact command), then here
    python3 scripts/differential.py --tessera build/tools/tessera --gpu DIR
runs the same cases with --target cpu (same seed, so the same inputs) and compares every
output element: bf16 outputs within 1.6e-2 + 1e-2·|x| (about one bf16 ulp), fp32 outputs
within 1e-4 + 1e-4·|x| (split counts differ between the targets, so summation orders do).
Pure standard library; exits non-zero on any mismatch.
"""
import argparse
import ast
import os
import struct
import subprocess
import sys
import tempfile


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path
    major = data[6]
    hlen = struct.unpack("<H" if major == 1 else "<I", data[8:10] if major == 1 else data[8:12])[0]
    start = 10 if major == 1 else 12
    header = ast.literal_eval(data[start:start + hlen].decode())
    body = data[start + hlen:]
    descr = header["descr"]
    if descr == "<f4":
        return list(struct.unpack(f"<{len(body) // 4}f", body))
    if descr == "<u2":  # bf16 bit patterns
        bits = struct.unpack(f"<{len(body) // 2}H", body)
        return [struct.unpack("<f", struct.pack("<I", b << 16))[0] for b in bits]
    raise ValueError(f"{path}: unsupported dtype {descr}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", required=True)
    ap.add_argument("--gpu", required=True, help="folder of GPU output folders OP-VARIANT-TT")
    ap.add_argument("--hidden", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in sorted(os.listdir(args.gpu)):
            gdir = os.path.join(args.gpu, case)
            if not os.path.isdir(gdir):
                continue
            op, variant, tokens = case.rsplit("-", 2)
            cdir = os.path.join(tmp, case)
            subprocess.run([args.tessera, "run", op, "--tokens", tokens[1:], "--hidden",
                            str(args.hidden), "--variant", variant, "--seed", str(args.seed),
                            "--target", "cpu", "--outputs", cdir], check=True,
                           stdout=subprocess.DEVNULL)
            for name in sorted(os.listdir(gdir)):
                g = read_npy(os.path.join(gdir, name))
                c = read_npy(os.path.join(cdir, name))
                bf16 = name in ("layer_input.npy", "out.npy", "residual_out.npy")
                atol, rtol = (1.6e-2, 1e-2) if bf16 else (1e-4, 1e-4)
                bad = sum(1 for x, y in zip(g, c) if not abs(x - y) <= atol + rtol * abs(y))
                exact = sum(1 for x, y in zip(g, c) if x == y)
                worst = max((abs(x - y) for x, y in zip(g, c)), default=0.0)
                ok = bad == 0 and len(g) == len(c)
                failures += 0 if ok else 1
                print(f"{'ok  ' if ok else 'FAIL'} {case:32s} {name:18s} n={len(g):7d} "
                      f"bit-equal {exact / max(len(g), 1):6.1%}  max |gpu-cpu| {worst:.3e}")
    print(f"differential: {failures} output(s) outside tolerance")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

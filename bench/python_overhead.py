#!/usr/bin/env python3
"""What Python costs on top of the C++ library (GPU machine, torch).

1. Host microseconds per call of mhc_post at T = 1, H = 4096 — a kernel shorter than any call
   path, so back-to-back calls measure the host: torch.ops.tessera.mhc_post (the torch
   dispatcher + custom op), tessera.mhc.mhc_post (functional, allocating; and out=), the bare
   ctypes call on pre-packed arguments, and the same op from C++ (bench/launch_bench, run here
   when --cxx-bench names it). Median of batches of 500 calls, synchronised between batches.
2. mhc_pre end to end from Python (torch tensors, CUDA-graph replay and eager back-to-back
   calls, CUDA events) beside vLLM's TileLang figures on the H200
   (../shared/docs/perf-h200.md).

    python3 bench/python_overhead.py [--cxx-bench build-gpu/bench/launch_bench] [--json out.json]
"""

import argparse
import json
import statistics
import subprocess
import time

import torch

import tessera
from tessera import mhc

# vLLM TileLang mhc_pre, H200, graph-replay medians in µs (../shared/docs/perf-h200.md,
# 2026-12-02, vLLM 055e47c2, TileLang 0.1.15, FMA stage A: DeepGEMM absent).
TILELANG_PRE = {
    (4096, 1): 7.6, (4096, 16): 7.9, (4096, 128): 20.7, (4096, 1024): 114.6,
    (4096, 4096): 544.2, (4096, 16384): 2105.8, (7168, 1): 10.0, (7168, 16): 10.8,
    (7168, 128): 33.1, (7168, 1024): 225.5, (7168, 4096): 914.0, (7168, 16384): 3557.3,
}


def host_us_per_call(fn, batch=500, batches=60):
    for _ in range(batch):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t0) * 1e6 / batch)
        torch.cuda.synchronize()
    return statistics.median(samples)


def post_inputs(T, H, n=4):
    bf = torch.bfloat16
    return (torch.randn(T, H, device="cuda", dtype=bf), torch.randn(T, n, H, device="cuda", dtype=bf),
            torch.rand(T, n, device="cuda"), torch.rand(T, n, n, device="cuda"))


def overhead_rows(cxx_bench):
    y, res, post, comb = post_inputs(1, 4096)
    out = torch.empty_like(res)
    rows = {
        "torch.ops.tessera.mhc_post": host_us_per_call(
            lambda: torch.ops.tessera.mhc_post(y, res, post, comb)),
        "torch.ops.tessera.mhc_post_out": host_us_per_call(
            lambda: torch.ops.tessera.mhc_post_out(y, res, post, comb, out)),
        "tessera.mhc.mhc_post (allocates out)": host_us_per_call(
            lambda: mhc.mhc_post(y, res, post, comb)),
        "tessera.mhc.mhc_post(out=)": host_us_per_call(
            lambda: mhc.mhc_post(y, res, post, comb, out=out)),
    }
    # The floor of the Python side: one ctypes call on arguments packed once.
    from tessera import _lib
    from tessera._tensors import pack_all, stream_of

    cfg = mhc._config(4096, 4, 20, 1e-6, 1e-6, 1e-6, 2.0, "tf32", None, None)
    packed, _keep = pack_all([y, res, post, comb, out], ["y", "residual", "post_mix", "comb_mix", "out"])
    op, stream = mhc._op_id("mhc_post"), stream_of(res, 0, None)
    rows["ctypes tessera_mhc_run, pre-packed"] = host_us_per_call(
        lambda: _lib.lib.tessera_mhc_run(op, cfg, packed, 5, stream))
    if cxx_bench:
        text = subprocess.run([cxx_bench], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            if line.startswith("tessera::mhc::"):
                name, value = line.rsplit(None, 2)[0], float(line.split()[-2])
                rows[name + " (C++)"] = value
    return rows


def pre_rows():
    rows = []
    for H in (4096, 7168):
        fn = torch.randn(24, 4 * H, device="cuda") * 1e-3
        scale, base = torch.rand(3, device="cuda"), torch.rand(24, device="cuda")
        for T in (1, 16, 128, 1024, 4096, 16384):
            res = torch.randn(T, 4, H, device="cuda", dtype=torch.bfloat16)
            outs = (torch.empty(T, 4, device="cuda"), torch.empty(T, 4, 4, device="cuda"),
                    torch.empty(T, H, device="cuda", dtype=torch.bfloat16))
            ws = torch.empty(mhc.workspace_bytes("mhc_pre", T, H), device="cuda", dtype=torch.uint8)
            call = lambda: mhc.mhc_pre(res, fn, scale, base, out=outs, workspace=ws)  # noqa: E731
            call()
            torch.cuda.synchronize()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                call()
            reps = 20 if T >= 4096 else 100
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            graph_us, eager_us = [], []
            for _ in range(15):
                start.record()
                for _ in range(reps):
                    graph.replay()
                end.record()
                end.synchronize()
                graph_us.append(start.elapsed_time(end) * 1e3 / reps)
                start.record()
                for _ in range(reps):
                    call()
                end.record()
                end.synchronize()
                eager_us.append(start.elapsed_time(end) * 1e3 / reps)
            rows.append({"H": H, "T": T, "graph_us": statistics.median(graph_us),
                         "eager_us": statistics.median(eager_us),
                         "tilelang_us": TILELANG_PRE[(H, T)]})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cxx-bench", help="bench/launch_bench of the same build, for the C++ rows")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("python_overhead: needs a CUDA device")
    device = torch.cuda.get_device_name()
    overhead = overhead_rows(args.cxx_bench)
    pre = pre_rows()
    print(f"python_overhead: {device}, tessera {tessera.__version__}, torch {torch.__version__}")
    print(f"{'call path (mhc_post, T=1, H=4096)':<48} {'host us/call':>12}")
    for name, us in overhead.items():
        print(f"{name:<48} {us:12.2f}")
    print(f"\n{'mhc_pre from Python':<20} {'H':>5} {'T':>6} {'graph us':>9} {'eager us':>9} "
          f"{'TileLang us':>11} {'ratio':>6}")
    for r in pre:
        print(f"{'':<20} {r['H']:5d} {r['T']:6d} {r['graph_us']:9.1f} {r['eager_us']:9.1f} "
              f"{r['tilelang_us']:11.1f} {r['graph_us'] / r['tilelang_us']:6.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device, "date": time.strftime("%Y-%m-%d"), "overhead_us": overhead,
                       "mhc_pre": pre}, f, indent=1)


if __name__ == "__main__":
    main()

"""Peer baseline, part 2: PyTorch eager and torch.compile for the mHC ops the peer script
(../shared/peer/torch_mhc.py) does not cover: mhc_fused_post_pre (defined as post then pre, as
in vLLM's test) and the standalone Sinkhorn on [T, n, n].

Run on a GPU machine with PyTorch + Triton:
    python3 bench/torch_mhc_ext.py [--quick] [--json out.json] [--peer path/to/torch_mhc.py]

Same method and output as the peer: triton.testing.do_bench median (us) and do_bench_cudagraph
median (graph replay, no Python launch overhead) for eager and compiled; the minimal bytes the
op must move; floor_us = bytes / measured copy bandwidth; the JSON has the peer's schema:
    {"device": str, "copy_bw": bytes_per_s,
     "rows": [{"op", "H", "T", "eager_us", "compiled_us", "eager_graph_us",
               "compiled_graph_us", "bytes", "floor_us", "compiled_graph_frac", "compile_s"}]}
For "sinkhorn" rows H is 0 (the op has no hidden dimension).
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import torch
from triton.testing import do_bench, do_bench_cudagraph
import torch._dynamo

torch._dynamo.config.recompile_limit = 256
torch._dynamo.config.cache_size_limit = 256

N = 4  # hc_mult
M3 = N * (N + 2)


def _load_peer(path):
    """Imports the peer's reference functions so both scripts time the same code."""
    candidates = [path] if path else []
    here = os.path.dirname(os.path.abspath(__file__))
    candidates += [os.path.join(here, "..", "shared", "peer", "torch_mhc.py"),
                   os.path.join(here, "..", "..", "shared", "peer", "torch_mhc.py")]
    for c in candidates:
        if c and os.path.exists(c):
            spec = importlib.util.spec_from_file_location("torch_mhc_peer", c)
            mod = importlib.util.module_from_spec(spec)
            # torch.compile re-imports the functions' module by name: it must be registered.
            sys.modules["torch_mhc_peer"] = mod
            spec.loader.exec_module(mod)
            return mod, c
    return None, None


# Fallback copies of the peer's references (same formulas), used only when the peer file is
# not found next to the repository.
def _mhc_pre_ref(res, fn, scale, base, rms_eps=1e-6, pre_eps=1e-6, sk_eps=1e-6, post_mult=2.0,
                 R=20):
    T, n, H = res.shape
    x = res.reshape(T, n * H).float()
    mixes = x @ fn.t()
    r = torch.rsqrt((x * x).sum(-1, keepdim=True) / (n * H) + rms_eps)
    m = mixes * r
    pre = torch.sigmoid(m[:, :n] * scale[0] + base[:n]) + pre_eps
    post = torch.sigmoid(m[:, n:2 * n] * scale[1] + base[n:2 * n]) * post_mult
    L = (m[:, 2 * n:] * scale[2] + base[2 * n:]).view(T, n, n)
    C = torch.softmax(L, -1) + sk_eps
    C = C / (C.sum(-2, keepdim=True) + sk_eps)
    for _ in range(R - 1):
        C = C / (C.sum(-1, keepdim=True) + sk_eps)
        C = C / (C.sum(-2, keepdim=True) + sk_eps)
    u = (pre.unsqueeze(-1) * res.float()).sum(1).to(torch.bfloat16)
    return post, C, u


def _mhc_post_ref(y, res, post, comb):
    mix = (comb.unsqueeze(-1) * res.float().unsqueeze(2)).sum(1)
    out = post.unsqueeze(-1) * y.float().unsqueeze(1) + mix
    return out.to(torch.bfloat16)


mhc_pre_ref = _mhc_pre_ref
mhc_post_ref = _mhc_post_ref


def mhc_fused_post_pre_ref(y, res, post, comb, fn, scale, base):
    """The new residual (post map), then mhc_pre on it: (residual_cur, post', comb', u')."""
    new_res = mhc_post_ref(y, res, post, comb)
    post2, comb2, u = mhc_pre_ref(new_res, fn, scale, base)
    return new_res, post2, comb2, u


def sinkhorn_ref(L, eps=1e-6, R=20):
    """Standalone Sinkhorn (spec §3.0 step 4 / §3.9) on logits [T, n, n]."""
    C = torch.softmax(L, -1) + eps
    C = C / (C.sum(-2, keepdim=True) + eps)
    for _ in range(R - 1):
        C = C / (C.sum(-1, keepdim=True) + eps)
        C = C / (C.sum(-2, keepdim=True) + eps)
    return C


def copy_bandwidth():
    a = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    ms = do_bench(lambda: b.copy_(a), warmup=50, rep=300, return_mode="median")
    return 2 * a.numel() / (ms * 1e-3)


def fused_post_pre_bytes(T, H):
    K = N * H
    mixes = T * (N + N * N) * 4
    # reads: y, residual, post/comb, fn; writes: residual_cur, post'/comb', layer_input
    return T * H * 2 + T * K * 2 + mixes + M3 * K * 4 + T * K * 2 + mixes + T * H * 2


def sinkhorn_bytes(T):
    return 2 * T * N * N * 4


def bench_row(name, H, T, f_e, f_c, args, nbytes, bw):
    t0 = time.time()
    f_c(*args)  # compile
    torch.cuda.synchronize()
    ct = time.time() - t0
    e = do_bench(lambda: f_e(*args), warmup=25, rep=200, return_mode="median") * 1e3
    c = do_bench(lambda: f_c(*args), warmup=25, rep=200, return_mode="median") * 1e3
    eg = do_bench_cudagraph(lambda: f_e(*args), rep=100, return_mode="median") * 1e3
    cg = do_bench_cudagraph(lambda: f_c(*args), rep=100, return_mode="median") * 1e3
    floor_us = nbytes / bw * 1e6
    print(f"{name:18s} H={H:5d} T={T:7d} eager {e:8.1f} graph {eg:8.1f} | compiled {c:8.1f} "
          f"graph {cg:8.1f} us | floor {floor_us:7.1f} us  floor/compiled_graph "
          f"{floor_us / cg:5.2f}  (compile {ct:.1f}s)", flush=True)
    return dict(op=name, H=H, T=T, eager_us=e, compiled_us=c, eager_graph_us=eg,
                compiled_graph_us=cg, bytes=nbytes, floor_us=floor_us,
                compiled_graph_frac=floor_us / cg, compile_s=ct)


def main():
    global mhc_pre_ref, mhc_post_ref
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--peer", default=None, help="path of the peer's torch_mhc.py")
    ap.add_argument("--ops", default="mhc_fused_post_pre,sinkhorn")
    args = ap.parse_args()

    peer, peer_path = _load_peer(args.peer)
    if peer is not None:
        mhc_pre_ref, mhc_post_ref = peer.mhc_pre_ref, peer.mhc_post_ref
        print(f"refs: imported from {peer_path}")
    else:
        print("refs: peer file not found, using the local copies")
    ops = set(args.ops.split(","))

    torch.manual_seed(0)
    dev = torch.cuda.get_device_name()
    bw = copy_bandwidth()
    print(f"device: {dev}; torch {torch.__version__}; copy bandwidth {bw / 1e12:.2f} TB/s "
          f"(read+write)", flush=True)
    Hs = [4096, 7168]
    Ts = [1, 128, 4096] if args.quick else [1, 16, 128, 1024, 4096, 16384]
    rows = []
    if "mhc_fused_post_pre" in ops:
        c_fused = torch.compile(mhc_fused_post_pre_ref, dynamic=False)
        for H in Hs:
            K = N * H
            j = torch.arange(N, device="cuda").repeat_interleave(H)
            fn = torch.randn(M3, K, device="cuda") * 1e-4 * (1 + 0.01 * j)
            scale = torch.randn(3, device="cuda") * 0.1
            base = torch.randn(M3, device="cuda") * 0.1
            for T in Ts:
                res = torch.randn(T, N, H, device="cuda").to(torch.bfloat16)
                y = torch.randn(T, H, device="cuda").to(torch.bfloat16)
                post = torch.rand(T, N, device="cuda") * 2
                comb = torch.rand(T, N, N, device="cuda")
                rows.append(bench_row("mhc_fused_post_pre", H, T, mhc_fused_post_pre_ref, c_fused,
                                      (y, res, post, comb, fn, scale, base),
                                      fused_post_pre_bytes(T, H), bw))
    if "sinkhorn" in ops:
        c_sk = torch.compile(sinkhorn_ref, dynamic=False)
        sk_Ts = Ts + ([] if args.quick else [65536, 1 << 20])
        for T in sk_Ts:
            L = torch.randn(T, N, N, device="cuda")
            rows.append(bench_row("sinkhorn", 0, T, sinkhorn_ref, c_sk, (L,), sinkhorn_bytes(T),
                                  bw))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=dev, copy_bw=bw, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()

"""tessera on torch CUDA tensors (the GPU machine; marked gpu, CI deselects them): every op and
the vLLM drop-in on vLLM's grid, torch.ops.tessera.* with out= forms, torch.compile with
fullgraph=True, CUDA-graph capture and replay, streams, and the errors a torch user meets."""

import numpy as np
import pytest

import tessera
from tessera import mhc
from tessera.compat import vllm

from references import assert_close, bf16_round, hc_head, mhc_post, mhc_pre

N, M3, EPS = 4, 24, 1e-6
GRID = [(T, H) for T in (1, 4, 8, 128) for H in (4096, 7168)]


@pytest.fixture
def torch(cuda_torch):
    cuda_torch.manual_seed(0)
    return cuda_torch


def standard_mix(torch, H):
    ramp = (1 + torch.arange(N, device="cuda") * 0.01).view(1, N, 1)
    fn = (torch.randn(M3, N, H, device="cuda") * 1e-4 * ramp).flatten(1, 2)
    return fn, torch.randn(3, device="cuda") * 0.1, torch.randn(M3, device="cuda") * 0.1


def layer_inputs(torch, T, H):
    bf = torch.bfloat16
    return (torch.randn(T, H, device="cuda", dtype=bf), torch.randn(T, N, H, device="cuda", dtype=bf),
            torch.randn(T, N, 1, device="cuda"), torch.randn(T, N, N, device="cuda"))


# ---- vLLM's grid, through the drop-in and through torch.ops.vllm -----------------------------


@pytest.mark.parametrize("T,H", GRID)
def test_vllm_grid(torch, T, H):
    vllm.register_torch_ops("vllm")
    x, residual, post, comb = layer_inputs(torch, T, H)
    fn, scale, base = standard_mix(torch, H)
    got = torch.ops.vllm.mhc_pre_tilelang(residual, fn, scale, base, EPS, EPS, EPS, 1.0, 20)
    want = mhc_pre(residual, fn, scale, base, EPS, EPS, EPS, 1.0, 20)
    for g, w in zip(got, want[:2] + (bf16_round(want[2]),)):
        assert_close(g, w, 5e-2, 1e-2, f"pre T={T} H={H}")
    out = torch.ops.vllm.mhc_post_tilelang(x, residual, post, comb)
    assert_close(out, bf16_round(mhc_post(x, residual, post, comb)), 5e-2, 1e-2, "post")
    fused = torch.ops.vllm.mhc_fused_post_pre_tilelang(
        x, residual, post, comb, fn, scale, base, EPS, EPS, EPS, 1.0, 20)
    new_res = bf16_round(mhc_post(x, residual, post, comb))
    want = (new_res,) + mhc_pre(new_res, fn, scale, base, EPS, EPS, EPS, 1.0, 20)
    for g, w in zip(fused, want[:3] + (bf16_round(want[3]),)):
        assert_close(g, w, 1e-2, 1e-2, f"fused T={T} H={H}")
    hfn = torch.randn(N, N * H, device="cuda") * 1e-4
    hs, hb = torch.randn(1, device="cuda") * 0.1, torch.randn(N, device="cuda") * 0.1
    head = torch.ops.vllm.hc_head_fused_kernel_tilelang(residual, hfn, hs, hb, EPS, EPS)
    assert head.shape == (T, H) and head.dtype == torch.bfloat16
    assert_close(head, bf16_round(hc_head(residual, hfn, hs, hb, EPS, EPS)), 5e-2, 1e-2, "head")


@pytest.mark.parametrize("T", [1, 33, 1024])
def test_norm_and_broadcast_variants(torch, T):
    H = 4096
    _, residual, _, _ = layer_inputs(torch, T, H)
    fn, scale, base = standard_mix(torch, H)
    weight = (torch.randn(H, device="cuda") * 0.1 + 1).bfloat16()
    got = vllm.mhc_pre_tilelang(residual, fn, scale, base, EPS, EPS, EPS, 2.0, 20,
                                norm_weight=weight, norm_eps=1e-5)
    want = mhc_pre(residual, fn, scale, base, EPS, EPS, EPS, 2.0, 20, weight, 1e-5)
    assert_close(got[2], bf16_round(want[2]), 5e-2, 1e-2, "norm layer input")
    emb = residual[:, 0].contiguous()
    rep = emb.unsqueeze(1).repeat(1, N, 1)
    b = vllm.mhc_pre_broadcast_tilelang(emb, fn, scale, base, EPS, EPS, EPS, 2.0, 20,
                                        norm_weight=weight, norm_eps=1e-5)
    assert torch.equal(b[0], rep)
    want = mhc_pre(rep, fn, scale, base, EPS, EPS, EPS, 2.0, 20, weight, 1e-5)
    for g, w in zip(b[1:], want[:2] + (bf16_round(want[2]),)):
        assert_close(g, w, 5e-2, 1e-2, "broadcast")


# ---- torch.ops.tessera: functional and out= forms ------------------------------------------


def test_out_forms_write_every_element(torch):
    T, H = 37, 3000
    x, residual, post, comb = layer_inputs(torch, T, H)
    fn, scale, base = standard_mix(torch, H)
    ops = torch.ops.tessera
    p, c, li = ops.mhc_pre(residual, fn, scale, base)
    outs = [torch.full_like(p, float("nan")), torch.full_like(c, float("nan")),
            torch.full_like(li, float("nan"))]
    ops.mhc_pre_out(residual, fn, scale, base, *outs)
    for o, f in zip(outs, (p, c, li)):
        assert torch.equal(o, f)
    out = torch.full_like(residual, float("nan"))
    ops.mhc_post_out(x, residual, post, comb, out)
    assert torch.equal(out, ops.mhc_post(x, residual, post, comb))
    fused = ops.mhc_fused_post_pre(x, residual, post, comb, fn, scale, base)
    outs = [torch.full_like(t, float("nan")) for t in fused]
    ops.mhc_fused_post_pre_out(x, residual, post, comb, fn, scale, base, *outs)
    for o, f in zip(outs, fused):
        assert torch.equal(o, f)
    head_out = torch.full((T, H), float("nan"), device="cuda", dtype=torch.bfloat16)
    ops.hc_head_out(residual, fn[:N], scale[:1], base[:N], head_out)
    assert torch.equal(head_out, ops.hc_head(residual, fn[:N], scale[:1], base[:N]))


def test_sinkhorn_and_zero_tokens(torch):
    logits = torch.randn(100, N, N, device="cuda")
    comb = torch.ops.tessera.sinkhorn(logits)
    assert torch.allclose(comb.sum(-2), torch.ones(100, N, device="cuda"), atol=1e-4)
    assert mhc.mhc_post(*layer_inputs(torch, 0, 512)).shape == (0, N, 512)


# ---- torch.compile, CUDA graphs, streams ----------------------------------------------------


def layer_loop(torch, x, residual, fn, scale, base, layers=3):
    post, comb, h = torch.ops.tessera.mhc_pre(residual, fn, scale, base)
    for _ in range(layers):
        h = h * 0.5  # a stand-in sublayer torch.compile can fuse around the custom ops
        residual, post, comb, h = torch.ops.tessera.mhc_fused_post_pre(
            h, residual, post, comb, fn, scale, base)
    return torch.ops.tessera.mhc_post(h, residual, post, comb)


def test_torch_compile_fullgraph(torch):
    T, H = 64, 4096
    x, residual, _, _ = layer_inputs(torch, T, H)
    fn, scale, base = standard_mix(torch, H)
    eager = layer_loop(torch, x, residual, fn, scale, base)
    compiled = torch.compile(lambda *a: layer_loop(torch, *a), fullgraph=True)
    assert torch.equal(compiled(x, residual, fn, scale, base), eager)


def test_cuda_graph_capture_and_replay(torch):
    T, H = 128, 7168
    x, residual, post, comb = layer_inputs(torch, T, H)
    fn, scale, base = standard_mix(torch, H)
    args = (x, residual, post, comb, fn, scale, base)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up (compiles the kernels) off the capture
        torch.ops.tessera.mhc_fused_post_pre(*args)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = torch.ops.tessera.mhc_fused_post_pre(*args)
    for _ in range(3):
        residual.copy_(torch.randn_like(residual, dtype=torch.float32).bfloat16())
        x.copy_(torch.randn_like(x, dtype=torch.float32).bfloat16())
        graph.replay()
        eager = torch.ops.tessera.mhc_fused_post_pre(*args)
        for s, e in zip(static_out, eager):
            assert torch.equal(s, e)


def test_runs_on_the_current_stream(torch):
    T, H = 256, 4096
    x, residual, post, comb = layer_inputs(torch, T, H)
    want = torch.ops.tessera.mhc_post(x, residual, post, comb)
    late = torch.empty_like(residual)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        torch.cuda._sleep(50_000_000)  # the copy below lands long after the launch is enqueued
        late.copy_(residual)
        got = torch.ops.tessera.mhc_post(x, late, post, comb)
    torch.cuda.synchronize()
    assert torch.equal(got, want)
    other = torch.cuda.Stream()
    with torch.cuda.stream(other):
        torch.cuda._sleep(50_000_000)
        late2 = residual.clone()
    got2 = mhc.mhc_post(x, late2, post, comb, stream=other)  # explicit stream= argument
    torch.cuda.synchronize()
    assert torch.equal(got2, want)


def test_two_streams_concurrently(torch):
    T, H = 512, 7168
    a = layer_inputs(torch, T, H)
    b = layer_inputs(torch, T, H)
    want_a, want_b = mhc.mhc_post(*a), mhc.mhc_post(*b)
    s1, s2 = torch.cuda.Stream(), torch.cuda.Stream()
    s1.wait_stream(torch.cuda.current_stream())
    s2.wait_stream(torch.cuda.current_stream())
    for _ in range(10):
        with torch.cuda.stream(s1):
            got_a = mhc.mhc_post(*a)
        with torch.cuda.stream(s2):
            got_b = mhc.mhc_post(*b)
    torch.cuda.synchronize()
    assert torch.equal(got_a, want_a) and torch.equal(got_b, want_b)


# ---- errors ---------------------------------------------------------------------------------


def test_errors(torch):
    T, H = 8, 4096
    x, residual, post, comb = layer_inputs(torch, T, H)
    fn, scale, base = standard_mix(torch, H)
    with pytest.raises(ValueError, match="contiguous"):
        mhc.mhc_post(x, residual.transpose(0, 1).contiguous().transpose(0, 1), post, comb)
    with pytest.raises(ValueError, match="residual"):
        mhc.mhc_pre(residual.float(), fn, scale, base)
    with pytest.raises(ValueError, match="device|host|cuda"):
        mhc.mhc_post(x.cpu(), residual, post, comb)
    with pytest.raises(AssertionError):
        vllm.mhc_fused_post_pre_tilelang(x, residual, post, comb, fn, scale, base, EPS, EPS, EPS,
                                         1.0, 20, n_splits=3)
    with pytest.raises(ValueError, match="dtype"):
        mhc.mhc_post(x, residual, post.double(), comb)
    assert tessera.info()["cuda_devices"] >= 1

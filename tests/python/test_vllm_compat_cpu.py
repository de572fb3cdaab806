"""tessera.compat.vllm against the parameter grid, inputs and tolerances of vLLM's
tests/kernels/test_mhc_kernels.py (read, not copied: the references are this directory's fp64
numpy ones), on numpy arrays and the CPU backend. The same checks run on torch CUDA tensors in
gpu/test_torch_gpu.py."""

import numpy as np
import pytest

from tessera.compat import vllm

from conftest import BF16
from references import assert_close, bf16_round, hc_head, mhc_post, mhc_pre

pytestmark = pytest.mark.usefixtures("cpu_backend")

GRID = [(T, H) for T in (1, 4, 8, 128) for H in (4096, 7168)]
N = 4
M3 = N * (N + 2)
EPS = 1e-6


def standard_mix(rng, H):
    """vLLM's test inputs for the projection: small fn rows, scale and base ~ 0.1."""
    ramp = (1 + np.arange(N) * 0.01).reshape(1, N, 1)
    fn = (rng.standard_normal((M3, N, H)) * 1e-4 * ramp).reshape(M3, N * H).astype(np.float32)
    scale = (rng.standard_normal(3) * 0.1).astype(np.float32)
    base = (rng.standard_normal(M3) * 0.1).astype(np.float32)
    return fn, scale, base


def post_inputs(rng, T, H):
    """vLLM's mhc_post inputs: every tensor N(0, 1), post as [T, n, 1]."""
    return (rng.standard_normal((T, H)).astype(BF16), rng.standard_normal((T, N, H)).astype(BF16),
            rng.standard_normal((T, N, 1)).astype(np.float32),
            rng.standard_normal((T, N, N)).astype(np.float32))


@pytest.mark.parametrize("T,H", GRID)
def test_mhc_pre_tilelang(rng, T, H):
    residual = rng.standard_normal((T, N, H)).astype(BF16)
    fn, scale, base = standard_mix(rng, H)
    got = vllm.mhc_pre_tilelang(residual, fn, scale, base, EPS, EPS, EPS, 1.0, 20)
    assert isinstance(got, tuple) and len(got) == 3
    post, comb, layer_input = mhc_pre(residual, fn, scale, base, EPS, EPS, EPS, 1.0, 20)
    assert got[0].shape == (T, N, 1) and got[1].shape == (T, N, N) and got[2].dtype == BF16
    for g, w, name in zip(got, (post, comb, bf16_round(layer_input)), ("post", "comb", "x")):
        assert_close(g, w, 5e-2, 1e-2, f"mhc_pre {name} T={T} H={H}")


@pytest.mark.parametrize("T,H", GRID)
def test_mhc_post_tilelang(rng, T, H):
    x, residual, post, comb = post_inputs(rng, T, H)
    got = vllm.mhc_post_tilelang(x, residual, post, comb)
    assert got.shape == residual.shape and got.dtype == BF16
    assert_close(got, bf16_round(mhc_post(x, residual, post, comb)), 5e-2, 1e-2, "mhc_post")


@pytest.mark.parametrize("T,H", GRID)
def test_mhc_fused_post_pre_tilelang(rng, T, H):
    x, residual, post, comb = post_inputs(rng, T, H)
    fn, scale, base = standard_mix(rng, H)
    got = vllm.mhc_fused_post_pre_tilelang(
        x, residual, post, comb, fn, scale, base, EPS, EPS, EPS, 1.0, 20
    )
    assert isinstance(got, tuple) and len(got) == 4
    new_residual = bf16_round(mhc_post(x, residual, post, comb))
    want = (new_residual,) + mhc_pre(new_residual, fn, scale, base, EPS, EPS, EPS, 1.0, 20)
    want = want[:3] + (bf16_round(want[3]),)
    for g, w, name in zip(got, want, ("residual", "post", "comb", "x")):
        assert_close(g, w, 1e-2, 1e-2, f"fused {name} T={T} H={H}")


@pytest.mark.parametrize("T,H", GRID)
def test_hc_head_fused_kernel_tilelang(rng, T, H):
    residual = rng.standard_normal((T, N, H)).astype(BF16)
    fn = (rng.standard_normal((N, N * H)) * 1e-4).astype(np.float32)
    scale = (rng.standard_normal(1) * 0.1).astype(np.float32)
    base = (rng.standard_normal(N) * 0.1).astype(np.float32)
    got = vllm.hc_head_fused_kernel_tilelang(residual, fn, scale, base, EPS, EPS)
    assert got.shape == (T, H) and got.dtype == BF16
    assert not np.isnan(got.astype(np.float32)).any()
    assert_close(got, bf16_round(hc_head(residual, fn, scale, base, EPS, EPS)), 5e-2, 1e-2,
                 "hc_head")


def test_mhc_pre_broadcast_tilelang(rng):
    T, H = 8, 4096
    embedding = rng.standard_normal((T, H)).astype(BF16)
    fn3 = rng.standard_normal((M3, N, H)).astype(np.float32)
    fn_flat = fn3.reshape(M3, N * H)
    scale, base = np.ones(3, np.float32), np.zeros(M3, np.float32)
    weight = np.ones(H, dtype=BF16)
    eps = 1e-5
    got = vllm.mhc_pre_broadcast_tilelang(
        embedding, fn_flat, scale, base, eps, eps, eps, 1.0, 1, norm_weight=weight,
        fn_broadcast=fn3.sum(1),
    )
    assert len(got) == 4
    repeated = np.repeat(embedding[:, None, :], N, axis=1)
    assert np.array_equal(got[0].view(np.uint16), repeated.view(np.uint16))
    post, _, _ = mhc_pre(repeated, fn_flat, scale, base, eps, eps, eps, 1.0, 1)
    assert_close(got[1], post, 1e-2, 1e-2, "broadcast post")
    # Without fn_broadcast the wrapper sums fn itself, as vLLM's does.
    again = vllm.mhc_pre_broadcast_tilelang(
        embedding, fn_flat, scale, base, eps, eps, eps, 1.0, 1, norm_weight=weight
    )
    assert_close(again[1], got[1], 1e-6, 1e-6, "broadcast post, fn summed here")


GEMM_SHAPES = [(1, 1280), (512, 1280), (2048, 1280), (1, 4096), (64, 4096), (512, 4096),
               (2048, 4096), (1, 7168), (64, 7168), (512, 7168), (2048, 7168)]


@pytest.mark.parametrize("T,H", GEMM_SHAPES)
def test_hc_prenorm_gemm_tilelang(rng, T, H):
    x = rng.standard_normal((T, N * H)).astype(BF16)
    fn = (rng.standard_normal((M3, N * H)) * 1e-4).astype(np.float32)
    out = np.full((1, T, M3), np.nan, np.float32)
    sqrsum = np.full((1, T), np.nan, np.float32)
    vllm._tilelang_hc_prenorm_gemm(x, fn, out, sqrsum, H, N)
    xf = x.astype(np.float64)
    assert_close(out[0], xf @ fn.astype(np.float64).T, 1e-5, 1e-4, "gemm out")
    assert_close(sqrsum[0], (xf**2).sum(-1), 1e-2, 1e-6, "gemm sqrsum")


def test_fused_keeps_vllms_n_splits_assertions(rng):
    T, H = 2, 4096
    args = [rng.standard_normal((T, H)).astype(BF16),
            rng.standard_normal((T, N, H)).astype(BF16),
            np.ones((T, N, 1), np.float32), np.ones((T, N, N), np.float32),
            *standard_mix(rng, H), EPS, EPS, EPS, 1.0, 20]
    with pytest.raises(AssertionError):
        vllm.mhc_fused_post_pre_tilelang(*args, n_splits=3)
    vllm.mhc_fused_post_pre_tilelang(*args, n_splits=8, tile_n=3)  # accepted, then ignored


def test_zero_tokens(rng):
    H = 4096
    fn, scale, base = standard_mix(rng, H)
    post, comb, x = vllm.mhc_pre_tilelang(np.empty((0, N, H), BF16), fn, scale, base, EPS, EPS,
                                          EPS, 1.0, 20)
    assert post.shape == (0, N, 1) and x.shape == (0, H)
    head = vllm.hc_head_fused_kernel_tilelang(np.empty((0, N, H), BF16), fn[:N], scale[:1],
                                              base[:N], EPS, EPS)
    assert head.shape == (0, H)

"""fp64 numpy references of the mHC ops, written from docs/mhc-spec.md and the formulas of
vLLM's kernel test (independent of the C++ references the library exposes)."""

import numpy as np


def f64(a):
    """fp64 numpy values of a numpy array or a torch tensor (any device)."""
    if hasattr(a, "detach"):
        return a.detach().double().cpu().numpy()
    return np.asarray(a).astype(np.float64)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sinkhorn(logits, repeat, eps):
    x = f64(logits)
    x = np.exp(x - x.max(-1, keepdims=True))
    x = x / x.sum(-1, keepdims=True) + eps
    x = x / (x.sum(-2, keepdims=True) + eps)
    for _ in range(repeat - 1):
        x = x / (x.sum(-1, keepdims=True) + eps)
        x = x / (x.sum(-2, keepdims=True) + eps)
    return x


def mhc_pre(residual, fn, scale, base, rms_eps, pre_eps, sinkhorn_eps, post_mult, repeat,
            norm_weight=None, norm_eps=1e-6):
    """(post [T, n, 1], comb [T, n, n], layer_input [T, H]) in fp64 (layer_input unrounded)."""
    T, n, H = residual.shape
    rf = f64(residual).reshape(T, n * H)
    mixes = rf @ f64(fn).T
    mixes *= 1.0 / np.sqrt((rf**2).sum(-1, keepdims=True) / (n * H) + rms_eps)
    s = f64(scale)
    mixes = mixes * np.concatenate([np.full(n, s[0]), np.full(n, s[1]), np.full(n * n, s[2])])
    mixes = mixes + f64(base)
    pre = sigmoid(mixes[:, :n]) + pre_eps
    post = sigmoid(mixes[:, n : 2 * n]) * post_mult
    comb = sinkhorn(mixes[:, 2 * n :].reshape(T, n, n), repeat, sinkhorn_eps)
    layer_input = (f64(residual) * pre[:, :, None]).sum(1)
    if norm_weight is not None:
        li = bf16_round(layer_input)
        layer_input = li / np.sqrt((li**2).mean(-1, keepdims=True) + norm_eps) * f64(norm_weight)
    return post[:, :, None], comb, layer_input


def mhc_post(x, residual, post, comb):
    """out [T, n, H] = post ⊗ x + combᵀ · residual, fp64."""
    T, n, H = residual.shape
    post = f64(post).reshape(T, n)
    return f64(x)[:, None, :] * post[:, :, None] + np.einsum(
        "tio,tih->toh", f64(comb), f64(residual)
    )


def hc_head(residual, fn, scale, base, rms_eps, hc_eps):
    T, n, H = residual.shape
    rf = f64(residual).reshape(T, n * H)
    r = 1.0 / np.sqrt((rf**2).mean(-1, keepdims=True) + rms_eps)
    pre = sigmoid((rf * r) @ f64(fn).T * f64(scale)[0] + f64(base)) + hc_eps
    return (pre[:, :, None] * f64(residual)).sum(1)


def bf16_round(a):
    """fp64 values rounded to bf16 (nearest even) and back (ml_dtypes, else torch)."""
    a32 = np.asarray(a, dtype=np.float32)
    try:
        import ml_dtypes
    except ImportError:
        import torch

        return torch.from_numpy(a32).to(torch.bfloat16).double().numpy()
    return a32.astype(ml_dtypes.bfloat16).astype(np.float64)


def assert_close(got, want, atol, rtol, what=""):
    """torch.testing.assert_close's rule, |got - want| <= atol + rtol·|want|, every element."""
    got, want = f64(got), f64(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert np.isfinite(got).all(), f"{what}: non-finite values"
    err = np.abs(got - want)
    bad = err > atol + rtol * np.abs(want)
    assert not bad.any(), (
        f"{what}: {bad.sum()} of {bad.size} elements outside atol {atol} rtol {rtol}; "
        f"max |err| {err.max():.3g}"
    )

"""A drop-in for vLLM's TileLang mHC wrappers (vllm/model_executor/kernels/mhc/tilelang.py):
the same function names, parameters, defaults and return conventions, on Tessera's kernels.

    # from vllm.model_executor.kernels.mhc.tilelang import mhc_pre_tilelang, ...
    from tessera.compat.vllm import (hc_head_fused_kernel_tilelang, mhc_fused_post_pre_tilelang,
                                     mhc_post_tilelang, mhc_pre_tilelang)

Conventions kept: every output is a new tensor and no input is modified; ``post`` comes back as
``[..., n, 1]``; the fused op returns the new residual first; ``n_splits`` and ``tile_n`` are
accepted and then chosen by Tessera (the fused op still asserts the caller's ``n_splits`` is 1,
2, 4 or 8 and divides H, as vLLM does); ``norm_weight`` may be any float dtype (cast to bf16).
Differences: T = 0 works for every op (vLLM's mhc_pre divides by zero there), and numpy arrays
run on the CPU backend. torch.ops.vllm.* registration is opt-in: :func:`register_torch_ops`.

Not provided: ``mhc_pre_delayed_tilelang`` (DeepSeek-V4.1's delayed pre-mix) and the early
in-place 9-argument ``hc_head`` op.
"""

from typing import Optional

try:
    import torch

    Tensor = torch.Tensor
except ImportError:  # numpy-only installs: the functions still run on host arrays
    torch = None
    Tensor = object

from .. import mhc as _mhc
from .._tensors import empty_like_input, is_torch, shape_of

__all__ = [
    "mhc_pre_tilelang",
    "mhc_pre_broadcast_tilelang",
    "mhc_post_tilelang",
    "mhc_fused_post_pre_tilelang",
    "hc_head_fused_kernel_tilelang",
    "sinkhorn_normalize",
    "_torch_hc_prenorm_gemm",
    "_tilelang_hc_prenorm_gemm",
    "register_torch_ops",
]


def _view(x, shape):
    """A view of `x` with `shape` (torch: .view, so no hidden copy; numpy: reshape)."""
    return x.view(shape) if is_torch(x) else x.reshape(shape)


def _bf16_weight(w):
    if w is None or not is_torch(w):
        return w
    if w.dtype != torch.bfloat16 or not w.is_contiguous():
        w = w.to(torch.bfloat16).contiguous()
    return w


def _mix_config(rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                norm_weight, norm_eps):
    return dict(
        rms_eps=rms_eps, hc_pre_eps=hc_pre_eps, hc_sinkhorn_eps=hc_sinkhorn_eps,
        post_mult=hc_post_mult_value, sinkhorn_iters=sinkhorn_repeat,
        norm_weight=_bf16_weight(norm_weight), norm_eps=norm_eps if norm_weight is not None else None,
    )


def _pre_outputs(ref, T, n, H):
    return (empty_like_input(ref, (T, n, 1), "f32"), empty_like_input(ref, (T, n, n), "f32"),
            empty_like_input(ref, (T, H), "bf16"))


def mhc_pre_tilelang(
    residual: Tensor,
    fn: Tensor,
    hc_scale: Tensor,
    hc_base: Tensor,
    rms_eps: float,
    hc_pre_eps: float,
    hc_sinkhorn_eps: float,
    hc_post_mult_value: float,
    sinkhorn_repeat: int,
    n_splits: int = 1,
    norm_weight: Optional[Tensor] = None,
    norm_eps: float = 1e-6,
) -> tuple[Tensor, Tensor, Tensor]:
    """(post [..., n, 1] f32, comb [..., n, n] f32, layer_input [..., H] bf16) from residual
    [..., n, H] bf16."""
    *outer, n, H = shape_of(residual)
    flat = _view(residual, (-1, n, H))
    T = shape_of(flat)[0]
    outs = _pre_outputs(residual, T, n, H)
    _mhc.mhc_pre(flat, fn, hc_scale, hc_base, out=outs,
                 **_mix_config(rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                               sinkhorn_repeat, norm_weight, norm_eps))
    post, comb, layer_input = outs
    return (_view(post, (*outer, n, 1)), _view(comb, (*outer, n, n)),
            _view(layer_input, (*outer, H)))


def mhc_pre_broadcast_tilelang(
    residual: Tensor,
    fn: Tensor,
    hc_scale: Tensor,
    hc_base: Tensor,
    rms_eps: float,
    hc_pre_eps: float,
    hc_sinkhorn_eps: float,
    hc_post_mult_value: float,
    sinkhorn_repeat: int,
    n_splits: int = 1,
    norm_weight: Optional[Tensor] = None,
    norm_eps: float = 1e-6,
    fn_broadcast: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """First layer: residual is the embedding [T, H] bf16; returns (residual_out [T, n, H],
    post [T, n, 1], comb [T, n, n], layer_input [T, H])."""
    assert norm_weight is not None, "broadcast mHC pre currently requires fused RMSNorm"
    shape = shape_of(residual)
    assert len(shape) == 2, f"broadcast mHC pre expects a 2-D residual, got {list(shape)}"
    T, H = shape
    M3, K = shape_of(fn)
    n = K // H
    if fn_broadcast is None:
        fn_broadcast = _view(fn, (M3, n, H)).sum(1)
        if not is_torch(fn_broadcast):
            fn_broadcast = fn_broadcast.astype("float32")
    outs = (empty_like_input(residual, (T, n, H), "bf16"),) + _pre_outputs(residual, T, n, H)
    cfg = _mix_config(rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                      norm_weight, norm_eps)
    weight = cfg.pop("norm_weight")
    cfg["norm_eps"] = norm_eps
    _mhc.mhc_pre_broadcast(residual, fn_broadcast, hc_scale, hc_base, weight, hc_mult=n, out=outs,
                           **cfg)
    return outs


def mhc_post_tilelang(
    x: Tensor,
    residual: Tensor,
    post_layer_mix: Tensor,
    comb_res_mix: Tensor,
) -> Tensor:
    """out [T, n, H] bf16 = post ⊗ x + combᵀ · residual."""
    return _mhc.mhc_post(x, residual, post_layer_mix, comb_res_mix)


def mhc_fused_post_pre_tilelang(
    x: Tensor,
    residual: Tensor,
    post_layer_mix: Tensor,
    comb_res_mix: Tensor,
    fn: Tensor,
    hc_scale: Tensor,
    hc_base: Tensor,
    rms_eps: float,
    hc_pre_eps: float,
    hc_sinkhorn_eps: float,
    hc_post_mult_value: float,
    sinkhorn_repeat: int,
    n_splits: int = 1,
    tile_n: int = 1,
    norm_weight: Optional[Tensor] = None,
    norm_eps: float = 1e-6,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """mhc_post then the next mhc_pre: (residual [..., n, H] bf16, post [..., n, 1] f32,
    comb [..., n, n] f32, layer_input [..., H] bf16)."""
    *outer, n, H = shape_of(residual)
    assert n_splits in (1, 2, 4, 8), f"n_splits must be 1, 2, 4 or 8, got {n_splits}"
    assert H % n_splits == 0, f"hidden size {H} is not a multiple of n_splits {n_splits}"
    flat = _view(residual, (-1, n, H))
    T = shape_of(flat)[0]
    outs = (empty_like_input(residual, (T, n, H), "bf16"),) + _pre_outputs(residual, T, n, H)
    _mhc.mhc_fused_post_pre(
        _view(x, (T, H)), flat, _view(post_layer_mix, (T, n)), _view(comb_res_mix, (T, n, n)),
        fn, hc_scale, hc_base, out=outs,
        **_mix_config(rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                      norm_weight, norm_eps))
    res, post, comb, layer_input = outs
    return (_view(res, (*outer, n, H)), _view(post, (*outer, n, 1)), _view(comb, (*outer, n, n)),
            _view(layer_input, (*outer, H)))


def hc_head_fused_kernel_tilelang(
    hs_flat: Tensor,
    fn: Tensor,
    hc_scale: Tensor,
    hc_base: Tensor,
    rms_eps: float,
    hc_eps: float,
) -> Tensor:
    """out [T, H] bf16 from hs_flat [T, n, H] bf16 (T = 0 gives an empty [0, H])."""
    return _mhc.hc_head(hs_flat, fn, hc_scale, hc_base, rms_eps=rms_eps, hc_eps=hc_eps)


def sinkhorn_normalize(x: Tensor, repeat: int, eps: float) -> Tensor:
    """Sinkhorn normalisation of [..., n, n] f32 logits (softmax + eps, then column and row
    normalisations; the function vLLM's test calls sinkhorn_normalize_ref). vLLM has no
    wrapper of its own for it."""
    *outer, n, _ = shape_of(x)
    out = _mhc.sinkhorn(_view(x, (-1, n, n)), iters=repeat, eps=eps)
    return _view(out, (*outer, n, n))


# ---- the stage-A helpers vLLM's test imports ------------------------------------------------


def _torch_hc_prenorm_gemm(x: Tensor, fn: Tensor, out: Tensor, sqrsum: Tensor) -> None:
    """out[0] = x·fnᵀ and sqrsum[0] = Σx² in fp32 torch ops (the test's reference)."""
    assert out.shape[0] == 1 and sqrsum.shape[0] == 1
    xf = x.float()
    out[0] = xf @ fn.t()
    sqrsum[0] = xf.square().sum(-1)


def _tilelang_hc_prenorm_gemm(
    x: Tensor,
    fn: Tensor,
    out: Tensor,
    sqrsum: Tensor,
    hidden_size: int,
    hc_mult: int,
    tile_n: int = 12,
    n_thr: int = 512,
    n_splits: int = 1,
) -> None:
    """Stage A in full fp32 (Tessera's FMA precision) into out [S, T, M3] and sqrsum [S, T],
    S = n_splits; `tile_n` and `n_thr` are TileLang tile choices, ignored here."""
    assert out.shape[0] == n_splits and sqrsum.shape[0] == n_splits
    assert x.shape[1] == hc_mult * hidden_size
    _mhc._stage_a(x, fn, out, sqrsum, hidden=hidden_size, hc_mult=hc_mult)


# ---- torch.ops.vllm.* ---------------------------------------------------------------------


_FAKES = {}


def _fake_pre(residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
              hc_post_mult_value, sinkhorn_repeat, n_splits=1, norm_weight=None, norm_eps=1e-6):
    *outer, n, H = residual.shape
    f32 = torch.float32
    return (residual.new_empty((*outer, n, 1), dtype=f32),
            residual.new_empty((*outer, n, n), dtype=f32), residual.new_empty((*outer, H)))


def _fake_post(x, residual, post_layer_mix, comb_res_mix):
    return torch.empty_like(residual)


def _fake_fused(x, residual, post_layer_mix, comb_res_mix, fn, hc_scale, hc_base, rms_eps,
                hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, n_splits=1,
                tile_n=1, norm_weight=None, norm_eps=1e-6):
    *outer, n, H = residual.shape
    f32 = torch.float32
    return (torch.empty_like(residual), residual.new_empty((*outer, n, 1), dtype=f32),
            residual.new_empty((*outer, n, n), dtype=f32), residual.new_empty((*outer, H)))


def _fake_head(hs_flat, fn, hc_scale, hc_base, rms_eps, hc_eps):
    T, _, H = hs_flat.shape
    return hs_flat.new_empty((T, H))


def register_torch_ops(namespace: str = "vllm") -> None:
    """Registers mhc_pre_tilelang, mhc_post_tilelang, mhc_fused_post_pre_tilelang and
    hc_head_fused_kernel_tilelang as torch custom ops ``torch.ops.<namespace>.<name>`` with fake
    implementations, as vLLM's module does on import. Names already registered there (vLLM's
    own module imported first) are left alone. Idempotent."""
    if torch is None:
        raise ImportError("register_torch_ops needs torch")
    ops = {
        "mhc_pre_tilelang": (mhc_pre_tilelang, _fake_pre),
        "mhc_post_tilelang": (mhc_post_tilelang, _fake_post),
        "mhc_fused_post_pre_tilelang": (mhc_fused_post_pre_tilelang, _fake_fused),
        "hc_head_fused_kernel_tilelang": (hc_head_fused_kernel_tilelang, _fake_head),
    }
    for name, (fn, fake) in ops.items():
        qualified = f"{namespace}::{name}"
        if qualified in _FAKES or hasattr(getattr(torch.ops, namespace), name):
            continue
        op = torch.library.custom_op(qualified, mutates_args=())(fn)
        op.register_fake(fake)
        _FAKES[qualified] = op

"""torch.ops.tessera.*: the mHC ops as torch custom ops (torch.library.custom_op, so nothing is
compiled against torch), with fake implementations for torch.compile(fullgraph=True) and
``*_out`` forms that declare the tensors they write. Imported by ``import tessera`` when torch
is importable.

    post, comb, x = torch.ops.tessera.mhc_pre(residual, fn, scale, base)
    torch.ops.tessera.mhc_post_out(y, residual, post, comb, out)      # writes `out`
"""

from typing import Optional

import torch
from torch import Tensor

from . import mhc as _mhc

_NS = "tessera"


def _precision(fp32: bool) -> str:
    return "fp32" if fp32 else "tf32"


# ---- mhc_pre --------------------------------------------------------------------------------


@torch.library.custom_op(f"{_NS}::mhc_pre", mutates_args=())
def mhc_pre(
    residual: Tensor, fn: Tensor, scale: Tensor, base: Tensor,
    norm_weight: Optional[Tensor] = None, norm_eps: float = 1e-6, sinkhorn_iters: int = 20,
    rms_eps: float = 1e-6, hc_pre_eps: float = 1e-6, hc_sinkhorn_eps: float = 1e-6,
    post_mult: float = 2.0, fp32: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    return _mhc.mhc_pre(
        residual, fn, scale, base, norm_weight=norm_weight,
        norm_eps=norm_eps if norm_weight is not None else None, sinkhorn_iters=sinkhorn_iters,
        rms_eps=rms_eps, hc_pre_eps=hc_pre_eps, hc_sinkhorn_eps=hc_sinkhorn_eps,
        post_mult=post_mult, precision=_precision(fp32),
    )


@mhc_pre.register_fake
def _(residual, fn, scale, base, norm_weight=None, norm_eps=1e-6, sinkhorn_iters=20,
      rms_eps=1e-6, hc_pre_eps=1e-6, hc_sinkhorn_eps=1e-6, post_mult=2.0, fp32=False):
    T, n, H = residual.shape
    f32 = torch.float32
    return (residual.new_empty((T, n), dtype=f32), residual.new_empty((T, n, n), dtype=f32),
            residual.new_empty((T, H)))


@torch.library.custom_op(
    f"{_NS}::mhc_pre_out", mutates_args=("post_mix", "comb_mix", "layer_input")
)
def mhc_pre_out(
    residual: Tensor, fn: Tensor, scale: Tensor, base: Tensor, post_mix: Tensor,
    comb_mix: Tensor, layer_input: Tensor, norm_weight: Optional[Tensor] = None,
    norm_eps: float = 1e-6, sinkhorn_iters: int = 20, rms_eps: float = 1e-6,
    hc_pre_eps: float = 1e-6, hc_sinkhorn_eps: float = 1e-6, post_mult: float = 2.0,
    fp32: bool = False,
) -> None:
    _mhc.mhc_pre(
        residual, fn, scale, base, norm_weight=norm_weight,
        norm_eps=norm_eps if norm_weight is not None else None, sinkhorn_iters=sinkhorn_iters,
        rms_eps=rms_eps, hc_pre_eps=hc_pre_eps, hc_sinkhorn_eps=hc_sinkhorn_eps,
        post_mult=post_mult, precision=_precision(fp32), out=(post_mix, comb_mix, layer_input),
    )


# ---- mhc_pre_broadcast ----------------------------------------------------------------------


@torch.library.custom_op(f"{_NS}::mhc_pre_broadcast", mutates_args=())
def mhc_pre_broadcast(
    embedding: Tensor, fn_bcast: Tensor, scale: Tensor, base: Tensor, norm_weight: Tensor,
    hc_mult: int = 4, norm_eps: float = 1e-6, sinkhorn_iters: int = 20, rms_eps: float = 1e-6,
    hc_pre_eps: float = 1e-6, hc_sinkhorn_eps: float = 1e-6, post_mult: float = 2.0,
    fp32: bool = False,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return _mhc.mhc_pre_broadcast(
        embedding, fn_bcast, scale, base, norm_weight, hc_mult=hc_mult, norm_eps=norm_eps,
        sinkhorn_iters=sinkhorn_iters, rms_eps=rms_eps, hc_pre_eps=hc_pre_eps,
        hc_sinkhorn_eps=hc_sinkhorn_eps, post_mult=post_mult, precision=_precision(fp32),
    )


@mhc_pre_broadcast.register_fake
def _(embedding, fn_bcast, scale, base, norm_weight, hc_mult=4, norm_eps=1e-6, sinkhorn_iters=20,
      rms_eps=1e-6, hc_pre_eps=1e-6, hc_sinkhorn_eps=1e-6, post_mult=2.0, fp32=False):
    T, H = embedding.shape
    n, f32 = hc_mult, torch.float32
    return (embedding.new_empty((T, n, H)), embedding.new_empty((T, n), dtype=f32),
            embedding.new_empty((T, n, n), dtype=f32), embedding.new_empty((T, H)))


# ---- mhc_post -------------------------------------------------------------------------------


@torch.library.custom_op(f"{_NS}::mhc_post", mutates_args=())
def mhc_post(y: Tensor, residual: Tensor, post_mix: Tensor, comb_mix: Tensor) -> Tensor:
    return _mhc.mhc_post(y, residual, post_mix, comb_mix)


@mhc_post.register_fake
def _(y, residual, post_mix, comb_mix):
    return torch.empty_like(residual)


@torch.library.custom_op(f"{_NS}::mhc_post_out", mutates_args=("out",))
def mhc_post_out(y: Tensor, residual: Tensor, post_mix: Tensor, comb_mix: Tensor,
                 out: Tensor) -> None:
    _mhc.mhc_post(y, residual, post_mix, comb_mix, out=out)


# ---- mhc_fused_post_pre ---------------------------------------------------------------------


@torch.library.custom_op(f"{_NS}::mhc_fused_post_pre", mutates_args=())
def mhc_fused_post_pre(
    y: Tensor, residual: Tensor, post_mix: Tensor, comb_mix: Tensor, fn: Tensor, scale: Tensor,
    base: Tensor, norm_weight: Optional[Tensor] = None, norm_eps: float = 1e-6,
    sinkhorn_iters: int = 20, rms_eps: float = 1e-6, hc_pre_eps: float = 1e-6,
    hc_sinkhorn_eps: float = 1e-6, post_mult: float = 2.0, fp32: bool = False,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return _mhc.mhc_fused_post_pre(
        y, residual, post_mix, comb_mix, fn, scale, base, norm_weight=norm_weight,
        norm_eps=norm_eps if norm_weight is not None else None, sinkhorn_iters=sinkhorn_iters,
        rms_eps=rms_eps, hc_pre_eps=hc_pre_eps, hc_sinkhorn_eps=hc_sinkhorn_eps,
        post_mult=post_mult, precision=_precision(fp32),
    )


@mhc_fused_post_pre.register_fake
def _(y, residual, post_mix, comb_mix, fn, scale, base, norm_weight=None, norm_eps=1e-6,
      sinkhorn_iters=20, rms_eps=1e-6, hc_pre_eps=1e-6, hc_sinkhorn_eps=1e-6, post_mult=2.0,
      fp32=False):
    T, n, H = residual.shape
    f32 = torch.float32
    return (torch.empty_like(residual), residual.new_empty((T, n), dtype=f32),
            residual.new_empty((T, n, n), dtype=f32), residual.new_empty((T, H)))


@torch.library.custom_op(
    f"{_NS}::mhc_fused_post_pre_out",
    mutates_args=("residual_out", "post_mix_out", "comb_mix_out", "layer_input"),
)
def mhc_fused_post_pre_out(
    y: Tensor, residual: Tensor, post_mix: Tensor, comb_mix: Tensor, fn: Tensor, scale: Tensor,
    base: Tensor, residual_out: Tensor, post_mix_out: Tensor, comb_mix_out: Tensor,
    layer_input: Tensor, norm_weight: Optional[Tensor] = None, norm_eps: float = 1e-6,
    sinkhorn_iters: int = 20, rms_eps: float = 1e-6, hc_pre_eps: float = 1e-6,
    hc_sinkhorn_eps: float = 1e-6, post_mult: float = 2.0, fp32: bool = False,
) -> None:
    _mhc.mhc_fused_post_pre(
        y, residual, post_mix, comb_mix, fn, scale, base, norm_weight=norm_weight,
        norm_eps=norm_eps if norm_weight is not None else None, sinkhorn_iters=sinkhorn_iters,
        rms_eps=rms_eps, hc_pre_eps=hc_pre_eps, hc_sinkhorn_eps=hc_sinkhorn_eps,
        post_mult=post_mult, precision=_precision(fp32),
        out=(residual_out, post_mix_out, comb_mix_out, layer_input),
    )


# ---- hc_head, sinkhorn ----------------------------------------------------------------------


@torch.library.custom_op(f"{_NS}::hc_head", mutates_args=())
def hc_head(residual: Tensor, fn: Tensor, scale: Tensor, base: Tensor, rms_eps: float = 1e-6,
            hc_eps: float = 1e-6) -> Tensor:
    return _mhc.hc_head(residual, fn, scale, base, rms_eps=rms_eps, hc_eps=hc_eps)


@hc_head.register_fake
def _(residual, fn, scale, base, rms_eps=1e-6, hc_eps=1e-6):
    T, _, H = residual.shape
    return residual.new_empty((T, H))


@torch.library.custom_op(f"{_NS}::hc_head_out", mutates_args=("out",))
def hc_head_out(residual: Tensor, fn: Tensor, scale: Tensor, base: Tensor, out: Tensor,
                rms_eps: float = 1e-6, hc_eps: float = 1e-6) -> None:
    _mhc.hc_head(residual, fn, scale, base, rms_eps=rms_eps, hc_eps=hc_eps, out=out)


@torch.library.custom_op(f"{_NS}::sinkhorn", mutates_args=())
def sinkhorn(logits: Tensor, iters: int = 20, eps: float = 1e-6) -> Tensor:
    return _mhc.sinkhorn(logits, iters=iters, eps=eps)


@sinkhorn.register_fake
def _(logits, iters=20, eps=1e-6):
    return torch.empty_like(logits)

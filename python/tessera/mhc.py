"""DeepSeek-V4's mHC operators on torch tensors, numpy arrays or any DLPack tensor.

Every op comes in two forms: called plainly it returns new tensors (allocated like its first
input: same framework, same device); called with ``out=`` it writes into the caller's tensors
(a tensor for single-output ops, a tuple in return order otherwise) and returns them. CUDA
tensors run on the GPU on the current torch/cupy stream (or ``stream=``), without
synchronising; host tensors run on the CPU backend. The C++ library checks every argument
(dtype, shape, contiguity, alignment, device, overlap) and raises ValueError naming it.

Configuration is keyword arguments with the spec's defaults (docs/mhc.md): ``sinkhorn_iters``
20, ``rms_eps``, ``hc_pre_eps``, ``hc_sinkhorn_eps`` 1e-6, ``post_mult`` 2.0, ``precision``
"tf32" (or "fp32"), ``splits`` None (automatic stage-A split-K). ``hc_mult`` and ``hidden``
come from the residual's shape. Ops with a stage-A projection take ``workspace=`` (a byte
tensor of at least :func:`workspace_bytes`); without it one is allocated per call (from
torch's caching allocator for torch tensors, so graph capture works).
"""

from __future__ import annotations

import functools
import struct

from . import _lib
from ._tensors import (
    device_of,
    empty_like_input,
    pack_all,
    shape_of,
    stream_of,
)

__all__ = [
    "mhc_pre",
    "mhc_pre_norm",
    "mhc_pre_broadcast",
    "mhc_post",
    "mhc_fused_post_pre",
    "hc_head",
    "sinkhorn",
    "signature",
    "workspace_bytes",
    "reference",
]

# capi/tessera_c.h: tessera_mhc_config {int64 hidden; int32 hc_mult, sinkhorn_iters;
# float rms_eps, hc_pre_eps, hc_sinkhorn_eps, post_mult; int32 gemm_precision, splits,
# has_norm; float norm_eps}.
_CONFIG = struct.Struct("=q2i4f3if")
assert _CONFIG.size == 48

_PRECISIONS = {"tf32": 0, "fp32": 1}


@functools.lru_cache(maxsize=None)
def _op_id(name: str) -> int:
    import ctypes

    out = ctypes.c_int32()
    status = _lib.lib.tessera_mhc_op_id(name.encode(), ctypes.byref(out))
    if status:
        _lib.raise_for(status)
    return out.value


@functools.lru_cache(maxsize=1024)
def _config(
    hidden, hc_mult, sinkhorn_iters, rms_eps, hc_pre_eps, hc_sinkhorn_eps, post_mult,
    precision, splits, norm_eps,
) -> bytes:
    if precision not in _PRECISIONS:
        raise _lib.TesseraValueError(f"precision '{precision}' is neither 'tf32' nor 'fp32'")
    return _CONFIG.pack(
        int(hidden), int(hc_mult), int(sinkhorn_iters), float(rms_eps), float(hc_pre_eps),
        float(hc_sinkhorn_eps), float(post_mult), _PRECISIONS[precision],
        0 if splits is None else int(splits), norm_eps is not None,
        0.0 if norm_eps is None else float(norm_eps),
    )


def _cfg(hidden, hc_mult, kw) -> bytes:
    return _config(
        hidden, hc_mult, kw.get("sinkhorn_iters", 20), kw.get("rms_eps", 1e-6),
        kw.get("hc_pre_eps", 1e-6), kw.get("hc_sinkhorn_eps", 1e-6), kw.get("post_mult", 2.0),
        kw.get("precision", "tf32"), kw.get("splits"), kw.get("norm_eps"),
    )


_CONFIG_KEYS = frozenset(
    ("sinkhorn_iters", "rms_eps", "hc_pre_eps", "hc_sinkhorn_eps", "post_mult", "precision",
     "splits", "norm_eps")
)


def _check_keys(op: str, kw: dict) -> None:
    unknown = set(kw) - _CONFIG_KEYS
    if unknown:
        raise TypeError(f"{op}() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")


@functools.lru_cache(maxsize=4096)
def _workspace_bytes(op_id: int, cfg: bytes, tokens: int, device: int) -> int:
    import ctypes

    out = ctypes.c_int64()
    status = _lib.lib.tessera_mhc_workspace_bytes(op_id, cfg, tokens, device, ctypes.byref(out))
    if status:
        _lib.raise_for(status)
    return out.value


def _norm_cfg(op: str, hidden: int, hc_mult: int, norm_weight, config: dict) -> bytes:
    """The config of an op with an optional fused norm: norm_eps (default 1e-6) iff a weight."""
    _check_keys(op, config)
    if norm_weight is not None:
        config.setdefault("norm_eps", 1e-6)
    elif config.get("norm_eps") is not None:
        raise _lib.TesseraValueError(f"{op}: norm_eps given without norm_weight")
    return _cfg(hidden, hc_mult, config)


def _residual_dims(op: str, residual) -> tuple[int, int, int]:
    shape = shape_of(residual)
    if len(shape) != 3:
        raise _lib.TesseraValueError(
            f"{op}: argument 'residual': expected a [T, n, H] tensor, got shape {list(shape)}"
        )
    return shape


def _outputs(op, ref, out, specs):
    """The caller's out= tensors (checked for count), or new ones for (shape, dtype) specs."""
    if out is None:
        return [empty_like_input(ref, shape, dtype) for shape, dtype in specs]
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if len(outs) != len(specs):
        raise _lib.TesseraValueError(f"{op}: out= holds {len(outs)} tensors, the op writes {len(specs)}")
    return outs


def _run(op, cfg, tensors, names, ref, stream, workspace=None, tokens=0, workspace_needed=False):
    device = device_of(ref)
    if workspace_needed:
        if workspace is None:
            nbytes = _workspace_bytes(_op_id(op), cfg, tokens, device)
            workspace = empty_like_input(ref, (max(nbytes, 1),), "u8")
        tensors = tensors + [workspace]
        names = names + ["workspace"]
    packed, keep = pack_all(tensors, names)
    status = _lib.lib.tessera_mhc_run(
        _op_id(op), cfg, packed, len(tensors), stream_of(ref, device, stream)
    )
    del keep
    if status:
        _lib.raise_for(status)


def _single(outs, out):
    return outs[0] if out is None or not isinstance(out, (tuple, list)) else tuple(outs)


# ---- the ops --------------------------------------------------------------------------------


def mhc_pre(residual, fn, scale, base, *, norm_weight=None, out=None, workspace=None,
            stream=None, **config):
    """mhc_pre: (post_mix f32 [T, n], comb_mix f32 [T, n, n], layer_input bf16 [T, H]) from
    residual bf16 [T, n, H], fn f32 [n(n+2), n·H], scale f32 [3], base f32 [n(n+2)]. With
    ``norm_weight`` (bf16 [H]) the layer input is RMS-normalised (``norm_eps``, default 1e-6)."""
    T, n, H = _residual_dims("mhc_pre", residual)
    cfg = _norm_cfg("mhc_pre", H, n, norm_weight, config)
    outs = _outputs("mhc_pre", residual, out, [((T, n), "f32"), ((T, n, n), "f32"), ((T, H), "bf16")])
    ins = [residual, fn, scale, base] + ([norm_weight] if norm_weight is not None else [])
    names = ["residual", "fn", "scale", "base"] + (["norm_weight"] if norm_weight is not None else [])
    _run("mhc_pre", cfg, ins + outs, names + ["post_mix", "comb_mix", "layer_input"], residual,
         stream, workspace, T, True)
    return tuple(outs)


def mhc_pre_norm(residual, fn, scale, base, norm_weight, *, norm_eps=1e-6, **kwargs):
    """mhc_pre with the fused RMS norm of the layer input (norm_weight bf16 [H])."""
    return mhc_pre(residual, fn, scale, base, norm_weight=norm_weight, norm_eps=norm_eps, **kwargs)


def mhc_pre_broadcast(embedding, fn_bcast, scale, base, norm_weight, *, hc_mult=4,
                      norm_eps=1e-6, out=None, workspace=None, stream=None, **config):
    """First-layer mhc_pre on the embedding bf16 [T, H] (fn_bcast f32 [n(n+2), H], the fused
    norm mandatory): (residual_out bf16 [T, n, H], post_mix, comb_mix, layer_input)."""
    _check_keys("mhc_pre_broadcast", config)
    shape = shape_of(embedding)
    if len(shape) != 2:
        raise _lib.TesseraValueError(
            f"mhc_pre_broadcast: argument 'embedding': expected [T, H], got shape {list(shape)}"
        )
    T, H = shape
    n = hc_mult
    config["norm_eps"] = norm_eps
    cfg = _cfg(H, n, config)
    outs = _outputs("mhc_pre_broadcast", embedding, out,
                    [((T, n, H), "bf16"), ((T, n), "f32"), ((T, n, n), "f32"), ((T, H), "bf16")])
    _run("mhc_pre_broadcast", cfg, [embedding, fn_bcast, scale, base, norm_weight] + outs,
         ["embedding", "fn_bcast", "scale", "base", "norm_weight", "residual_out", "post_mix",
          "comb_mix", "layer_input"], embedding, stream, workspace, T, True)
    return tuple(outs)


def mhc_post(y, residual, post_mix, comb_mix, *, out=None, stream=None):
    """mhc_post: out bf16 [T, n, H] = post_mix ⊗ y + comb_mixᵀ · residual (one bf16
    rounding); post_mix f32 [T, n] or [T, n, 1], comb_mix f32 [T, n, n]."""
    T, n, H = _residual_dims("mhc_post", residual)
    cfg = _config(H, n, 20, 1e-6, 1e-6, 1e-6, 2.0, "tf32", None, None)
    outs = _outputs("mhc_post", residual, out, [((T, n, H), "bf16")])
    _run("mhc_post", cfg, [y, residual, post_mix, comb_mix] + outs,
         ["y", "residual", "post_mix", "comb_mix", "out"], residual, stream)
    return _single(outs, out)


def mhc_fused_post_pre(y, residual, post_mix, comb_mix, fn, scale, base, *, norm_weight=None,
                       out=None, workspace=None, stream=None, **config):
    """mhc_post of this sublayer then mhc_pre of the next: (residual_out bf16 [T, n, H],
    post_mix_out f32 [T, n], comb_mix_out f32 [T, n, n], layer_input bf16 [T, H])."""
    T, n, H = _residual_dims("mhc_fused_post_pre", residual)
    cfg = _norm_cfg("mhc_fused_post_pre", H, n, norm_weight, config)
    outs = _outputs("mhc_fused_post_pre", residual, out,
                    [((T, n, H), "bf16"), ((T, n), "f32"), ((T, n, n), "f32"), ((T, H), "bf16")])
    ins = [y, residual, post_mix, comb_mix, fn, scale, base]
    names = ["y", "residual", "post_mix", "comb_mix", "fn", "scale", "base"]
    if norm_weight is not None:
        ins.append(norm_weight)
        names.append("norm_weight")
    _run("mhc_fused_post_pre", cfg, ins + outs,
         names + ["residual_out", "post_mix_out", "comb_mix_out", "layer_input"], residual, stream,
         workspace, T, True)
    return tuple(outs)


def hc_head(residual, fn, scale, base, *, rms_eps=1e-6, hc_eps=1e-6, out=None, workspace=None,
            stream=None):
    """hc_head: out bf16 [T, H] = Σ_j (sigmoid(rms·(x·fn_j)·scale + base_j) + hc_eps)·x_j from
    residual bf16 [T, n, H], fn f32 [n, n·H], scale f32 [1], base f32 [n]."""
    T, n, H = _residual_dims("hc_head", residual)
    cfg = _config(H, n, 20, rms_eps, hc_eps, 1e-6, 2.0, "tf32", None, None)
    outs = _outputs("hc_head", residual, out, [((T, H), "bf16")])
    _run("hc_head", cfg, [residual, fn, scale, base] + outs,
         ["residual", "fn", "scale", "base", "out"], residual, stream, workspace, T, True)
    return _single(outs, out)


def sinkhorn(logits, *, iters=20, eps=1e-6, out=None, stream=None):
    """Sinkhorn normalisation of logits f32 [T, n, n] (softmax, then ``iters`` column and
    ``iters``-1 row normalisations): comb f32 [T, n, n]."""
    shape = shape_of(logits)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise _lib.TesseraValueError(
            f"sinkhorn: argument 'logits': expected [T, n, n], got shape {list(shape)}"
        )
    T, n, _ = shape
    cfg = _config(1, n, iters, 1e-6, 1e-6, eps, 2.0, "tf32", None, None)
    outs = _outputs("sinkhorn", logits, out, [((T, n, n), "f32")])
    _run("sinkhorn", cfg, [logits] + outs, ["logits", "comb"], logits, stream)
    return _single(outs, out)


def _stage_a(x, fn, partial_mix, partial_sqrsum, *, hidden, hc_mult=4, precision="fp32",
             stream=None):
    """Stage A alone (x bf16 [T, n·H] · fnᵀ and Σx² into partial_mix f32 [S, T, n(n+2)] and
    partial_sqrsum f32 [S, T], S splits of K): for the vLLM compatibility helpers and tests."""
    cfg = _config(hidden, hc_mult, 20, 1e-6, 1e-6, 1e-6, 2.0, precision, None, None)
    _run("stage_a", cfg, [x, fn, partial_mix, partial_sqrsum],
         ["x", "fn", "partial_mix", "partial_sqrsum"], x, stream)


# ---- introspection and references -------------------------------------------------------


def signature(op: str, tokens: int, hidden: int, *, hc_mult: int = 4, device: int = -1,
              **config) -> dict:
    """The op's tensors for ``tokens`` tokens in the order the library takes them (name, dtype,
    shape, output, the spec's test tolerance) and its workspace bytes on ``device`` (-1: CPU)."""
    _check_keys(op, config)
    return _lib.call_json(
        _lib.lib.tessera_mhc_signature, _op_id(op), _cfg(hidden, hc_mult, config), tokens, device
    )


def workspace_bytes(op: str, tokens: int, hidden: int, *, hc_mult: int = 4, device: int = 0,
                    **config) -> int:
    """Workspace bytes ``op`` needs for ``tokens`` tokens on CUDA ``device`` (-1: CPU)."""
    _check_keys(op, config)
    return _workspace_bytes(_op_id(op), _cfg(hidden, hc_mult, config), tokens, device)


def reference(op: str, *inputs, hidden: int, hc_mult: int = 4, **config):
    """The fp64 C++ reference of ``op`` on host numpy inputs (signature order, norm_weight only
    with ``norm_eps``): its outputs as new numpy arrays (bf16 as ml_dtypes.bfloat16)."""
    import numpy as np

    _check_keys(op, config)
    cfg = _cfg(hidden, hc_mult, config)
    tokens = shape_of(inputs[0])[0] if inputs and shape_of(inputs[0]) else 0
    sig = _lib.call_json(_lib.lib.tessera_mhc_signature, _op_id(op), cfg, tokens, -1)
    ins = [np.ascontiguousarray(a) for a in inputs]
    outs = [
        empty_like_input(ins[0], tuple(t["shape"]), t["dtype"])
        for t in sig["tensors"]
        if t["output"]
    ]
    names = [t["name"] for t in sig["tensors"]]
    packed, keep = pack_all(ins + outs, names)
    status = _lib.lib.tessera_mhc_reference(_op_id(op), cfg, packed, len(ins) + len(outs))
    del keep
    if status:
        _lib.raise_for(status)
    return tuple(outs)

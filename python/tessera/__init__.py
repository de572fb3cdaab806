"""Tessera from Python: the mHC operators (tessera.mhc), torch custom ops
(torch.ops.tessera.*, registered when torch is importable), a drop-in for vLLM's TileLang mHC
wrappers (tessera.compat.vllm), and the DSL kernels' introspection (kernels, emit, ir,
compile, cache_info). The library is libtessera_c.so, called through ctypes (docs/python.md).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from . import _lib
from ._lib import TesseraError, TesseraValueError
from . import mhc

__all__ = [
    "TesseraError",
    "TesseraValueError",
    "CompiledKernel",
    "info",
    "kernels",
    "emit",
    "ir",
    "compile",
    "cache_info",
    "mhc",
]


def info() -> dict:
    """Library version, C ABI, whether the CPU backend is built, CUDA devices (or why none)."""
    out = _lib.call_json(_lib.lib.tessera_info)
    out["library"] = _lib.lib.path
    return out


__version__ = info()["version"]


def kernels() -> list[dict]:
    """The registered DSL kernels: name, description and parameters (name, type, default)."""
    return _lib.call_json(_lib.lib.tessera_kernels)


def _params(params: dict) -> list[str]:
    return [f"{k}={v}" for k, v in params.items()]


def _text(name: str, what: str, target: str, params: dict) -> str:
    arr, count = _lib.string_array(_params(params))
    return _lib.call_string(
        _lib.lib.tessera_emit, name.encode(), arr, count, what.encode(), target.encode()
    )


def emit(name: str, **params) -> str:
    """The CUDA source Tessera generates for a registered kernel (an mHC op name gives its plan
    and every kernel it may launch)."""
    return _text(name, "cuda", "cuda", params)


def ir(name: str, *, after: str | None = None, target: str = "cuda", **params) -> str:
    """The traced tile IR of a registered kernel; with ``after`` the IR after that lowering pass
    ("passes": after every pass) as lowered for ``target`` ("cuda" or "cpu")."""
    return _text(name, after or "ir", target, params)


@dataclass(frozen=True)
class CompiledKernel:
    """A registered kernel compiled by NVRTC: the cubin and what ptxas reports."""

    name: str
    arch: str
    cubin: bytes
    registers: int
    local_bytes: int
    spill_store_bytes: int
    spill_load_bytes: int
    shared_bytes: int
    max_threads: int
    cuda_source: str
    ptx: str
    compile_ms: float
    from_cache: bool


def compile(name: str, arch: str = "sm_90a", **params) -> CompiledKernel:  # noqa: A001
    """Compiles a registered kernel for ``arch`` with NVRTC (no GPU needed)."""
    arr, count = _lib.string_array(_params(params))
    cubin = ctypes.c_void_p()
    size = ctypes.c_int64()
    info_ptr = ctypes.c_char_p()
    status = _lib.lib.tessera_compile(
        name.encode(), arr, count, arch.encode(), ctypes.byref(cubin), ctypes.byref(size),
        ctypes.byref(info_ptr),
    )
    if status:
        _lib.raise_for(status)
    raw_info = ctypes.cast(ctypes.addressof(info_ptr), ctypes.POINTER(ctypes.c_void_p))[0]
    try:
        data = ctypes.string_at(cubin, size.value)
        import json

        meta = json.loads(ctypes.string_at(raw_info).decode())
    finally:
        _lib.lib.tessera_free(cubin)
        _lib.lib.tessera_free(raw_info)
    return CompiledKernel(name=name, cubin=data, **meta)


def cache_info() -> dict:
    """The JIT cache: directory, entries and bytes on disk, this process's hit/compile counts."""
    return _lib.call_json(_lib.lib.tessera_cache_info)


try:  # torch.ops.tessera.* for torch users; nothing is compiled against torch.
    import torch as _torch  # noqa: F401
except ImportError:  # pragma: no cover - CI has no torch
    pass
else:
    from . import torch_ops  # noqa: F401

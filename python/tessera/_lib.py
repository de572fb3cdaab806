"""Loads libtessera_c.so and declares its C functions (capi/tessera_c.h) for ctypes.

ctypes, not a compiled extension: the library has a plain C ABI, so one build loads in every
CPython >= 3.10 and nothing is compiled against Python or torch (docs/python.md).
"""

from __future__ import annotations

import ctypes
import json
import os
from pathlib import Path

ABI_VERSION = 1

OK, BAD_ARGUMENT, FAILURE = 0, 1, 2


class TesseraError(RuntimeError):
    """A compile, driver, cache or internal failure reported by the library."""


class TesseraValueError(ValueError):
    """A bad argument (shape, dtype, stride, pointer, name) reported by the library."""


def _candidates() -> list[Path]:
    env = os.environ.get("TESSERA_LIBRARY")
    if env:
        return [Path(env)]
    here = Path(__file__).resolve().parent
    # Installed wheel: beside this file. Source checkout: the CMake build trees.
    out = [here / "libtessera_c.so"]
    root = here.parent.parent
    for build in ("build", "build-gpu", "build-release"):
        out.append(root / build / "python" / "libtessera_c.so")
    return out


def _load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        if path.is_file():
            lib = ctypes.CDLL(str(path))
            break
        tried.append(str(path))
    else:
        raise ImportError(
            "tessera: libtessera_c.so not found (looked at: "
            + ", ".join(tried)
            + "); install the package with `pip install .` or set TESSERA_LIBRARY"
        )
    lib.tessera_abi_version.restype = ctypes.c_int32
    if lib.tessera_abi_version() != ABI_VERSION:
        raise ImportError(
            f"tessera: {path} has C ABI version {lib.tessera_abi_version()}, "
            f"this package needs {ABI_VERSION}; rebuild the library"
        )
    _declare(lib)
    lib.path = str(path)
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    i32, i64, p, s = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p, ctypes.c_char_p
    pp = ctypes.POINTER(ctypes.c_char_p)
    strs = ctypes.POINTER(ctypes.c_char_p)
    sigs = {
        "tessera_last_error": (s, []),
        "tessera_free": (None, [p]),
        "tessera_info": (i32, [pp]),
        "tessera_mhc_op_id": (i32, [s, ctypes.POINTER(i32)]),
        "tessera_mhc_signature": (i32, [i32, s, i64, i32, pp]),
        "tessera_mhc_workspace_bytes": (i32, [i32, s, i64, i32, ctypes.POINTER(i64)]),
        # Records are passed as bytes (struct-packed): a c_char_p argument hands the C side a
        # pointer to the bytes object's buffer without a copy.
        "tessera_mhc_run": (i32, [i32, s, s, i32, p]),
        "tessera_mhc_reference": (i32, [i32, s, s, i32]),
        "tessera_kernels": (i32, [pp]),
        "tessera_emit": (i32, [s, strs, i32, s, s, pp]),
        "tessera_compile": (
            i32,
            [s, strs, i32, s, ctypes.POINTER(p), ctypes.POINTER(i64), pp],
        ),
        "tessera_cache_info": (i32, [pp]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


lib = _load()


def raise_for(status: int) -> None:
    """Raises the exception for a non-zero status with the library's message."""
    message = lib.tessera_last_error().decode("utf-8", "replace")
    if status == BAD_ARGUMENT:
        raise TesseraValueError(message)
    raise TesseraError(message)


def call_string(fn, *args) -> str:
    """Calls a function whose last argument is a `char** out`, returning the string."""
    out = ctypes.c_char_p()
    status = fn(*args, ctypes.byref(out))
    if status != OK:
        raise_for(status)
    # c_char_p converts to bytes on access; read the raw pointer instead to free it.
    raw = ctypes.cast(ctypes.addressof(out), ctypes.POINTER(ctypes.c_void_p))[0]
    try:
        return ctypes.string_at(raw).decode("utf-8", "replace")
    finally:
        lib.tessera_free(raw)


def call_json(fn, *args):
    return json.loads(call_string(fn, *args))


def string_array(items: list[str]):
    arr = (ctypes.c_char_p * max(1, len(items)))()
    for i, item in enumerate(items):
        arr[i] = item.encode()
    return arr, len(items)

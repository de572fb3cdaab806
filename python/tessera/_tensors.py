"""Tensors in, tessera_tensor records out: torch tensors (read directly, no DLPack round trip),
numpy arrays (ml_dtypes.bfloat16 included, which numpy's DLPack cannot export), and any other
object with __dlpack__ (cupy, jax, ...). Also output allocation and the CUDA stream of a call.
"""

from __future__ import annotations

import ctypes
import struct
import sys

# capi/tessera_c.h: tessera_tensor is {void* data; int64 shape[6]; int64 strides[6];
# int32 rank, dtype, device_type, device_id} with no padding.
MAX_RANK = 6
TENSOR = struct.Struct("=Q6q6q4i")
assert TENSOR.size == 120
_PAD = [(0,) * (MAX_RANK - r) for r in range(MAX_RANK + 1)]

CPU, CUDA = 1, 2  # DLPack device types
_FLOAT, _BFLOAT, _INT, _UINT, _BOOL = 2, 4, 0, 1, 6


def _code(kind: int, bits: int) -> int:
    return kind | bits << 8


# Tessera's dtype names -> DLPack (code | bits << 8).
DTYPE_CODES = {
    "f32": _code(_FLOAT, 32),
    "bf16": _code(_BFLOAT, 16),
    "f16": _code(_FLOAT, 16),
    "f64": _code(_FLOAT, 64),
    "i8": _code(_INT, 8),
    "i32": _code(_INT, 32),
    "i64": _code(_INT, 64),
    "u8": _code(_UINT, 8),
    "u32": _code(_UINT, 32),
    "bool": _code(_BOOL, 8),
}
_CODE_NAMES = {v: k for k, v in DTYPE_CODES.items()}


def _bad(message: str) -> ValueError:
    from ._lib import TesseraValueError

    return TesseraValueError(message)


# ---- torch -------------------------------------------------------------------------------


_torch_codes: dict = {}


def _torch_code(dtype) -> int:
    if not _torch_codes:
        import torch

        _torch_codes.update(
            {
                torch.float32: DTYPE_CODES["f32"],
                torch.bfloat16: DTYPE_CODES["bf16"],
                torch.float16: DTYPE_CODES["f16"],
                torch.float64: DTYPE_CODES["f64"],
                torch.int8: DTYPE_CODES["i8"],
                torch.int32: DTYPE_CODES["i32"],
                torch.int64: DTYPE_CODES["i64"],
                torch.uint8: DTYPE_CODES["u8"],
                torch.bool: DTYPE_CODES["bool"],
            }
        )
    code = _torch_codes.get(dtype)
    if code is None:
        raise _bad(f"torch dtype {dtype} is not supported by tessera")
    return code


def _pack_torch(t, keep) -> bytes:
    shape = t.shape
    rank = len(shape)
    if rank > MAX_RANK:
        raise _bad(f"rank {rank} exceeds {MAX_RANK}")
    pad = _PAD[rank]
    if t.is_cuda:
        device_type, device = CUDA, t.get_device()
    elif t.device.type == "cpu":
        device_type, device = CPU, 0
    else:
        raise _bad(f"tensors on {t.device} are not supported (cpu or cuda)")
    return TENSOR.pack(
        t.data_ptr(), *shape, *pad, *t.stride(), *pad, rank, _torch_code(t.dtype),
        device_type, device,
    )


# ---- numpy -------------------------------------------------------------------------------


_numpy_codes: dict = {}


def _numpy_code(dtype) -> int:
    code = _numpy_codes.get(dtype)  # dtype.name alone costs microseconds for ml_dtypes
    if code is not None:
        return code
    if dtype.name == "bfloat16":  # ml_dtypes.bfloat16
        code = DTYPE_CODES["bf16"]
    else:
        kind = {"f": _FLOAT, "i": _INT, "u": _UINT, "b": _BOOL}.get(dtype.kind)
        if kind is None or not dtype.isnative:
            raise _bad(f"numpy dtype {dtype} is not supported by tessera")
        code = _code(kind, dtype.itemsize * 8)
    _numpy_codes[dtype] = code
    return code


def _pack_numpy(a, keep) -> bytes:
    rank = a.ndim
    if rank > MAX_RANK:
        raise _bad(f"rank {rank} exceeds {MAX_RANK}")
    item = a.itemsize
    strides = []
    for s in a.strides:
        if s % item:
            raise _bad(f"stride of {s} bytes is not a multiple of the {item}-byte element")
        strides.append(s // item)
    pad = _PAD[rank]
    return TENSOR.pack(
        a.__array_interface__["data"][0], *a.shape, *pad, *strides, *pad, rank,
        _numpy_code(a.dtype), CPU, 0,
    )


# ---- any __dlpack__ object ---------------------------------------------------------------


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _pack_dlpack(obj, keep) -> bytes:
    device_type, device = obj.__dlpack_device__()
    if device_type not in (CPU, CUDA):
        raise _bad(f"DLPack device type {device_type} is not supported (cpu or cuda)")
    # The capsule stays alive (in `keep`) until the call returns; its destructor then releases
    # the producer's tensor. Stream 1 is the legacy default stream (DLPack's convention).
    capsule = obj.__dlpack__(stream=1) if device_type == CUDA else obj.__dlpack__()
    keep.append(capsule)
    dl = _DLTensor.from_address(_capsule_pointer(capsule, b"dltensor"))
    rank = dl.ndim
    if rank > MAX_RANK:
        raise _bad(f"rank {rank} exceeds {MAX_RANK}")
    if dl.dtype.lanes != 1:
        raise _bad("vector (lanes > 1) DLPack dtypes are not supported")
    shape = [dl.shape[i] for i in range(rank)]
    if dl.strides:
        strides = [dl.strides[i] for i in range(rank)]
    else:
        strides, step = [0] * rank, 1
        for i in reversed(range(rank)):
            strides[i], step = step, step * shape[i]
    pad = _PAD[rank]
    return TENSOR.pack(
        (dl.data or 0) + dl.byte_offset, *shape, *pad, *strides, *pad, rank,
        _code(dl.dtype.code, dl.dtype.bits), dl.device.device_type, dl.device.device_id,
    )


# ---- dispatch by type --------------------------------------------------------------------

_packers: dict = {}


def _packer(obj):
    kind = type(obj)
    fn = _packers.get(kind)
    if fn is None:
        module = kind.__module__.split(".")[0]
        if module == "torch" and hasattr(obj, "data_ptr"):
            fn = _pack_torch
        elif module == "numpy" or hasattr(obj, "__array_interface__") and not hasattr(
            obj, "__dlpack__"
        ):
            fn = _pack_numpy
        elif hasattr(obj, "__dlpack__"):
            fn = _pack_dlpack
        else:
            raise _bad(
                f"{kind.__name__} is not a tensor: pass a torch tensor, a numpy array or an "
                "object with __dlpack__"
            )
        _packers[kind] = fn
    return fn


def pack(obj, keep: list) -> bytes:
    """The tessera_tensor record of `obj` (anything kept alive for the call goes in `keep`)."""
    return _packer(obj)(obj, keep)


def pack_all(objs, names) -> tuple[bytes, list]:
    keep: list = []
    out = []
    for obj, name in zip(objs, names):
        try:
            out.append(pack(obj, keep))
        except ValueError as e:
            raise _bad(f"argument '{name}': {e}") from None
    return b"".join(out), keep


# ---- where a call runs, and new tensors like its inputs -----------------------------------


def device_of(obj) -> int:
    """-1 for host memory, else the CUDA device index."""
    if _packer(obj) is _pack_torch:
        return obj.get_device() if obj.is_cuda else -1
    if _packer(obj) is _pack_numpy:
        return -1
    device_type, device = obj.__dlpack_device__()
    return device if device_type == CUDA else -1


def _torch_stream(device: int) -> int:
    import torch

    raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
    if raw is not None:
        return raw(device)
    return torch.cuda.current_stream(device).cuda_stream


def stream_of(ref, device: int, stream) -> int:
    """The CUstream of a call: `stream` if given (an int, a torch.cuda.Stream or a cupy
    Stream), else the current stream of `ref`'s framework (torch, cupy), else the legacy
    default stream."""
    if device < 0:
        return 0
    if stream is not None:
        for attr in ("cuda_stream", "ptr"):
            if hasattr(stream, attr):
                return int(getattr(stream, attr))
        return int(stream)
    packer = _packer(ref)
    if packer is _pack_torch:
        return _torch_stream(device)
    if type(ref).__module__.split(".")[0] == "cupy":
        import cupy

        return cupy.cuda.get_current_stream().ptr
    return 0


def _numpy_dtype(name: str):
    import numpy as np

    if name == "bf16":
        try:
            import ml_dtypes
        except ImportError:  # pragma: no cover - a dependency of the test extra
            raise _bad("bf16 numpy outputs need the ml_dtypes package (pip install ml_dtypes)")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(
        {"f32": "float32", "f16": "float16", "f64": "float64", "u8": "uint8", "i32": "int32",
         "i64": "int64"}[name]
    )


_torch_dtypes: dict = {}


def empty_like_input(ref, shape, dtype: str):
    """An uninitialised tensor of the framework and device of `ref`."""
    packer = _packer(ref)
    if packer is _pack_torch:
        if not _torch_dtypes:
            import torch

            _torch_dtypes.update(
                {"f32": torch.float32, "bf16": torch.bfloat16, "u8": torch.uint8,
                 "f16": torch.float16, "f64": torch.float64, "i32": torch.int32}
            )
        import torch

        return torch.empty(shape, dtype=_torch_dtypes[dtype], device=ref.device)
    if packer is _pack_numpy:
        import numpy as np

        return np.empty(shape, dtype=_numpy_dtype(dtype))
    module = type(ref).__module__.split(".")[0]
    if module == "cupy":
        import cupy

        if dtype == "bf16":
            raise _bad("cupy has no bfloat16 dtype: pass out= tensors from torch or numpy")
        with cupy.cuda.Device(device_of(ref)):
            return cupy.empty(shape, dtype=_numpy_dtype(dtype))
    if device_of(ref) < 0:
        import numpy as np

        return np.empty(shape, dtype=_numpy_dtype(dtype))
    raise _bad(
        f"cannot allocate outputs for {type(ref).__name__} inputs on the GPU: pass out= tensors"
    )


def shape_of(obj) -> tuple:
    shape = getattr(obj, "shape", None)
    if shape is None:
        raise _bad(f"{type(obj).__name__} has no shape")
    return tuple(shape)


def is_torch(obj) -> bool:
    return "torch" in sys.modules and _packer(obj) is _pack_torch

"""tessera.mhc on numpy arrays (CPU backend): every op against the library's fp64 reference at
the spec's tolerances, the out= forms, T = 0, configuration keywords and argument errors."""

import numpy as np
import pytest

import tessera
from tessera import mhc

from conftest import BF16
from references import assert_close

pytestmark = pytest.mark.usefixtures("cpu_backend")

N = 4
M3 = N * (N + 2)


def make_inputs(rng, op, T, H, norm=False):
    """Random inputs in the library's signature order (fn scaled like the spec's)."""
    r = lambda *s: rng.standard_normal(s)  # noqa: E731
    bf = lambda *s: r(*s).astype(BF16)  # noqa: E731
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    fn = f32(r(M3, N * H) * 2e-3)
    scale, base = f32(r(3) * 0.3 + 1.0), f32(r(M3) * 0.3)
    post = f32(rng.uniform(0.1, 2.0, (T, N)))
    comb = f32(rng.uniform(0.0, 0.5, (T, N, N)))
    weight = [(r(H) * 0.2 + 1.0).astype(BF16)] if norm else []
    if op == "mhc_pre":
        return [bf(T, N, H), fn, scale, base] + weight
    if op == "mhc_pre_broadcast":
        return [bf(T, H), f32(r(M3, H) * 4e-3), scale, base, (r(H) * 0.2 + 1.0).astype(BF16)]
    if op == "mhc_post":
        return [bf(T, H), bf(T, N, H), post, comb]
    if op == "mhc_fused_post_pre":
        return [bf(T, H), bf(T, N, H), post, comb, fn, scale, base] + weight
    if op == "hc_head":
        return [bf(T, N, H), f32(r(N, N * H) * 2e-3), f32([0.7]), f32(r(N) * 0.3)]
    if op == "sinkhorn":
        return [f32(r(T, N, N))]
    raise AssertionError(op)


def run_op(op, inputs, **kw):
    if op == "mhc_pre":
        return mhc.mhc_pre(*inputs[:4], norm_weight=inputs[4] if len(inputs) > 4 else None, **kw)
    if op == "mhc_pre_broadcast":
        return mhc.mhc_pre_broadcast(*inputs, **kw)
    if op == "mhc_post":
        return (mhc.mhc_post(*inputs, **kw),)
    if op == "mhc_fused_post_pre":
        return mhc.mhc_fused_post_pre(
            *inputs[:7], norm_weight=inputs[7] if len(inputs) > 7 else None, **kw
        )
    if op == "hc_head":
        return (mhc.hc_head(*inputs, **kw),)
    if op == "sinkhorn":
        return (mhc.sinkhorn(*inputs, **kw),)
    raise AssertionError(op)


CASES = [
    ("mhc_pre", False), ("mhc_pre", True), ("mhc_pre_broadcast", True), ("mhc_post", False),
    ("mhc_fused_post_pre", False), ("mhc_fused_post_pre", True), ("hc_head", False),
    ("sinkhorn", False),
]


@pytest.mark.parametrize("op,norm", CASES)
@pytest.mark.parametrize("T", [1, 5, 33])
def test_op_matches_fp64_reference(rng, op, norm, T):
    H = 1000  # not a multiple of 64: every kernel's tail path runs
    inputs = make_inputs(rng, op, T, H, norm)
    config = {"norm_eps": 1e-6} if norm or op == "mhc_pre_broadcast" else {}
    got = run_op(op, inputs)
    want = mhc.reference(op, *inputs, hidden=H, **config)
    sig = mhc.signature(op, T, H, **config)
    outputs = [t for t in sig["tensors"] if t["output"]]
    assert len(got) == len(want) == len(outputs)
    for g, w, spec in zip(got, want, outputs):
        assert g.shape == tuple(spec["shape"]) and g.dtype == w.dtype, spec["name"]
        atol = spec["atol"] * (np.abs(w.astype(np.float64)).max() if spec["atol_scaled"] else 1)
        assert_close(g, w, atol, spec["rtol"], f"{op} {spec['name']} T={T}")


@pytest.mark.parametrize("op,norm", CASES)
def test_out_form_writes_every_element(rng, op, norm):
    T, H = 9, 256
    inputs = make_inputs(rng, op, T, H, norm)
    fresh = run_op(op, inputs)
    poisoned = [np.full(a.shape, np.nan, dtype=a.dtype) for a in fresh]
    out = tuple(poisoned) if len(poisoned) > 1 else poisoned[0]
    returned = run_op(op, inputs, out=out)
    for p, r, f in zip(poisoned, returned, fresh):
        assert r is p  # the caller's array, not a copy
        assert np.array_equal(p.astype(np.float32), f.astype(np.float32)), op


@pytest.mark.parametrize("op", ["mhc_pre", "mhc_post", "mhc_fused_post_pre", "hc_head",
                                "sinkhorn", "mhc_pre_broadcast"])
def test_zero_tokens_returns_empty_outputs(rng, op):
    inputs = make_inputs(rng, op, 0, 128)
    for out in run_op(op, inputs):
        assert out.shape[0] == 0


def test_config_keywords_reach_the_kernels(rng):
    T, H = 6, 512
    inputs = make_inputs(rng, "mhc_pre", T, H)
    post2, comb2, _ = mhc.mhc_pre(*inputs)
    post1, comb1, _ = mhc.mhc_pre(*inputs, post_mult=1.0)
    np.testing.assert_allclose(post2, 2.0 * post1, rtol=1e-6)
    np.testing.assert_array_equal(comb1, comb2)
    _, comb_short, _ = mhc.mhc_pre(*inputs, sinkhorn_iters=1)
    assert not np.allclose(comb_short, comb2)
    post_fp32, _, _ = mhc.mhc_pre(*inputs, precision="fp32", splits=3)
    want = mhc.reference("mhc_pre", *inputs, hidden=H, precision="fp32")[0]
    assert_close(post_fp32, want, 1e-5, 1e-5, "fp32 precision")


class DLPackOnly:
    """A tensor that offers nothing but the DLPack protocol (as cupy or jax arrays do)."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape

    def __dlpack__(self, stream=None):
        return self.array.__dlpack__()

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def test_any_dlpack_tensor_is_accepted(rng):
    logits = rng.standard_normal((7, N, N)).astype(np.float32)
    want = mhc.sinkhorn(logits)
    out = np.full_like(want, np.nan)
    got = mhc.sinkhorn(DLPackOnly(logits), out=DLPackOnly(out))
    assert isinstance(got, DLPackOnly)
    np.testing.assert_array_equal(out, want)
    strided = np.ascontiguousarray(np.repeat(logits, 2, axis=0)[::2])
    np.testing.assert_array_equal(mhc.sinkhorn(DLPackOnly(strided)), want)


def test_errors_name_the_argument(rng):
    T, H = 4, 256
    res, fn, scale, base = make_inputs(rng, "mhc_pre", T, H)
    with pytest.raises(ValueError, match="residual"):
        mhc.mhc_pre(res.astype(np.float32), fn, scale, base)
    with pytest.raises(ValueError, match="fn"):
        mhc.mhc_pre(res, fn[:, :-1], scale, base)
    with pytest.raises(ValueError, match="contiguous"):
        mhc.mhc_pre(res, np.asfortranarray(fn), scale, base)
    with pytest.raises(ValueError, match=r"\[T, n, H\]"):
        mhc.mhc_pre(res[0], fn, scale, base)
    with pytest.raises(ValueError, match="not a tensor"):
        mhc.mhc_pre(res, fn.tolist(), scale, base)
    misaligned = np.empty(res.size + 1, dtype=BF16)[1:].reshape(res.shape)
    misaligned[...] = res
    with pytest.raises(ValueError, match="align"):
        mhc.mhc_pre(misaligned, fn, scale, base)
    with pytest.raises(ValueError, match="out= holds 1 tensors"):
        mhc.mhc_pre(res, fn, scale, base, out=np.empty((T, N), np.float32))
    with pytest.raises(ValueError, match="overlap|alias"):
        y = rng.standard_normal((T, H)).astype(BF16)
        mhc.mhc_post(y, res, np.ones((T, N), np.float32), np.ones((T, N, N), np.float32), out=res)
    with pytest.raises(ValueError, match="precision"):
        mhc.mhc_pre(res, fn, scale, base, precision="fp16")
    with pytest.raises(TypeError, match="iterations"):
        mhc.mhc_pre(res, fn, scale, base, iterations=3)
    with pytest.raises(ValueError, match="hc_mult|n"):
        mhc.mhc_pre(make_inputs(rng, "mhc_pre", T, H)[0][:, :1], fn, scale, base)
    with pytest.raises(ValueError, match="unknown mHC op"):
        mhc.signature("mhc_nope", 1, 128)


def test_reference_round_trip_is_deterministic(rng):
    inputs = make_inputs(rng, "hc_head", 3, 128)
    a = mhc.reference("hc_head", *inputs, hidden=128)[0]
    b = mhc.reference("hc_head", *inputs, hidden=128)[0]
    np.testing.assert_array_equal(a.astype(np.float32), b.astype(np.float32))


def test_workspace_bytes_and_errors_are_python_exceptions():
    assert mhc.workspace_bytes("mhc_pre", 128, 7168, device=-1) > 0
    assert mhc.workspace_bytes("mhc_post", 128, 7168, device=-1) == 0
    with pytest.raises(ValueError, match="hidden"):
        mhc.workspace_bytes("mhc_pre", 128, 0, device=-1)
    assert issubclass(tessera.TesseraValueError, ValueError)
    assert issubclass(tessera.TesseraError, RuntimeError)


def test_missing_driver_is_a_runtime_error():
    if tessera.info()["cuda_devices"] > 0:
        pytest.skip("this machine has a GPU: the driver-absent path cannot be reached")
    with pytest.raises(RuntimeError, match="driver"):
        mhc.workspace_bytes("mhc_pre", 128, 7168, device=0)

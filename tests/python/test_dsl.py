"""The DSL side from Python: the kernel registry, emitted CUDA and IR, NVRTC compilation (no
GPU needed), the cache and library info."""

import pytest

import tessera


def test_info_names_the_library_and_backends():
    info = tessera.info()
    assert info["abi"] == 1
    assert info["version"] == tessera.__version__
    assert info["library"].endswith("libtessera_c.so")
    if info["cuda_devices"] == 0:
        assert info["driver_error"]  # says why there is no GPU


def test_kernels_lists_the_registry_with_parameters():
    kernels = {k["name"]: k for k in tessera.kernels()}
    assert {"gated_residual", "rmsnorm", "mhc_pre.stage_a", "mhc_post.post"} <= set(kernels)
    hidden = {p["name"]: p for p in kernels["rmsnorm"]["params"]}["hidden"]
    assert hidden["type"] == "integer" and hidden["default"] > 0


def test_emit_gives_cuda_with_the_parameters_applied():
    src = tessera.emit("gated_residual", hidden=2048)
    assert "__global__" in src and "gated_residual" in src
    assert "2048" in src
    assert tessera.emit("gated_residual", hidden=1024) != src


def test_emit_of_an_mhc_op_prints_its_plan_and_kernels():
    text = tessera.emit("mhc_pre", hidden=7168)
    assert text.startswith("// mhc_pre:")
    assert "// ======== mhc_pre.stage_a" in text and "// ======== mhc_pre.big_fuse" in text


def test_ir_before_and_after_passes():
    traced = tessera.ir("gated_residual", hidden=256)
    assert traced.startswith("kernel gated_residual(")
    lowered = tessera.ir("gated_residual", after="lower_tile_ops", target="cpu", hidden=256)
    assert lowered != traced
    every = tessera.ir("gated_residual", after="passes", hidden=256)
    assert every.count("// ---- IR after") >= 5


def test_compile_returns_a_cubin_and_resources():
    k = tessera.compile("rmsnorm", arch="sm_90a", hidden=4096)
    assert k.cubin[:4] == b"\x7fELF"
    assert k.arch == "sm_90a"
    assert 0 < k.registers <= 255 and k.spill_store_bytes == 0
    assert ".target sm_90a" in k.ptx and "__global__" in k.cuda_source
    again = tessera.compile("rmsnorm", arch="sm_90a", hidden=4096)
    assert again.cubin == k.cubin


def test_cache_info_counts_this_process():
    tessera.compile("vector_add", arch="sm_80")
    info = tessera.cache_info()
    assert info["format"] >= 1 and info["directory"]
    assert info["compiles"] + info["disk_hits"] + info["memory_hits"] >= 1


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: tessera.emit("no_such_kernel"), "no registered kernel"),
        (lambda: tessera.emit("rmsnorm", no_such_param=1), "no_such_param"),
        (lambda: tessera.emit("rmsnorm", hidden=1.5), "hidden"),
        (lambda: tessera.ir("rmsnorm", after="no_such_pass"), "no_such_pass"),
        (lambda: tessera.ir("rmsnorm", after="lower_tile_ops", target="tpu"), "tpu"),
        (lambda: tessera.compile("rmsnorm", arch="sm_1"), "sm_1"),
    ],
)
def test_bad_requests_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()

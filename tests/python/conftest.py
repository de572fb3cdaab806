"""pytest set-up for the Python package's tests.

CPU tests (the default selection in CI: ``-m "not gpu"``) run numpy arrays on the CPU backend.
Tests marked ``gpu`` need torch and a CUDA device: when selected they fail, never skip, if
either is missing, so a GPU run cannot pass by testing nothing.
"""

import numpy as np
import pytest

try:
    import ml_dtypes

    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # the test extra installs it
    BF16 = None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/gpu/" in str(item.fspath):
            item.add_marker(pytest.mark.gpu)


@pytest.fixture(scope="session")
def cuda_torch():
    """torch with a CUDA device, or a failure saying what is missing."""
    try:
        import torch
    except ImportError as e:
        pytest.fail(f"gpu test selected but torch is not importable: {e}")
    if not torch.cuda.is_available():
        pytest.fail("gpu test selected but torch sees no CUDA device")
    return torch


@pytest.fixture
def rng():
    return np.random.default_rng(20261206)


@pytest.fixture(scope="session")
def cpu_backend():
    import tessera

    if not tessera.info()["cpu_backend"]:
        pytest.fail("the library was built without the CPU backend (TESSERA_ENABLE_LLVM=OFF)")
    return True

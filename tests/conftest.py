"""Shared fixtures: the backends every test runs on, and the pinned hypothesis profiles."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinyae as ae
from tinyae import kernels

# "ci" (the default) keeps the whole suite well under 3 minutes on 2 cores and is
# derandomized, so a CI failure reproduces; "dev" searches harder:
#   HYPOTHESIS_PROFILE=dev pytest
_common = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("ci", max_examples=25, derandomize=True, **_common)
settings.register_profile("dev", max_examples=300, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BACKEND_PARAMS = ["numpy", "strict", pytest.param("cupy", marks=pytest.mark.gpu)]


@pytest.fixture(params=BACKEND_PARAMS)
def backend_name(request):
    """Run the test with this backend current (new parameters and arrays are made there)."""
    name = request.param
    try:
        with ae.use_backend(name):
            ae.seed(0)
            yield name
    except ae.BackendUnavailable as exc:
        pytest.skip(f"backend {name!r} unavailable here: {exc}")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=kernels.MODES)
def kernel_mode(request, backend_name):
    """Run the test through the fast kernels and again through the reference ones. The fast ones
    take NumPy arrays only: on another backend every call is the reference already, run once."""
    if request.param == "fast" and backend_name != "numpy":
        pytest.skip(f"on {backend_name!r} every kernel call takes the reference path (the 'reference' run)")
    with kernels.using(request.param):
        yield request.param

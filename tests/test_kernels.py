"""The kernel layer: every primitive's fast implementation against its reference, and the dispatch.

Shapes, hyper-parameters and values are drawn by hypothesis. The reference implementations are
the oracle (they are the math of docs/, and the gradient checks run through them on the strict
backend and with ``kernels.using("reference")``). Where the fast version computes the same float
operations in the same order (the optimizer updates, im2col's copies, the sigmoid) the results
must be identical; where it sums in another order (col2im) or rearranges a formula (BCE) they
must agree to a few units of float round-off.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyae as ae
from tinyae import kernels
from tinyae import strategies as ts
from tinyae.kernels import jit

DTYPES = st.sampled_from([np.float32, np.float64])
needs_numba = pytest.mark.skipif(not jit.AVAILABLE, reason="numba is not installed: no compiled kernels")


def _values(dtype, shape, low=-3.0, high=3.0):
    return hnp.arrays(dtype, shape, elements=st.floats(low, high, width=np.finfo(dtype).bits))


def _close(fast, reference, ulps=8):
    """Equal up to a few float round-offs, relative to the array's scale (sums in another order)."""
    fast, reference = np.asarray(fast), np.asarray(reference)
    assert fast.shape == reference.shape and fast.dtype == reference.dtype
    scale = max(1.0, float(np.max(np.abs(reference)))) if reference.size else 1.0
    np.testing.assert_allclose(fast, reference, rtol=0, atol=ulps * np.finfo(reference.dtype).eps * scale)


# --------------------------------------------------------------------------- #
# The optimizer updates
# --------------------------------------------------------------------------- #
@needs_numba
@given(
    dtype=DTYPES,
    shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=40),
    steps=st.integers(1, 4),
    lr=st.floats(1e-4, 0.5),
    betas=st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.9999)),
    eps=st.sampled_from([1e-8, 1e-6, 1e-3]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.5]),
    data=st.data(),
)
def test_adam_update_fast_equals_reference_bit_for_bit(dtype, shape, steps, lr, betas, eps, weight_decay, data):
    start = data.draw(_values(dtype, shape))
    grads = [data.draw(_values(dtype, shape)) for _ in range(steps)]
    results = {}
    for path in ("reference", "fast"):
        param, m, v = start.copy(), np.zeros(shape, dtype), np.zeros(shape, dtype)
        for t, g in enumerate(grads, start=1):
            getattr(kernels.adam_update, path)(param, g, m, v, lr=lr, beta1=betas[0], beta2=betas[1], eps=eps,
                                               step=t, weight_decay=weight_decay)
        results[path] = (param, m, v)
    for fast, reference in zip(results["fast"], results["reference"]):
        np.testing.assert_array_equal(fast, reference)
        assert fast.dtype == dtype


@needs_numba
@given(dtype=DTYPES, shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=30),
       momentum=st.sampled_from([0.0, 0.5, 0.9]), lr=st.floats(1e-3, 1.0), data=st.data())
def test_sgd_update_fast_equals_reference_bit_for_bit(dtype, shape, momentum, lr, data):
    start = data.draw(_values(dtype, shape))
    grads = [data.draw(_values(dtype, shape)) for _ in range(3)]
    results = {}
    for path in ("reference", "fast"):
        param, velocity = start.copy(), (np.zeros(shape, dtype) if momentum else None)
        for g in grads:
            getattr(kernels.sgd_update, path)(param, g, velocity, lr=lr, momentum=momentum)
        results[path] = param
    np.testing.assert_array_equal(results["fast"], results["reference"])


@needs_numba
def test_updates_of_arrays_the_loop_cannot_take_fall_back_to_the_reference():
    """A non-contiguous parameter (a transposed view) is updated in place all the same."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 4)).astype(np.float32)
    param, expected = base.copy().T, base.copy().T  # F-ordered views
    g = rng.standard_normal((4, 6)).astype(np.float32)
    state = [np.zeros((4, 6), np.float32) for _ in range(4)]
    kernels.adam_update.fast(param, g, state[0], state[1], lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, step=1)
    kernels.adam_update.reference(expected, g, state[2], state[3], lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, step=1)
    np.testing.assert_array_equal(param, expected)
    assert not np.array_equal(param, base.T)


# --------------------------------------------------------------------------- #
# The convolution's data movement
# --------------------------------------------------------------------------- #
def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


@needs_numba
@given(cfg=ts.conv_configs(max_input=400), dtype=DTYPES, channels_last=st.booleans(), data=st.data())
def test_im2col_and_col2im_fast_equal_reference(cfg, dtype, channels_last, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    geometry = (_pair(cfg["kernel_size"]), _pair(cfg["stride"]), _pair(cfg["padding"]))
    shape = (cfg["batch"], cfg["in_channels"], cfg["height"], cfg["width"])
    x = rng.standard_normal(shape).astype(dtype)
    if channels_last:  # NCHW values in channels-last memory, as the conv layers return them
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    cols = kernels.im2col.fast(x, *geometry)
    np.testing.assert_array_equal(cols, kernels.im2col.reference(x, *geometry))
    assert cols.dtype == dtype
    z = rng.standard_normal(cols.shape).astype(dtype)
    _close(kernels.col2im.fast(z, shape, *geometry), kernels.col2im.reference(z, shape, *geometry))


@needs_numba
@given(dtype=DTYPES, rows=st.integers(1, 3000), cols=st.integers(1, 40), data=st.data())
def test_sum_rows_fast_equals_reference(dtype, rows, cols, data):
    """The loop sums in float64 and rounds once; NumPy sums pairwise in the array's dtype."""
    a = np.random.default_rng(data.draw(st.integers(0, 2**16))).standard_normal((rows, cols)).astype(dtype)
    bound = 4 * np.finfo(dtype).eps * np.sum(np.abs(a), axis=0) * max(1.0, np.log2(rows))
    for layout in (a, a.T.copy().T):  # C-order rows for the loop; column-major goes to the reference
        fast, reference = kernels.sum_rows.fast(layout), kernels.sum_rows.reference(layout)
        assert fast.dtype == dtype and fast.shape == (cols,)
        assert np.all(np.abs(fast.astype(np.float64) - reference) <= bound)


# --------------------------------------------------------------------------- #
# Element-wise chains
# --------------------------------------------------------------------------- #
@given(dtype=DTYPES, shape=ts.shapes(min_dims=1, max_dims=3, max_side=20), data=st.data())
def test_sigmoid_fast_equals_reference(dtype, shape, data):
    x = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-1e4, 1e4, width=np.finfo(dtype).bits)))
    fast = kernels.sigmoid.fast(x)
    np.testing.assert_array_equal(fast, kernels.sigmoid.reference(x))
    assert fast.dtype == dtype and np.all((fast >= 0) & (fast <= 1))


@given(dtype=DTYPES, shape=ts.shapes(min_dims=1, max_dims=3, max_side=20), data=st.data())
def test_bce_fast_equals_reference_including_the_floors_at_0_and_1(dtype, shape, data):
    bits = np.finfo(dtype).bits
    edges = st.sampled_from([0.0, 1.0])
    p = data.draw(hnp.arrays(dtype, shape, elements=st.one_of(st.floats(0.0, 1.0, width=bits), edges)))
    t = data.draw(hnp.arrays(dtype, shape, elements=st.floats(0.0, 1.0, width=bits)))
    _close(kernels.bce.fast(p, t), kernels.bce.reference(p, t), ulps=16)


@needs_numba
@given(dtype=DTYPES, shape=ts.shapes(min_dims=1, max_dims=3, max_side=20), scale=st.floats(1e-3, 1.0),
       channels_last=st.booleans(), saturated=st.booleans(), data=st.data())
def test_bce_with_logits_value_and_gradient_fast_equal_reference(dtype, shape, scale, channels_last, saturated, data):
    bits = np.finfo(dtype).bits
    z = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-50.0, 50.0, width=bits)))
    t = data.draw(hnp.arrays(dtype, shape, elements=st.floats(0.0, 1.0, width=bits)))
    if saturated:  # confident and right: max(z, 0) and t z cancel, and only log(1 + e^-|z|) is left
        z, t = (np.abs(z) + 10).astype(dtype), np.ones_like(z)
    if channels_last and z.ndim == 4:  # logits from a conv layer
        z = np.ascontiguousarray(z.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    total, grad = kernels.bce_with_logits.fast(z, t, scale)
    ref_total, ref_grad = kernels.bce_with_logits.reference(z, t, scale)
    # every l_i is computed as the reference does; only the order of the final sum may differ
    elementwise = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - t * z
    assert abs(total - ref_total) <= 8 * np.finfo(dtype).eps * max(float(np.sum(np.abs(elementwise))), 1e-30)
    _close(grad, ref_grad)


def test_element_wise_kernels_keep_nan_visible():
    x = np.array([np.nan, 0.0, 1.0], dtype=np.float32)
    for path in ("fast", "reference"):
        with kernels.using(path):
            assert np.isnan(kernels.sigmoid(x)[0])
            assert np.isnan(kernels.bce(x, np.ones(3, np.float32))[0])
            assert np.isnan(kernels.bce_with_logits(x, np.ones(3, np.float32))[0])  # the total


# --------------------------------------------------------------------------- #
# Dispatch
# --------------------------------------------------------------------------- #
def test_every_primitive_has_a_reference_and_a_fast_version_where_it_can():
    names = set(kernels.primitives())
    assert names == {"adam_update", "sgd_update", "im2col", "col2im", "sum_rows", "sigmoid", "bce", "bce_with_logits"}
    for name, primitive in kernels.primitives().items():
        assert callable(primitive.reference), name
        compiled = name in ("adam_update", "sgd_update", "im2col", "col2im", "sum_rows")
        assert (primitive.fast is not None) == (jit.AVAILABLE or not compiled), name


def test_fast_path_for_numpy_reference_for_other_backends_and_when_asked(monkeypatch):
    calls = []
    primitive = kernels.Primitive("_probe", lambda a: calls.append("reference"), lambda a: calls.append("fast"))
    try:
        primitive(np.zeros(2))
        primitive(a=np.zeros(2, dtype=np.float32))  # by keyword too
        primitive(np.zeros(2, dtype=np.float16))  # the compiled loops are for float32 and float64
        with ae.use_backend("strict"):
            primitive(ae.to_backend(np.zeros(2)))
        with kernels.using("reference"):
            assert kernels.mode() == "reference"
            primitive(np.zeros(2))
        assert kernels.mode() == "fast"
        previous = kernels.use("reference")
        primitive(np.zeros(2))
        kernels.use(previous)
    finally:
        del kernels.dispatch._registry["_probe"]
    assert calls == ["fast", "fast", "reference", "reference", "reference", "reference"]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match=r"unknown kernel mode 'quick': expected one of 'fast', 'reference'"):
        kernels.use("quick")


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_environment_chooses_the_mode_and_a_bad_value_is_a_clear_error():
    done = _run("import tinyae; print(tinyae.kernels.mode())", TINYAE_KERNELS="reference")
    assert done.returncode == 0 and done.stdout.strip() == "reference", done.stderr
    done = _run("import tinyae", TINYAE_KERNELS="turbo")
    assert done.returncode != 0 and "TINYAE_KERNELS='turbo': expected one of fast, reference" in done.stderr


def test_without_numba_the_compiled_kernels_fall_back_and_training_works():
    code = (
        "import numpy as np, tinyae as ae\n"
        "assert ae.kernels.adam_update.fast is None and ae.kernels.im2col.fast is None\n"
        "assert ae.kernels.sigmoid.fast is not None\n"
        "ae.seed(0); model = ae.conv_autoencoder((1, 8, 8), channels=(2,))\n"
        "opt = ae.Adam(model.parameters(), lr=1e-2)\n"
        "x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)\n"
        "for _ in range(3): opt.zero_grad(); model.forward_backward(x); opt.step()\n"
        "import sys; assert 'numba' not in sys.modules\n"
        "print('ok')\n"
    )
    done = _run(code, TINYAE_NUMBA="0")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("path", ["reference", "fast"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_moments_of_a_zero_gradient_become_zero_not_subnormal(path, dtype):
    """A moment that decays geometrically (its gradient is always 0) ends at 0, never in the
    subnormal numbers (20-100x slower arithmetic on a CPU), in both versions of both updates."""
    if getattr(kernels.adam_update, path) is None:
        pytest.skip("numba is not installed")
    tiny = np.finfo(dtype).smallest_normal
    param, zero_grad = np.ones(8, dtype), np.zeros(8, dtype)
    m, v, velocity = np.full(8, 1e-3, dtype), np.full(8, 1e-3, dtype), np.full(8, 1e-3, dtype)
    for t in range(1, 8000):
        getattr(kernels.adam_update, path)(param, zero_grad, m, v, lr=1e-3, beta1=0.9, beta2=0.9, eps=1e-8, step=t)
        getattr(kernels.sgd_update, path)(param, zero_grad, velocity, lr=1e-3, momentum=0.9)
        for moment in (m, v, velocity):
            assert not np.any((moment != 0) & (np.abs(moment) < tiny)), (t, moment)
    assert np.all(m == 0) and np.all(v == 0) and np.all(velocity == 0)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_and_reference_agree_where_moments_cross_the_smallest_normal_number(dtype):
    """Values just above, at and below the smallest normal number (and -0.0): both versions flush
    the same elements, bit for bit."""
    tiny = np.finfo(dtype).smallest_normal
    start = np.array([tiny * 1.5, tiny * 1.4, tiny * 1.3, tiny * 1.2, -tiny * 1.2, tiny, -0.0, 1.0], dtype)
    grads = [np.zeros(8, dtype), np.array([0, 0, 0, 0, 0, 0, 0, 1e-30], dtype), np.zeros(8, dtype)]
    results = {}
    for path in ("reference", "fast"):
        param, m, v, velocity = np.ones(8, dtype), start.copy(), start.copy() ** 2 + start.copy(), start.copy()
        v = np.abs(v)
        for t, g in enumerate(grads, start=1):
            getattr(kernels.adam_update, path)(param, g, m, v, lr=1e-3, beta1=0.9, beta2=0.9, eps=1e-8, step=t)
            getattr(kernels.sgd_update, path)(param, g, velocity, lr=1e-3, momentum=0.9)
        results[path] = [a.tobytes() for a in (param, m, v, velocity)]
    assert results["fast"] == results["reference"]
    flushed = np.frombuffer(results["fast"][1], dtype)
    assert flushed[3] == 0 and flushed[4] == 0 and flushed[0] != 0  # 1.2 * 0.9^3 < 1 < 1.5 * 0.9^3


@pytest.mark.parametrize("path", ["reference", "fast"])
def test_the_flush_keeps_the_smallest_normal_number_and_zeroes_the_next_one_down(path):
    """With beta1 = beta2 = 1 the moments keep their values, so what the update leaves of them is
    what the flush did: the smallest normal number stays, the largest subnormal becomes 0."""
    kernel = getattr(kernels.adam_update, path)
    if kernel is None:
        pytest.skip("numba is not installed")
    tiny = np.finfo(np.float32).smallest_normal
    below = np.nextafter(tiny, np.float32(0))
    m = np.array([tiny, below, -tiny, -below], np.float32)
    v = np.abs(m)
    with np.errstate(divide="ignore", invalid="ignore"):  # 1 - beta^t = 0: the parameter is not the point
        kernel(np.ones(4, np.float32), np.zeros(4, np.float32), m, v, lr=1e-3, beta1=1.0, beta2=1.0, eps=1e-8,
               step=1)
    assert m.tolist() == [tiny, 0.0, -tiny, 0.0] and v.tolist() == [tiny, 0.0, tiny, 0.0]

"""The checker itself: it must fail wrong backward passes, name the right tensor, and clean up."""

from __future__ import annotations

import numpy as np
import pytest

import tinyae as ae
from tinyae import backend
from tinyae.gradcheck import GradientCheckError, check_loss, check_module, compare_gradients


class MissingTranspose(ae.Dense):
    """dL/dx written as g W instead of g W^T (square layer, so the shapes still fit)."""

    def backward(self, grad_out):
        x = self._cached(self._x)
        self.weight.grad += x.T @ grad_out
        self.bias.grad += backend.array_module(grad_out).sum(grad_out, axis=0)
        return grad_out @ self.weight.data


class BiasNotSummed(ae.Dense):
    """db taken from the first sample only instead of summed over the batch."""

    def backward(self, grad_out):
        x = self._cached(self._x)
        self.weight.grad += x.T @ grad_out
        self.bias.grad += grad_out[0, :]
        return grad_out @ self.weight.data.T


class SigmoidPrimeAsS(ae.Sigmoid):
    """s'(x) written as s(x) instead of s(x) (1 - s(x))."""

    def backward(self, grad_out):
        return grad_out * self._cached(self._y)


class MSEWithoutOneOverN(ae.MSELoss):
    """The mean's 1/n dropped from the gradient."""

    def backward(self):
        pred, target = self._cache
        return 2.0 * (pred - target)


class DropoutRedrawsMask(ae.Dropout):
    """A fresh mask in backward: differentiates a different function."""

    def backward(self, grad_out):
        xp = backend.array_module(grad_out)
        keep = xp.astype(backend.uniform(tuple(grad_out.shape), like=grad_out) >= self.p, grad_out.dtype)
        return grad_out * keep / (1 - self.p)


def _x(shape=(4, 3), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize(
    "layer, failing",
    [
        (MissingTranspose(3, 3), {"input"}),
        (BiasNotSummed(3, 2), {"bias"}),
        (SigmoidPrimeAsS(), {"input"}),
        (DropoutRedrawsMask(0.5), {"input"}),
    ],
    ids=["missing-transpose", "bias-not-summed", "sigmoid-prime-as-s", "dropout-mask-redrawn"],
)
def test_wrong_backward_passes_fail_on_the_right_tensor(backend_name, layer, failing):
    layer.to(backend_name)
    with pytest.raises(GradientCheckError) as info:
        check_module(layer, ae.to_backend(_x()))
    report = info.value.report
    assert {c.name for c in report.checks if not c.passed} == failing
    for name in failing:
        assert f"{name} gradient: FAIL" in str(info.value)


def test_dropped_one_over_n_fails(backend_name):
    with pytest.raises(GradientCheckError, match="prediction gradient: FAIL"):
        check_loss(MSEWithoutOneOverN(), ae.to_backend(_x()), ae.to_backend(_x(seed=1)))


def test_correct_layers_pass_with_margin():
    report = check_module(ae.Sequential(ae.Dense(3, 4), ae.Sigmoid(), ae.Dense(4, 2)), _x())
    assert report.passed and report.max_error < 1e-8
    assert [c.name for c in report.checks] == ["input", "0.weight", "0.bias", "2.weight", "2.bias"]


def test_report_shows_worst_element_and_relative_error():
    report = check_module(MissingTranspose(3, 3), _x(), raise_on_fail=False)
    check = report["input"]
    assert not report.passed and not check.passed
    text = str(check)
    assert text.startswith("input gradient: FAIL  error ") and "worst at [" in text
    assert f"analytic {check.analytic:.6g}" in text and "relative error" in text
    assert check.error > 1e-3  # a wrong gradient misses by a lot, not by round-off


def test_near_zero_entries_do_not_fail_a_correct_gradient():
    """The design choice: a bias gradient that cancels to ~1e-11 numerically passes."""
    numerical = np.array([1e-11, 0.8, -0.3])
    analytic = np.array([0.0, 0.8 + 1e-10, -0.3])
    # (CS231n's elementwise |a - n| / max(|a| + |n|, 1e-8) would fail it: 1e-11 / 1e-8 = 1e-3 at entry 0)
    assert compare_gradients("bias", analytic, numerical).passed


def test_shape_and_nan_problems_are_reported_not_raised():
    numerical = np.zeros((2, 3))
    bad_shape = compare_gradients("weight", np.zeros((3, 2)), numerical)
    assert not bad_shape.passed and "wrong shape: expected (2, 3), got (3, 2)" in str(bad_shape)
    with_nan = compare_gradients("weight", np.array([[0, np.nan, 0], [0, 0, 0]]), numerical)
    assert not with_nan.passed and "non-finite analytic gradient at [0, 1]" in str(with_nan)


def test_check_restores_parameters_gradients_and_random_state(backend_name):
    layer = ae.Sequential(ae.Dense(3, 2), ae.Dropout(0.5))
    for p in layer.parameters():
        p.grad = p.grad + 7.0  # a half-accumulated gradient the check must not touch
    like = ae.to_backend(np.zeros(1, dtype=np.float32))
    ae.seed(11)
    expected_next = ae.to_numpy(backend.uniform((5,), like=like))
    for make_backward_fail in (False, True):
        before = [(ae.to_numpy(p.data).copy(), ae.to_numpy(p.grad).copy()) for p in layer.parameters()]
        ae.seed(11)
        if make_backward_fail:
            layer.layers[0].backward = lambda g: 1 / 0
            with pytest.raises(ZeroDivisionError):
                check_module(layer, ae.to_backend(_x()))
        else:
            check_module(layer, ae.to_backend(_x()))
        assert ae.to_numpy(backend.uniform((5,), like=like)).tolist() == expected_next.tolist()
        for p, (data, grad) in zip(layer.parameters(), before):
            assert backend.numpy_dtype(p.data) == np.float32 and backend.numpy_dtype(p.grad) == np.float32
            np.testing.assert_array_equal(ae.to_numpy(p.data), data)
            np.testing.assert_array_equal(ae.to_numpy(p.grad), grad)


def test_public_names():
    assert ae.gradcheck.check_module is check_module
    assert ae.GradientCheckError is GradientCheckError
    assert issubclass(GradientCheckError, AssertionError)

"""Losses: values by hand, gradients against finite differences, safety at the edges."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyae as ae
from tinyae import strategies as ts
from tinyae.gradcheck import check_loss, compare_gradients, numerical_gradient

reductions = st.sampled_from(["mean", "sum"])


def _to(a, dtype=np.float32):
    return ae.to_backend(np.asarray(a, dtype=dtype))


# --------------------------------------------------------------------------- #
# Gradients (hypothesis, float64, numpy and strict)
# --------------------------------------------------------------------------- #
@given(shape=ts.shapes(), reduction=reductions, data=st.data())
def test_mse_gradient(backend_name, kernel_mode, shape, reduction, data):
    pred, target = data.draw(ts.arrays(shape)), data.draw(ts.arrays(shape))
    check_loss(ae.MSELoss(reduction), ae.to_backend(pred), ae.to_backend(target))


@given(shape=ts.shapes(), reduction=reductions, data=st.data())
def test_bce_gradient(backend_name, kernel_mode, shape, reduction, data):
    pred = data.draw(ts.probabilities(shape))
    target = data.draw(ts.probabilities(shape, 0.0, 1.0))
    check_loss(ae.BCELoss(reduction), ae.to_backend(pred), ae.to_backend(target))


@given(shape=ts.shapes(), reduction=reductions, data=st.data())
def test_bce_with_logits_gradient(backend_name, kernel_mode, shape, reduction, data):
    logits = data.draw(ts.arrays(shape, max_magnitude=6.0))
    target = data.draw(ts.probabilities(shape, 0.0, 1.0))
    check_loss(ae.BCEWithLogitsLoss(reduction), ae.to_backend(logits), ae.to_backend(target))


@given(batch=ts.batch_sizes, latent=ts.feature_sizes, data=st.data())
def test_gaussian_kl_gradients(backend_name, batch, latent, data):
    mu = ae.to_backend(data.draw(ts.arrays((batch, latent))))
    logvar = ae.to_backend(data.draw(ts.arrays((batch, latent))))
    _, dmu, dlogvar = ae.gaussian_kl(mu, logvar)
    num_mu = numerical_gradient(lambda m: ae.gaussian_kl(m, logvar)[0], mu)
    num_logvar = numerical_gradient(lambda lv: ae.gaussian_kl(mu, lv)[0], logvar)
    for check in (compare_gradients("mu", dmu, num_mu), compare_gradients("logvar", dlogvar, num_logvar)):
        assert check.passed, str(check)


# --------------------------------------------------------------------------- #
# Values by hand
# --------------------------------------------------------------------------- #
def test_mse_by_hand(backend_name):
    pred, target = _to([[1.0, 2.0]]), _to([[0.0, 0.0]])
    assert ae.MSELoss()(pred, target) == pytest.approx(2.5)
    assert ae.MSELoss("sum")(pred, target) == pytest.approx(5.0)
    loss = ae.MSELoss()
    loss(pred, target)
    np.testing.assert_allclose(ae.to_numpy(loss.backward()), [[1.0, 2.0]])  # 2 (p - t) / 2


def test_bce_by_hand(backend_name):
    assert ae.BCELoss()(_to([[0.5, 0.5]]), _to([[1.0, 0.0]])) == pytest.approx(math.log(2), rel=1e-6)
    assert ae.BCELoss()(_to([[0.9]]), _to([[1.0]])) == pytest.approx(-math.log(0.9), rel=1e-6)


def test_bce_with_logits_matches_bce_of_sigmoid(rng):
    z = rng.uniform(-5, 5, size=(4, 7))
    t = rng.uniform(0, 1, size=(4, 7))
    p = 1 / (1 + np.exp(-z))
    assert ae.BCEWithLogitsLoss()(z, t) == pytest.approx(ae.BCELoss()(p, t), rel=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_is_safe_at_zero_and_one(backend_name, dtype):
    pred, target = _to([[0.0, 1.0, 0.0, 1.0]], dtype), _to([[1.0, 0.0, 0.0, 1.0]], dtype)
    loss = ae.BCELoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log(0) or division warnings
        value = loss(pred, target)
        grad = ae.to_numpy(loss.backward())
    assert math.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx(2 * 100.0 / 4, rel=1e-6)  # two confidently wrong entries, log floored at -100
    assert grad[0, 0] < 0 < grad[0, 1] and grad[0, 2] == 0 and grad[0, 3] == 0


def test_bce_with_logits_is_finite_for_huge_logits(backend_name):
    z, t = _to([[1e4, -1e4, 1e4, -1e4]]), _to([[0.0, 1.0, 1.0, 0.0]])
    loss = ae.BCEWithLogitsLoss("sum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(z, t)
        grad = ae.to_numpy(loss.backward())
    assert value == pytest.approx(2e4)  # softplus(1e4) = 1e4 and softplus(1e4) for the other wrong one
    np.testing.assert_allclose(grad, [[1, -1, 0, 0]])


def test_gaussian_kl_by_hand(backend_name):
    zero = _to(np.zeros((3, 2)))
    kl, dmu, dlogvar = ae.gaussian_kl(zero, zero)
    assert kl == 0.0 and not np.any(ae.to_numpy(dmu)) and not np.any(ae.to_numpy(dlogvar))
    # one sample, mu = [1, 2], logvar = [0, log 2]: KL = 1/2 sum(mu^2 + var - 1 - logvar)
    kl, dmu, dlogvar = ae.gaussian_kl(_to([[1.0, 2.0]], np.float64), _to([[0.0, math.log(2)]], np.float64))
    assert kl == pytest.approx(0.5 * (1 + 4 + (1 + 2) - 2 - math.log(2)))
    np.testing.assert_allclose(ae.to_numpy(dmu), [[1.0, 2.0]])
    np.testing.assert_allclose(ae.to_numpy(dlogvar), [[0.0, 0.5]])


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("loss", [ae.MSELoss(), ae.BCELoss(), ae.BCEWithLogitsLoss()], ids=repr)
def test_nan_in_a_loss_names_the_loss_and_the_count(loss):
    pred = np.full((2, 3), 0.5)
    pred[0, 1] = np.nan
    with pytest.raises(FloatingPointError, match=rf"{type(loss).__name__}.*expected a finite loss, got nan.*"
                                                 r"prediction has 1 NaN/inf entries and the target 0 \(of 6\)"):
        loss(pred, np.full((2, 3), 0.5))


def test_loss_shape_mismatch():
    with pytest.raises(ValueError, match=r"MSELoss.*same shape, got \(2, 3\) and \(3, 2\)"):
        ae.MSELoss()(np.zeros((2, 3)), np.zeros((3, 2)))


def test_loss_backward_before_call():
    with pytest.raises(RuntimeError, match="BCELoss.*backward\\(\\) was called before"):
        ae.BCELoss().backward()


def test_loss_bad_reduction_and_integer_target():
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum'\), got 'none'"):
        ae.MSELoss("none")
    with pytest.raises(TypeError, match="floating-point target.*int64"):
        ae.MSELoss()(np.zeros((2, 2)), np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="prediction is float32 but target is float64; convert the target"):
        ae.BCEWithLogitsLoss()(np.zeros((2, 2), dtype=np.float32), np.zeros((2, 2)))  # the gradient would be float64


def test_gaussian_kl_shape_mismatch():
    message = r"gaussian_kl: expected mu and logvar of the same shape.*\(2, 3\) and \(2, 4\)"
    with pytest.raises(ValueError, match=message):
        ae.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 4)))


def test_a_loss_that_raised_hands_over_no_gradient():
    loss = ae.MSELoss()
    with pytest.raises(FloatingPointError):
        loss(np.array([np.nan, 1.0]), np.zeros(2))
    with pytest.raises(RuntimeError, match="backward"):
        loss.backward()  # the failed call left no gradient (nor a prediction) to hand over


@pytest.mark.parametrize("make", [ae.MSELoss, ae.BCELoss, ae.BCEWithLogitsLoss, lambda: ae.MSELoss("sum")])
def test_backward_twice_gives_the_same_gradient_in_new_arrays(make):
    loss = make()
    pred, target = np.array([0.2, 0.7, 0.4]), np.array([0.0, 1.0, 0.5])
    loss(pred, target)
    first, second = loss.backward(), loss.backward()
    assert first is not second
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("make", [ae.MSELoss, ae.BCELoss, ae.BCEWithLogitsLoss])
def test_a_loss_refuses_an_empty_batch(make):
    with pytest.raises(ValueError, match=r"expected at least one element, got a prediction of shape \(0, 3\)"):
        make()(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32))


@pytest.mark.parametrize("fn", [lambda a: ae.gaussian_kl(a, a), ae.l1_penalty, lambda a: ae.kl_sparsity(a, 0.1)])
def test_batch_averaged_terms_refuse_an_empty_batch(fn):
    with pytest.raises(ValueError, match=r"of at least one sample, got shape \(0, 3\)"):
        fn(np.zeros((0, 3), np.float32))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_bce_names_the_range_a_prediction_left():
    with pytest.raises(FloatingPointError, match=r"expected predictions in \[0, 1\].*got values in \[-0.5, 1.5\]"):
        ae.BCELoss()(np.array([-0.5, 0.5, 1.5]), np.array([0.0, 1.0, 1.0]))


def test_value_is_the_loss_as_an_array_on_the_device(backend_name):
    pred = ae.to_backend(np.array([[0.2, 0.7], [0.4, 0.9]]), dtype=np.float32)
    target = ae.to_backend(np.array([[0.0, 1.0], [1.0, 1.0]]), dtype=np.float32)
    for make in (ae.MSELoss, ae.BCELoss, ae.BCEWithLogitsLoss):
        value = make().value(pred, target)
        assert not isinstance(value, float) and tuple(value.shape) == ()
        assert float(value) == pytest.approx(make()(pred, target), rel=1e-6)
    kl, _, _ = ae.gaussian_kl(pred, target, as_array=True)
    assert float(kl) == pytest.approx(ae.gaussian_kl(pred, target)[0], rel=1e-6)

"""MaskedMSELoss: squared error over the observed entries (target != missing), AutoRec's loss."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyae as ae
from tinyae import strategies as ts
from tinyae.gradcheck import check_loss
from tinyae.losses import MaskedMSELoss
from tinyae.models.autoencoder import RECONSTRUCTION_LOSSES

reductions = st.sampled_from(["mean", "sum"])
markers = st.sampled_from([0.0, -1.0])


@st.composite
def masked_targets(draw, shape, missing):
    """Targets away from the marker where observed, the marker elsewhere; one entry at least observed."""
    values = draw(ts.arrays(shape, min_magnitude=0.1))
    values = np.where(values == missing, missing + 0.5, values)  # an observed value is never the marker
    observed = draw(hnp.arrays(np.bool_, shape))
    observed.flat[draw(st.integers(0, math.prod(shape) - 1))] = True
    return np.where(observed, values, missing), observed


def _to(a, dtype=np.float64):
    return ae.to_backend(np.asarray(a, dtype=dtype))


# --------------------------------------------------------------------------- #
# Gradients (hypothesis, float64, numpy and strict)
# --------------------------------------------------------------------------- #
@given(shape=ts.shapes(), reduction=reductions, missing=markers, data=st.data())
def test_masked_mse_gradient(backend_name, shape, reduction, missing, data):
    pred = data.draw(ts.arrays(shape))
    target, _ = data.draw(masked_targets(shape, missing))
    check_loss(MaskedMSELoss(reduction, missing=missing), ae.to_backend(pred), ae.to_backend(target))


@given(shape=ts.shapes(), reduction=reductions, missing=markers, data=st.data())
def test_unobserved_entries_get_no_gradient_and_leave_the_loss_alone(backend_name, shape, reduction, missing, data):
    pred = data.draw(ts.arrays(shape))
    target, observed = data.draw(masked_targets(shape, missing))
    loss = MaskedMSELoss(reduction, missing=missing)
    value = loss(_to(pred), _to(target))
    grad = ae.to_numpy(loss.backward())
    assert np.all(grad[~observed] == 0.0)
    moved = np.where(observed, pred, pred + data.draw(ts.arrays(shape, min_magnitude=0.5, max_magnitude=5.0)))
    assert loss(_to(moved), _to(target)) == pytest.approx(value, rel=1e-12, abs=1e-15)
    # and it is MSE on the observed entries alone
    assert value == pytest.approx(ae.MSELoss(reduction)(pred[observed], target[observed]), rel=1e-12, abs=1e-15)


# --------------------------------------------------------------------------- #
# Values by hand
# --------------------------------------------------------------------------- #
def test_masked_mse_by_hand(backend_name):
    pred, target = _to([[1.0, 2.0], [3.0, 4.0]], np.float32), _to([[0.0, 3.0], [5.0, 0.0]], np.float32)
    loss = MaskedMSELoss()
    assert loss(pred, target) == pytest.approx((1.0 + 4.0) / 2)  # (2 - 3)^2 and (3 - 5)^2 over 2 observed
    np.testing.assert_allclose(ae.to_numpy(loss.backward()), [[0.0, -1.0], [-2.0, 0.0]])  # 2 (p - t) / 2
    assert MaskedMSELoss("sum")(pred, target) == pytest.approx(5.0)
    assert ae.MSELoss()(pred, target) == pytest.approx((1 + 1 + 4 + 16) / 4)  # what the mask changes
    value = MaskedMSELoss().value(pred, target)
    assert not isinstance(value, float) and tuple(value.shape) == ()
    assert ae.to_numpy(loss.backward()).dtype == np.float32


def test_a_marker_other_than_zero():
    loss = MaskedMSELoss(missing=-1.0)
    assert loss(np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 3.0])) == pytest.approx(4.0 / 2)  # 0 is a rating
    assert repr(loss) == "MaskedMSELoss(reduction='mean', missing=-1.0)"


# --------------------------------------------------------------------------- #
# Nothing observed
# --------------------------------------------------------------------------- #
def test_no_observed_entry_is_a_value_error_for_the_mean_and_zero_for_the_sum(backend_name):
    pred, target = _to(np.ones((2, 3))), _to(np.zeros((2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 is made NaN without a division by zero
        with pytest.raises(ValueError, match=r"MaskedMSELoss.*expected at least one observed entry \(target != 0\), "
                                             r"got none in a target of shape \(2, 3\).*0/0"):
            MaskedMSELoss()(pred, target)
        value = MaskedMSELoss().value(pred, target)  # the device path: NaN, read by whoever reads it
        assert math.isnan(float(value))
        loss = MaskedMSELoss("sum")
        assert loss(pred, target) == 0.0
        assert not np.any(ae.to_numpy(loss.backward()))


def test_fit_stops_on_a_batch_with_no_observed_entry_and_says_why():
    x = np.array([[1.0, 0.0, 4.0, 5.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)  # the second row: no rating
    ae.seed(0)
    model = ae.mlp_autoencoder([4, 2], loss="masked_mse", code_activation="sigmoid")
    with pytest.raises(ae.TrainingDiverged, match=r"expected at least one observed entry"):
        ae.fit(model, ae.Adam(model.parameters()), x, epochs=1, batch_size=1, shuffle=False, progress=False)


def test_a_nan_prediction_is_still_reported_as_one():
    with pytest.raises(FloatingPointError, match=r"prediction has 1 NaN/inf entries"):
        MaskedMSELoss()(np.array([np.nan, 1.0]), np.array([2.0, 3.0]))


def test_the_marker_must_be_a_finite_number():
    with pytest.raises(ValueError, match=r"missing .*must be a finite number.*nan"):
        MaskedMSELoss(missing=math.nan)
    with pytest.raises(ValueError, match="reduction must be one of"):
        MaskedMSELoss("none")


# --------------------------------------------------------------------------- #
# In a model
# --------------------------------------------------------------------------- #
def test_an_autoencoder_trains_on_the_observed_ratings(backend_name):
    assert RECONSTRUCTION_LOSSES["masked_mse"] is MaskedMSELoss
    rng = np.random.default_rng(0)
    ratings = rng.integers(1, 6, size=(64, 12)).astype(np.float32)
    x = np.where(rng.random((64, 12)) < 0.3, ratings, 0.0).astype(np.float32)
    x[:, 0] = ratings[:, 0]  # every row has a rating
    ae.seed(0)
    model = ae.mlp_autoencoder([12, 6], loss="masked_mse", code_activation="sigmoid")
    assert model.target_range is None and isinstance(model.loss, MaskedMSELoss)
    history = ae.fit(model, ae.Adam(model.parameters(), lr=1e-2), x, epochs=20, batch_size=16, progress=False)
    assert history["loss"][-1] < 0.5 * history["loss"][0]


def test_a_training_step_reads_the_device_at_most_once(monkeypatch):
    """As tests/test_syncs.py measures every other model, with its counter: one read of the terms
    and one copy of the batch a step."""
    from test_syncs import _Counter

    rng = np.random.default_rng(0)
    x = np.where(rng.random((64, 10)) < 0.3, rng.integers(1, 6, (64, 10)), 0).astype(np.float32)
    x[:, 0] = 3.0
    costs = {}
    with ae.use_backend("strict"):
        ae.seed(0)
        model = ae.mlp_autoencoder([10, 4], loss="masked_mse", code_activation="sigmoid")
        optimizer = ae.Adam(model.parameters())
        ae.fit(model, optimizer, x, epochs=1, progress=False)
        counter = _Counter(monkeypatch)
        for batch_size in (16, 8):  # 4 and 8 steps
            before = counter.snapshot()
            ae.fit(model, optimizer, x, epochs=1, batch_size=batch_size, progress=False)
            after = counter.snapshot()
            costs[batch_size] = (after[0] - before[0], after[1] - before[1])
    assert (costs[8][0] - costs[16][0]) / 4 <= 1, costs
    # the batch; at least one copy a step: the counter sees this model's arrays
    assert 0 < (costs[8][1] - costs[16][1]) / 4 <= 1, costs

"""Softmax cross-entropy (gradients, huge logits, PyTorch) and the Classifier model (learning,
freezing, the labels it needs, one device read per step)."""

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
from tinyae.data import load_digits
from tinyae.gradcheck import check_loss, check_model
from tinyae.losses import SoftmaxCrossEntropyLoss
from tinyae.models.classifier import Classifier
from tinyae.models.labels import one_hot

reductions = st.sampled_from(["mean", "sum"])
classes = st.integers(2, 6)


@st.composite
def targets(draw, n: int, c: int) -> np.ndarray:
    """(n, c) float64 targets: one-hot rows, soft rows (positive, summing to 1), or non-negative
    rows that do not sum to 1 (the value is still defined, and so is its gradient)."""
    kind = draw(st.sampled_from(["one-hot", "soft", "unnormalised"]))
    if kind == "one-hot":
        labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
        return np.eye(c)[labels]
    rows = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0.05, 1.0)))
    return rows / rows.sum(axis=1, keepdims=True) if kind == "soft" else 2.0 * rows


def _to(a, dtype=np.float32):
    return ae.to_backend(np.asarray(a, dtype=dtype))


# --------------------------------------------------------------------------- #
# The loss: gradients (hypothesis, float64, numpy and strict), values, edges
# --------------------------------------------------------------------------- #
@given(n=ts.batch_sizes, c=classes, reduction=reductions, data=st.data())
def test_softmax_cross_entropy_gradient(backend_name, n, c, reduction, data):
    logits = data.draw(ts.arrays((n, c), max_magnitude=5.0))
    target = data.draw(targets(n, c))
    check_loss(SoftmaxCrossEntropyLoss(reduction), ae.to_backend(logits), ae.to_backend(target))


@given(n=ts.batch_sizes, c=classes, data=st.data())
def test_gradient_is_softmax_minus_target_over_n(backend_name, n, c, data):
    z = data.draw(ts.arrays((n, c), max_magnitude=5.0))
    t = np.eye(c)[data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))]
    loss = SoftmaxCrossEntropyLoss()
    value = loss(ae.to_backend(z), ae.to_backend(t))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.sum(t * np.log(p)) / n, rel=1e-12)
    np.testing.assert_allclose(ae.to_numpy(loss.backward()), (p - t) / n, rtol=1e-12, atol=1e-15)


def test_uniform_logits_give_log_c_and_mean_divides_by_samples(backend_name):
    z, t = _to(np.zeros((3, 4))), _to(np.eye(4)[[0, 2, 3]])
    assert SoftmaxCrossEntropyLoss()(z, t) == pytest.approx(math.log(4), rel=1e-6)
    # "mean" is over the 3 samples, not the 12 elements: "sum" is 3 times it
    assert SoftmaxCrossEntropyLoss("sum")(z, t) == pytest.approx(3 * math.log(4), rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_give_a_finite_loss_and_gradient(backend_name, dtype):
    z = _to([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype)
    t = _to([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype)
    loss = SoftmaxCrossEntropyLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no log(0)
        value = loss(z, t)
        grad = ae.to_numpy(loss.backward())
    # row 1: -log p_1 = 1e4 - (-1e4); row 2: 1e4 - (-1e4) + log 2 (two logits tie at the top)
    assert value == pytest.approx((2e4 + 2e4 + math.log(2)) / 2, rel=1e-6)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [-0.5, 0.25, 0.25]], atol=1e-7)


def test_backward_can_be_asked_twice(backend_name):
    z, t = _to(np.arange(6.0).reshape(2, 3) / 3), _to(np.eye(3)[[1, 2]])
    loss = SoftmaxCrossEntropyLoss()
    loss(z, t)
    first, second = ae.to_numpy(loss.backward()), ae.to_numpy(loss.backward())  # the second recomputes
    p = np.exp(np.arange(6.0).reshape(2, 3) / 3)
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(first, (p - np.eye(3)[[1, 2]]) / 2, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(first, second)


def test_matches_torch_cross_entropy(rng):
    torch = pytest.importorskip("torch")
    z = rng.normal(0, 3, size=(7, 5))
    labels = rng.integers(0, 5, size=7)
    soft = rng.dirichlet(np.ones(5), size=7)
    for target, torch_target in ((np.eye(5)[labels], torch.tensor(labels)), (soft, torch.tensor(soft))):
        for reduction in ("mean", "sum"):
            zt = torch.tensor(z, requires_grad=True)
            expected = torch.nn.functional.cross_entropy(zt, torch_target, reduction=reduction)
            expected.backward()
            loss = SoftmaxCrossEntropyLoss(reduction)
            assert loss(z, target) == pytest.approx(expected.item(), rel=1e-12)
            np.testing.assert_allclose(loss.backward(), zt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_bad_input_says_what_was_expected():
    loss = SoftmaxCrossEntropyLoss()
    with pytest.raises(ValueError, match=r"SoftmaxCrossEntropyLoss.*expected a 2-D logits array \(N, C\), got 1-D"):
        loss(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3\) and \(2, 4\)"):
        loss(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(TypeError, match="prediction is float32 but target is float64"):
        loss(np.zeros((2, 3), dtype=np.float32), np.zeros((2, 3)))
    z = np.zeros((2, 3))
    z[1, 2] = np.nan
    with pytest.raises(FloatingPointError, match=r"expected a finite loss, got nan.*prediction has 1 NaN/inf"):
        loss(z, np.eye(3)[[0, 1]])
    overflowing = r"finite but the loss is not.*overflowed float32"  # z - max(z) = 6e38 > float32's 3.4e38
    with np.errstate(over="ignore"), pytest.raises(FloatingPointError, match=overflowing):
        loss(np.array([[3e38, -3e38]], dtype=np.float32), np.array([[0.0, 1.0]], dtype=np.float32))
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        SoftmaxCrossEntropyLoss("none")


# --------------------------------------------------------------------------- #
# one_hot
# --------------------------------------------------------------------------- #
def test_one_hot_rows_on_the_backend_and_dtype_of_like(backend_name):
    like = _to(np.zeros((4, 7)))
    y = one_hot(np.array([2, 0, 2, 1]), 3, like)
    assert ae.backend.backend_of(y) == backend_name and y.dtype == like.dtype
    np.testing.assert_array_equal(ae.to_numpy(y), np.eye(3)[[2, 0, 2, 1]])


def test_one_hot_refuses_bad_labels():
    like = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"Classifier: labels must be integers in \[0, 4\), got dtype float64"):
        one_hot(np.array([0.0, 1.0, 2.0]), 4, like, owner="Classifier")
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\), got \[0, 4\]"):
        one_hot(np.array([0, 4, 1]), 4, like)
    with pytest.raises(ValueError, match=r"expected 3 labels \(one per sample\), got shape \(2,\)"):
        one_hot(np.array([0, 1]), 4, like)


# --------------------------------------------------------------------------- #
# The Classifier
# --------------------------------------------------------------------------- #
def _small_classifier(d=4, hidden=5, c=3):
    return Classifier(ae.Sequential(ae.Dense(d, hidden), ae.Tanh()), ae.Dense(hidden, c, init="xavier"), c)


def test_classifier_gradient_with_labels_and_with_soft_targets(backend_name):
    rng = np.random.default_rng(0)
    ae.seed(0)
    model = _small_classifier()
    x = rng.normal(size=(6, 4))
    check_model(model, x, labels=np.array([0, 1, 2, 2, 1, 0]))
    soft = rng.dirichlet(np.ones(3), size=6)
    check_model(model, x, target=soft)


def test_frozen_encoder_is_not_run_backward_and_the_head_gets_the_same_gradient(backend_name):
    x, labels = np.random.default_rng(1).normal(size=(5, 4)), np.array([0, 1, 2, 0, 1])
    ae.seed(0)
    model = _small_classifier().to(backend_name)
    model.forward_backward(_to(x), labels=labels)
    head_grad = ae.to_numpy(model.head.weight.grad)
    model.zero_grad()
    model.encoder.freeze()
    assert not model.encoder_trains()
    model.forward_backward(_to(x), labels=labels)
    np.testing.assert_allclose(ae.to_numpy(model.head.weight.grad), head_grad, rtol=1e-6)
    assert not any(np.any(ae.to_numpy(p.grad)) for p in model.encoder.parameters())


def test_classifier_learns_digits():
    data = load_digits()
    x_train, x_test = data.flat("train"), data.flat("test")
    ae.seed(0)
    model = Classifier(ae.Sequential(ae.Dense(64, 32), ae.ReLU()), ae.Dense(32, 10, init="xavier"), 10)
    assert model.accuracy(x_test, data.y_test) < 0.3  # untrained: near chance (0.1)
    history = ae.fit(model, ae.Adam(model.parameters(), lr=1e-2), x_train, data.flat("val"), labels=data.y_train,
                     val_labels=data.y_val, epochs=2, progress=False)
    assert set(history) >= {"loss", "cross_entropy", "val_loss", "val_cross_entropy"}
    # measured with this seed: validation cross-entropy 0.50 and test accuracy 0.937 (0.87-0.94
    # over seeds 0-11, validation 0.47-0.61)
    assert history["val_loss"][-1] < 0.7  # from about log 10 = 2.3 at chance
    assert model.accuracy(x_test, data.y_test) > 0.85  # 8.5 times chance


def test_freezing_leaves_the_encoder_unchanged_while_the_head_trains():
    data = load_digits()
    x, y = data.flat("train")[:256], data.y_train[:256]
    ae.seed(0)
    model = Classifier(ae.Sequential(ae.Dense(64, 32), ae.ReLU()), ae.Dense(32, 10, init="xavier"), 10)
    model.encoder.freeze()
    encoder_before, head_before = model.encoder.state_dict(), model.head.state_dict()
    history = ae.fit(model, ae.Adam(model.parameters(), lr=1e-2), x, labels=y, epochs=3, progress=False)
    for key, value in model.encoder.state_dict().items():
        np.testing.assert_array_equal(value, encoder_before[key], err_msg=key)
    assert all(not np.array_equal(value, head_before[key]) for key, value in model.head.state_dict().items())
    assert history["loss"][-1] < history["loss"][0]
    model.encoder.unfreeze()  # fine-tuning: now the encoder moves too
    ae.fit(model, ae.Adam(model.parameters(), lr=1e-3), x, labels=y, epochs=1, progress=False)
    assert not np.array_equal(model.encoder.state_dict()["0.weight"], encoder_before["0.weight"])


def test_fit_takes_inputs_outside_zero_one_and_an_empty_encoder():
    """The target is the labels, not x: fit checks no data range (target_range is None)."""
    rng = np.random.default_rng(2)
    x = rng.normal(0, 3, size=(40, 5)).astype(np.float32)  # codes, say: negative and above 1
    y = (x[:, 0] > 0).astype(np.int64)
    ae.seed(0)
    model = Classifier(ae.Sequential(), ae.Dense(5, 2, init="xavier"), 2)
    assert model.target_range is None
    ae.fit(model, ae.Adam(model.parameters(), lr=5e-2), x, labels=y, epochs=10, batch_size=8, progress=False)
    assert model.accuracy(x, y) > 0.9


def test_classifier_needs_labels_or_a_target():
    model = _small_classifier()
    with pytest.raises(ValueError, match=r"Classifier: labels are required.*labels=y"):
        model.forward_backward(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"labels are required.*fit\(model"):
        ae.fit(model, ae.Adam(model.parameters()), np.zeros((4, 4), dtype=np.float32), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"^Classifier: num_classes must be >= 2, got 1$"):
        Classifier(ae.Sequential(), ae.Dense(4, 1), 1)
    with pytest.raises(TypeError, match=r"^Classifier: num_classes must be an integer, got 2\.0 \(float\)$"):
        Classifier(ae.Sequential(), ae.Dense(4, 2), 2.0)
    assert Classifier(ae.Sequential(), ae.Dense(4, 2), 2).num_classes == 2  # the smallest allowed


def test_predict_and_accuracy(backend_name):
    rng = np.random.default_rng(3)
    ae.seed(0)
    model = _small_classifier()
    x = rng.normal(size=(9, 4)).astype(np.float32)
    logits = ae.to_numpy(model(ae.to_backend(x)))
    predicted = model.predict(x, batch_size=4)  # host input, moved to the backend, in three batches
    assert predicted.dtype == np.int64 and predicted.shape == (9,) and model.training
    np.testing.assert_array_equal(predicted, logits.argmax(axis=1))
    labels = predicted.copy()
    labels[:3] = (labels[:3] + 1) % 3
    assert model.accuracy(ae.to_backend(x), labels) == pytest.approx(6 / 9)
    with pytest.raises(ValueError, match="expected 9 labels"):
        model.accuracy(x, labels[:4])


def test_a_classifier_step_reads_the_device_at_most_once(monkeypatch):
    """As tests/test_syncs.py measures every other model: the labels are copied once a step, and
    the terms are read once."""
    from test_syncs import _Counter

    x = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    labels = np.arange(64) % 10
    with ae.use_backend("strict"):
        ae.seed(0)
        model = Classifier(ae.Sequential(ae.Dense(64, 8), ae.ReLU()), ae.Dense(8, 10), 10)
        optimizer = ae.Adam(model.parameters(), lr=1e-3)
        ae.fit(model, optimizer, x, epochs=1, labels=labels, progress=False)
        counter = _Counter(monkeypatch)
        costs = {}
        for batch_size in (16, 8):
            before = counter.snapshot()
            ae.fit(model, optimizer, x, epochs=1, batch_size=batch_size, labels=labels, progress=False)
            after = counter.snapshot()
            costs[batch_size] = (after[0] - before[0], after[1] - before[1])
    assert (costs[8][0] - costs[16][0]) / 4 <= 1, costs
    # the batch and its labels; at least one copy a step: the counter sees this model's arrays
    assert 0 < (costs[8][1] - costs[16][1]) / 4 <= 2, costs

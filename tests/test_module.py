"""Module, Parameter and Sequential: ordering, gradient accumulation, modes and state."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinyae as ae


def _net():
    return ae.Sequential(ae.Dense(4, 3), ae.ReLU(), ae.Dense(3, 2))


def test_parameters_and_state_dict_follow_module_order():
    net = _net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(net.state_dict()) == names
    assert [p.shape for p in net.parameters()] == [(4, 3), (3,), (3, 2), (2,)]


def test_backward_accumulates_and_zero_grad_clears(backend_name, rng):
    net = _net()
    x = ae.to_backend(rng.standard_normal((5, 4)).astype(np.float32))
    g = ae.to_backend(rng.standard_normal((5, 2)).astype(np.float32))
    net(x)
    net.backward(g)
    once = [ae.to_numpy(p.grad).copy() for p in net.parameters()]
    net(x)
    net.backward(g)
    for p, first in zip(net.parameters(), once):
        np.testing.assert_allclose(ae.to_numpy(p.grad), 2 * first, rtol=1e-6, atol=1e-7)
    net.zero_grad()
    assert all(not np.any(ae.to_numpy(p.grad)) for p in net.parameters())


def test_grad_is_zeros_at_creation_and_after_zero_grad_which_writes_in_place(backend_name):
    p = ae.Parameter(ae.to_backend(np.ones((2, 3), dtype=np.float32)), "w")
    assert ae.backend.numpy_dtype(p.grad) == np.float32 and ae.backend.backend_of(p.grad) == backend_name
    np.testing.assert_array_equal(ae.to_numpy(p.grad), np.zeros((2, 3)))
    grad = p.grad
    p.grad += ae.to_backend(np.full((2, 3), 2.0, dtype=np.float32))  # what a backward pass does
    p.grad += ae.to_backend(np.full((2, 3), 0.5, dtype=np.float32))
    np.testing.assert_array_equal(ae.to_numpy(p.grad), np.full((2, 3), 2.5))
    p.zero_grad()
    assert p.grad is grad and not np.any(ae.to_numpy(p.grad))


def test_grad_of_another_shape_is_refused():
    p = ae.Parameter(np.ones((2, 3), dtype=np.float32), "w")
    with pytest.raises(ValueError, match=r"Parameter w: expected new grad of shape \(2, 3\), got \(3,\)"):
        p.grad = np.ones(3, dtype=np.float32)  # += would have broadcast it


def test_train_and_eval_reach_every_submodule():
    net = ae.Sequential(ae.Dense(2, 2), ae.Sequential(ae.Dropout(0.5), ae.ReLU()))
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_state_dict_round_trip(backend_name):
    ae.seed(1)
    a = _net()
    ae.seed(2)
    b = _net()
    b.load_state_dict(a.state_dict())
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(ae.to_numpy(pa.data), ae.to_numpy(pb.data), err_msg=name)
        assert ae.backend.backend_of(pb.data) == backend_name
    state = a.state_dict()
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in state.values())


def test_load_state_dict_mismatch_names_the_parameter_and_loads_nothing():
    net = _net()
    before = net.state_dict()
    bad = dict(before)
    bad["2.weight"] = np.zeros((3, 5), dtype=np.float32)
    bad["0.weight"] = np.ones((4, 3), dtype=np.float32)  # valid, but must not be written either
    with pytest.raises(ValueError, match=r"'2.weight' expected shape \(3, 2\), got \(3, 5\)"):
        net.load_state_dict(bad)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    missing = dict(before)
    del missing["0.bias"]
    with pytest.raises(KeyError, match=r"missing \['0.bias'\]"):
        net.load_state_dict(missing)


def test_parameter_data_may_be_reassigned_in_float64(backend_name, rng):
    layer = ae.Dense(3, 2)
    for p in layer.parameters():
        p.data = ae.to_backend(p.data, dtype=np.float64)
        assert ae.backend.numpy_dtype(p.grad) == np.float64  # grad follows data's dtype
    x = ae.to_backend(rng.standard_normal((2, 3)))
    y = layer(x)
    layer.backward(ae.to_backend(np.ones((2, 2))))
    assert ae.backend.numpy_dtype(y) == np.float64
    np.testing.assert_allclose(ae.to_numpy(layer.weight.grad), ae.to_numpy(x).T @ np.ones((2, 2)))


def test_parameter_data_of_another_shape_is_refused():
    p = ae.Dense(3, 2).weight
    with pytest.raises(ValueError, match=r"Parameter weight: expected new data of shape \(3, 2\), got \(2, 3\)"):
        p.data = np.zeros((2, 3), dtype=np.float32)


def test_shared_parameters_are_listed_once_in_assignment_order():
    first, second = ae.Dense(2, 2), ae.Dense(2, 2)
    second.weight = first.weight  # tied weights
    net = ae.Sequential(first, ae.ReLU(), second)
    assert [name for name, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.bias"]


@pytest.mark.parametrize(
    "layer, x_shape, bad_grad_shape",
    [(ae.Dense(3, 2), (4, 3), (4, 3)), (ae.ReLU(), (4, 3), (1, 3)), (ae.Sigmoid(), (4, 3), (4, 1)),
     (ae.Dropout(0.5), (4, 3), (3,)), (ae.Flatten(), (4, 3, 2), (4, 3, 2)), (ae.Reshape(3, 2), (4, 6), (4, 6))],
    ids=lambda v: type(v).__name__ if isinstance(v, ae.Module) else None,
)
def test_backward_refuses_a_gradient_of_the_wrong_shape(backend_name, layer, x_shape, bad_grad_shape):
    """Broadcasting would silently give a wrong gradient: each layer checks dL/dy's shape."""
    layer.to(backend_name)
    layer(ae.to_backend(np.ones(x_shape, dtype=np.float32)))
    with pytest.raises(ValueError, match=rf"{type(layer).__name__}.*backward expected a gradient of shape .*"
                                         rf"got {re.escape(str(bad_grad_shape))}"):
        layer.backward(ae.to_backend(np.ones(bad_grad_shape, dtype=np.float32)))


@pytest.mark.parametrize(
    "layer",
    [ae.Dense(2, 2), ae.ReLU(), ae.LeakyReLU(), ae.Sigmoid(), ae.Tanh(), ae.Dropout(0.5), ae.Flatten(),
     ae.Reshape(2)],
    ids=lambda m: type(m).__name__,
)
def test_backward_before_forward_raises(layer):
    with pytest.raises(RuntimeError, match=rf"{type(layer).__name__}.*backward\(\) was called before forward"):
        layer.backward(np.ones((1, 2), dtype=np.float32))


def test_sequential_rejects_non_modules_and_reprs_nicely():
    with pytest.raises(TypeError, match="item 1 is a int, not a Module"):
        ae.Sequential(ae.ReLU(), 3)
    text = repr(_net())
    assert "(0): Dense(4 -> 3)" in text and "(2): Dense(3 -> 2)" in text


def test_freeze_unfreeze_and_parameter_counts():
    model = ae.mlp_autoencoder([6, 4, 2], loss="mse")
    assert model.num_parameters() == (6 * 4 + 4) + (4 * 2 + 2) + (2 * 4 + 4) + (4 * 6 + 6)
    assert model.encoder.freeze() is model.encoder
    assert model.num_parameters(trainable_only=True) == (2 * 4 + 4) + (4 * 6 + 6)
    assert "frozen" in repr(model.encoder[0].weight)
    model.unfreeze()
    assert model.num_parameters(trainable_only=True) == model.num_parameters()


def test_summary_lists_every_layer_with_its_output_shape_and_counts():
    model = ae.conv_vae((1, 8, 8), channels=(4, 8), latent_dim=3)
    model.encoder.freeze()
    summary = model.summary((1, 8, 8))
    rows = [(row.name, row.layer, row.output_shape, row.parameters, row.frozen) for row in summary.rows]
    assert rows[0] == ("encoder.0", "Conv2D", ("N", 4, 4, 4), 4 * 9 + 4, True)
    assert rows[5] == ("encoder.5", "Dense", ("N", 6), 8 * 2 * 2 * 6 + 6, True)  # mu and logvar
    assert rows[6] == ("decoder.0", "Dense", ("N", 32), 3 * 32 + 32, False)  # from z, 3 numbers
    assert rows[-1] == ("decoder.5", "ConvTranspose2D", ("N", 1, 8, 8), 4 * 9 + 1, False)
    assert summary.total == model.num_parameters() == sum(row[3] for row in rows)
    assert summary.frozen == model.encoder.num_parameters()
    table = str(summary)
    assert "encoder.0  Conv2D" in table and "(N, 1, 8, 8)" in table and "(frozen)" in table
    assert f"Total parameters:     {summary.total:,}" in table and repr(summary) == table
    assert model.training and all(m.training for m in model.modules())  # the mode is put back


def test_summary_without_a_shape_and_with_labels_and_a_wrong_shape():
    assert ae.Dense(3, 2).summary().rows[0].output_shape is None
    cvae = ae.ConditionalVAE(ae.Sequential(ae.Dense(6 + 3, 4)), ae.Sequential(ae.Dense(2 + 3, 6)), 2, 3)
    assert cvae.summary((6,), labels=[1]).rows[-1].output_shape == ("N", 6)
    with pytest.raises(ValueError, match=r"summary: a zero input of shape \(N, 5\) does not run through "
                                         r"ConditionalVAE: .*expected input of shape \(N, 9\)"):
        cvae.summary((5,), labels=[1])


def test_summary_lists_a_shared_layer_once():
    tied = ae.Dense(4, 4)
    model = ae.Autoencoder(ae.Sequential(tied, ae.ReLU()), ae.Sequential(tied, ae.Sigmoid()), loss="bce")
    summary = model.summary((4,))
    assert [row.name for row in summary.rows] == ["encoder.0", "encoder.1", "decoder.1"]
    assert summary.total == 20 == model.num_parameters()
    assert "forward" not in vars(tied)  # the recording wrapper is gone


def test_named_modules_lists_each_module_once_with_its_dotted_name():
    tied = ae.Dense(2, 2)
    model = ae.Autoencoder(ae.Sequential(tied, ae.ReLU()), ae.Sequential(tied), loss="mse")
    assert [name for name, _ in model.named_modules()] == ["", "encoder", "encoder.0", "encoder.1", "decoder"]
    assert [m for _, m in model.named_modules()] == list(model.modules())

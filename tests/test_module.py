"""Module, Parameter and Sequential: ordering, gradient accumulation, modes and state."""

from __future__ import annotations

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


def test_parameter_data_may_be_reassigned_in_float64(rng):
    layer = ae.Dense(3, 2)
    layer.weight.data = layer.weight.data.astype(np.float64)
    layer.bias.data = layer.bias.data.astype(np.float64)
    y = layer(rng.standard_normal((2, 3)))
    assert y.dtype == np.float64


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

"""Every layer's backward pass against central differences in float64 (see tinyae.gradcheck).

Shapes, hyper-parameters and values are drawn by hypothesis, and every check runs twice: through
the fast kernels and through the reference ones (tinyae.kernels). The verdict is the checker's:
max|a - n| / max(1, max|a|, max|n|) <= 1e-6 for the input and every parameter (the threshold
and its reason are in tinyae/gradcheck.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinyae as ae
from tinyae import strategies as ts
from tinyae.gradcheck import check_module

pytestmark = pytest.mark.usefixtures("kernel_mode")  # each check runs on the fast and the reference kernels


@given(cfg=ts.dense_configs(), data=st.data())
def test_dense(backend_name, cfg, data):
    layer = ae.Dense(cfg["in_features"], cfg["out_features"], init=cfg["init"])
    x = data.draw(ts.arrays((cfg["batch"], cfg["in_features"])))
    check_module(layer, ae.to_backend(x))


@given(shape=ts.shapes(), data=st.data())
def test_relu(backend_name, shape, data):
    # Inputs at least 0.1 away from the kink at 0, so x +- h stays on one side.
    x = data.draw(ts.arrays(shape, min_magnitude=0.1))
    check_module(ae.ReLU(), ae.to_backend(x))


@given(shape=ts.shapes(), slope=ts.negative_slopes, data=st.data())
def test_leaky_relu(backend_name, shape, slope, data):
    x = data.draw(ts.arrays(shape, min_magnitude=0.1))
    check_module(ae.LeakyReLU(slope), ae.to_backend(x))


@given(shape=ts.shapes(), data=st.data())
def test_sigmoid(backend_name, shape, data):
    x = data.draw(ts.arrays(shape, max_magnitude=6.0))
    check_module(ae.Sigmoid(), ae.to_backend(x))


@given(shape=ts.shapes(), data=st.data())
def test_tanh(backend_name, shape, data):
    x = data.draw(ts.arrays(shape, max_magnitude=3.0))
    check_module(ae.Tanh(), ae.to_backend(x))


@given(shape=ts.shapes(), p=ts.dropout_probabilities, training=st.booleans(), data=st.data())
def test_dropout(backend_name, shape, p, training, data):
    layer = ae.Dropout(p).train(training)
    x = data.draw(ts.arrays(shape))
    check_module(layer, ae.to_backend(x))


@given(shape=ts.shapes(min_dims=2, max_dims=4), data=st.data())
def test_flatten(backend_name, shape, data):
    x = data.draw(ts.arrays(shape))
    check_module(ae.Flatten(), ae.to_backend(x))


@given(inner=ts.shapes(min_dims=1, max_dims=3, max_side=4), batch=ts.batch_sizes, data=st.data())
def test_reshape(backend_name, inner, batch, data):
    size = 1
    for d in inner:
        size *= d
    x = data.draw(ts.arrays((batch, size)))
    check_module(ae.Reshape(*inner), ae.to_backend(x))


@given(
    batch=ts.batch_sizes,
    sizes=st.lists(ts.feature_sizes, min_size=2, max_size=4),
    activation=st.sampled_from([ae.ReLU, ae.Tanh, ae.Sigmoid, ae.LeakyReLU]),
    data=st.data(),
)
def test_small_network(backend_name, batch, sizes, activation, data):
    """The chain rule across layers: a Sequential MLP checked end to end."""
    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [ae.Dense(fan_in, fan_out), activation()]
    model = ae.Sequential(*layers)
    x = ae.to_backend(data.draw(ts.arrays((batch, sizes[0]), min_magnitude=0.1)), dtype=np.float64)
    # A pre-activation inside the network within reach of ReLU's kink (x +- h can move it
    # by up to h * sum|W|) would make finite differences, not the layer, wrong: skip those.
    hidden = ae.to_backend(x, dtype=np.float32)  # the layers' own dtype
    for layer in model:
        if isinstance(layer, (ae.ReLU, ae.LeakyReLU)):
            assume(float(np.min(np.abs(ae.to_numpy(hidden)))) > 1e-3)
        hidden = layer(hidden)
    check_module(model, x)

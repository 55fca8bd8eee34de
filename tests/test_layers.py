"""Layer forward values computed by hand, dropout's statistics, and clear errors on bad input."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import tinyae as ae


def _to(a, dtype=np.float32):
    return ae.to_backend(np.asarray(a, dtype=dtype))


def test_dense_forward_by_hand(backend_name):
    layer = ae.Dense(2, 3)
    layer.weight.data = _to([[1, 2, 3], [4, 5, 6]])
    layer.bias.data = _to([0.5, -0.5, 0])
    y = layer(_to([[1, 2], [0, -1]]))
    # [1, 2] @ W = [9, 12, 15]; [0, -1] @ W = [-4, -5, -6]; then + b
    np.testing.assert_allclose(ae.to_numpy(y), [[9.5, 11.5, 15], [-3.5, -5.5, -6]])
    dx = layer.backward(_to([[1, 0, 0], [0, 0, 1]]))
    np.testing.assert_allclose(ae.to_numpy(dx), [[1, 4], [3, 6]])  # rows of g W^T
    np.testing.assert_allclose(ae.to_numpy(layer.bias.grad), [1, 0, 1])


def test_dense_init_statistics():
    ae.seed(0)
    he = ae.to_numpy(ae.Dense(400, 300).weight.data)
    assert abs(he.std() - np.sqrt(2 / 400)) < 0.02 * np.sqrt(2 / 400)
    xavier = ae.to_numpy(ae.Dense(400, 300, init="xavier").weight.data)
    bound = np.sqrt(6 / 700)
    assert xavier.max() <= bound and xavier.min() >= -bound and xavier.max() > 0.95 * bound
    assert he.dtype == np.float32
    torch_like = ae.Dense(400, 300, init="torch")  # nn.Linear's default: W and b ~ U(+-1/sqrt(in))
    for p in (torch_like.weight, torch_like.bias):
        values = ae.to_numpy(p.data)
        assert np.abs(values).max() <= 1 / 20 and np.abs(values).max() > 0.95 / 20


@pytest.mark.parametrize("make, fan_in, fan_out", [
    (lambda init: ae.Conv2D(20, 30, (3, 5), init=init), 20 * 15, 30 * 15),
    # the transposed conv counts fan_in in the direction the signal flows: C kh kw / (sh sw)
    (lambda init: ae.ConvTranspose2D(20, 30, 4, stride=2, init=init), 20 * 16 / 4, 30 * 16),
])
def test_conv_init_statistics(make, fan_in, fan_out):
    ae.seed(0)
    he = ae.to_numpy(make("he").weight.data)
    assert abs(he.std() - np.sqrt(2 / fan_in)) < 0.03 * np.sqrt(2 / fan_in)
    xavier = ae.to_numpy(make("xavier").weight.data)
    bound = np.sqrt(6 / (fan_in + fan_out))
    assert xavier.max() <= bound and xavier.min() >= -bound and xavier.max() > 0.95 * bound
    with pytest.raises(ValueError, match="init must be one of"):
        make("lecun")


@pytest.mark.parametrize("make, torch_fan_in", [
    (lambda: ae.Conv2D(20, 30, (3, 5), init="torch"), 20 * 15),
    (lambda: ae.ConvTranspose2D(20, 30, 4, stride=2, init="torch"), 30 * 16),  # torch counts O kh kw here
])
def test_conv_torch_init_uses_torchs_fan_in(make, torch_fan_in):
    layer = make()
    bound = 1 / np.sqrt(torch_fan_in)
    for p in (layer.weight, layer.bias):
        values = np.abs(ae.to_numpy(p.data))
        assert values.max() <= bound and values.max() > 0.9 * bound


def test_activations_by_hand(backend_name):
    x = _to([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(ae.to_numpy(ae.ReLU()(x)), [[0, 0, 3]])
    np.testing.assert_allclose(ae.to_numpy(ae.LeakyReLU(0.1)(x)), [[-0.2, 0, 3]], rtol=1e-6)
    np.testing.assert_allclose(ae.to_numpy(ae.Sigmoid()(x)), [[1 / (1 + np.e**2), 0.5, 1 / (1 + np.e**-3)]],
                               rtol=1e-6)
    np.testing.assert_allclose(ae.to_numpy(ae.Tanh()(x)), np.tanh([[-2.0, 0.0, 3.0]]), rtol=1e-6)
    relu = ae.ReLU()
    relu(x)
    np.testing.assert_allclose(ae.to_numpy(relu.backward(_to([[5, 5, 5]]))), [[0, 0, 5]])


def test_relu_is_max_x_0_at_infinities_and_keeps_nan(backend_name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no invalid-value warning either
        y = ae.to_numpy(ae.ReLU()(_to([[np.inf, 1e38, -1e38, np.nan, -np.inf]])))
    np.testing.assert_array_equal(y, [[np.inf, np.float32(1e38), 0, np.nan, 0]])  # a NaN stays visible


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_huge_inputs(backend_name, dtype):
    x = _to([[-1e4, -100.0, 0.0, 100.0, 1e4]], dtype)
    sig = ae.Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        y = ae.to_numpy(sig(x))
        dx = ae.to_numpy(sig.backward(ae.to_backend(np.ones((1, 5), dtype=dtype))))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    atol = np.finfo(dtype).tiny  # s(-100) = 3.7e-44 is a subnormal in float32
    np.testing.assert_allclose(y, [[0, np.exp(-100.0), 0.5, 1, 1]], rtol=1e-6, atol=atol)
    assert y.dtype == dtype


def test_dropout_keeps_the_expected_value_and_zero_fraction():
    ae.seed(0)
    drop = ae.Dropout(0.3)
    x = np.ones((200, 500), dtype=np.float32)
    y = drop(x)
    assert abs(float(np.mean(y == 0)) - 0.3) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.02  # inverted dropout: E[y] = x
    np.testing.assert_allclose(np.unique(y), [0, 1 / 0.7], rtol=1e-6)


def test_dropout_is_deterministic_for_a_seed_and_reuses_its_mask(backend_name, rng):
    x = _to(rng.standard_normal((4, 6)) + 3.0)
    ae.seed(5)
    drop = ae.Dropout(0.5)
    y1 = ae.to_numpy(drop(x))
    g = drop.backward(_to(np.ones((4, 6))))
    # backward multiplies by the forward mask: g == y / x elementwise
    np.testing.assert_allclose(ae.to_numpy(g), y1 / ae.to_numpy(x), rtol=1e-6)
    ae.seed(5)
    np.testing.assert_array_equal(ae.to_numpy(ae.Dropout(0.5)(x)), y1)
    y3 = ae.to_numpy(drop(x))  # no reseed: a new mask
    assert not np.array_equal(y1, y3)


def test_dropout_is_identity_in_eval(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    drop = ae.Dropout(0.9).eval()
    np.testing.assert_array_equal(drop(x), x)
    np.testing.assert_array_equal(drop.backward(x), x)


def test_flatten_and_reshape_shapes(backend_name):
    x = _to(np.arange(24).reshape(2, 3, 4))
    flat = ae.Flatten()(x)
    assert tuple(flat.shape) == (2, 12)
    back = ae.Reshape(3, 2, 2)(flat)
    assert tuple(back.shape) == (2, 3, 2, 2)
    np.testing.assert_array_equal(ae.to_numpy(back).reshape(2, 3, 4), ae.to_numpy(x))


# --------------------------------------------------------------------------- #
# Bad input: each error names the layer, what was expected and what was seen.
# --------------------------------------------------------------------------- #
def test_dense_wrong_width(backend_name):
    with pytest.raises(ValueError, match=r"Dense\(3 -> 4\): expected input of shape \(N, 3\), got \(5, 2\)"):
        ae.Dense(3, 4)(_to(np.ones((5, 2))))


def test_dense_wrong_rank(backend_name):
    with pytest.raises(ValueError, match=r"Dense\(3 -> 4\): expected a 2-D input, got 3-D with shape \(1, 2, 3\)"):
        ae.Dense(3, 4)(_to(np.ones((1, 2, 3))))


@pytest.mark.parametrize("make", [lambda: ae.Dense(3, 4), ae.ReLU, ae.Sigmoid, lambda: ae.Dropout(0.1)])
def test_integer_input_is_refused(backend_name, make):
    layer = make()
    with pytest.raises(TypeError, match=rf"{type(layer).__name__}.*floating-point input.*got dtype .*int64"):
        layer(_to(np.ones((2, 3)), np.int64))


def test_non_array_input_is_refused():
    with pytest.raises(TypeError, match=r"ReLU\(\): expected the input to be an array.*got list"):
        ae.ReLU()([[1.0, 2.0]])


def test_reshape_wrong_size():
    with pytest.raises(ValueError, match=r"Reshape\(2, 3\): expected an input of shape \(N, 6\).*got \(4, 5\)"):
        ae.Reshape(2, 3)(np.ones((4, 5), dtype=np.float32))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ae.Dense(0, 3), "in_features must be a positive integer, got 0"),
        (lambda: ae.Dense(3, 2, init="lecun"), "init must be one of"),
        (lambda: ae.Dropout(1.0), r"Dropout: p must be a finite number in \[0, 1\), got 1.0"),
        (lambda: ae.Reshape(0, 2), "positive integer sizes"),
    ],
)
def test_bad_hyper_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# Every constructor argument of every layer, given a non-finite value: refused at once, naming it,
# instead of a NaN loss later (LeakyReLU(nan) was taken as it came; the rest guard that it stays so).
NON_FINITE_ARGUMENTS = {
    "Dense-in_features": (lambda v: ae.Dense(v, 3), "in_features"),
    "Dense-out_features": (lambda v: ae.Dense(3, v), "out_features"),
    "Conv2D-in_channels": (lambda v: ae.Conv2D(v, 1, 3), "in_channels"),
    "Conv2D-kernel_size": (lambda v: ae.Conv2D(1, 1, v), "kernel_size"),
    "Conv2D-stride": (lambda v: ae.Conv2D(1, 1, 3, stride=(1, v)), "stride"),
    "Conv2D-padding": (lambda v: ae.Conv2D(1, 1, 3, padding=v), "padding"),
    "ConvTranspose2D-out_channels": (lambda v: ae.ConvTranspose2D(1, v, 3), "out_channels"),
    "ConvTranspose2D-output_padding": (lambda v: ae.ConvTranspose2D(1, 1, 3, stride=2, output_padding=v),
                                       "output_padding"),
    "LeakyReLU-negative_slope": (lambda v: ae.LeakyReLU(v), "negative_slope"),
    "Dropout-p": (lambda v: ae.Dropout(v), "p"),
    "MaxPool2D-kernel_size": (lambda v: ae.MaxPool2D(v), "kernel_size"),
    "MaxPool2D-stride": (lambda v: ae.MaxPool2D(2, stride=v), "stride"),
    "Upsample2D-scale_factor": (lambda v: ae.Upsample2D(v), "scale_factor"),
    "Reshape-shape": (lambda v: ae.Reshape(2, v), "sizes"),
}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("case", NON_FINITE_ARGUMENTS)
def test_non_finite_hyper_parameters_are_refused(case, value):
    make, name = NON_FINITE_ARGUMENTS[case]
    with pytest.raises((ValueError, TypeError)) as info:
        make(value)
    text = str(info.value)
    assert text.startswith(case.split("-")[0]) and name in text and repr(value) in text, text


@pytest.mark.parametrize("make, message", [
    (lambda: ae.LeakyReLU("0.1"), "LeakyReLU: negative_slope must be a real number, got '0.1'"),
    (lambda: ae.Dropout(None), "Dropout: p must be a real number, got None"),
])
def test_hyper_parameters_of_the_wrong_type_are_refused(make, message):
    with pytest.raises(TypeError, match=message):
        make()


# One layer of each kind with an input shape it takes; the empty batch is that shape with N = 0.
LAYERS = {
    "Dense": (lambda: ae.Dense(3, 2), (2, 3)),
    "ReLU": (ae.ReLU, (2, 3)),
    "LeakyReLU": (ae.LeakyReLU, (2, 3)),
    "Sigmoid": (ae.Sigmoid, (2, 3)),
    "Tanh": (ae.Tanh, (2, 3)),
    "Dropout": (lambda: ae.Dropout(0.5), (2, 3)),
    "Flatten": (ae.Flatten, (2, 2, 3)),
    "Reshape": (lambda: ae.Reshape(2, 3), (2, 6)),
    "Conv2D": (lambda: ae.Conv2D(1, 2, 3, stride=2, padding=1), (2, 1, 4, 4)),
    "ConvTranspose2D": (lambda: ae.ConvTranspose2D(1, 2, 3, stride=2), (2, 1, 3, 3)),
    "MaxPool2D": (lambda: ae.MaxPool2D(2), (2, 1, 4, 4)),
    "Upsample2D": (lambda: ae.Upsample2D(2), (2, 1, 3, 3)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_an_empty_batch_is_refused_by_every_layer(backend_name, name):
    """N = 0 passed every shape check: Dense returned zeros, a convolution's backward died of an
    "integer modulo by zero". Every layer's forward refuses it, naming itself and the shape."""
    make, shape = LAYERS[name]
    empty = (0, *shape[1:])
    with pytest.raises(ValueError, match=rf"^{name}\(.*expected at least one sample.*{re.escape(str(empty))}"):
        make()(_to(np.ones(empty)))


@pytest.mark.parametrize("name", LAYERS)
def test_backward_refuses_a_gradient_of_another_backend_or_dtype(name):
    """A NumPy gradient for a layer that ran on "strict" (the stand-in for a GPU) failed deep inside
    the array library; a float64 one for a float32 forward was rounded in without a word."""
    make, shape = LAYERS[name]
    with ae.use_backend("strict"):
        layer = make()
        y = layer(ae.to_backend(np.ones(shape), dtype=np.float32))
    with pytest.raises(TypeError) as info:
        layer.backward(np.ones(y.shape, dtype=np.float32))
    text = str(info.value)
    assert text.startswith(name) and "'numpy'" in text and "'strict'" in text, text
    if name == "MaxPool2D":
        return  # it keeps only integer arg-maxes (the exercise's cache): a float64 g is refused by the layer before

    layer = make()
    y = layer(np.ones(shape, dtype=np.float32))
    with pytest.raises(TypeError) as info:
        layer.backward(np.ones(y.shape, dtype=np.float64))
    text = str(info.value)
    assert text.startswith(name) and "float32" in text and "float64" in text, text
    layer.backward(np.ones(y.shape, dtype=np.float32))  # the right gradient still goes through


def test_float16_trains_through_the_reference_kernels():
    """Any float dtype of the backend works: the compiled kernels take float32 and float64, the rest
    goes to the reference implementations."""
    model = ae.conv_autoencoder((1, 8, 8), channels=(2,), loss="bce")
    for p in model.parameters():
        p.data = p.data.astype(np.float16)
    opt = ae.Adam(model.parameters(), lr=1e-2, eps=1e-3)  # the default 1e-8 is 0 in float16
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float16)
    for _ in range(2):
        opt.zero_grad()
        terms = model.forward_backward(x)
        opt.step()
    assert np.isfinite(terms["loss"]) and all(p.data.dtype == np.float16 for p in model.parameters())

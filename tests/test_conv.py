"""Conv2D, ConvTranspose2D, MaxPool2D and Upsample2D: gradients, shapes, references, errors.

* Gradient checks (float64, the checker's verdict, tolerance 1e-6) of the input, weight and
  bias over hypothesis-drawn configurations: batch 1-3, channels 1-4, H and W 1-9,
  kernel 1-4, stride 1-3, padding 0-2, output_padding below the stride.
* The forward pass against slow loop references written here from the definitions, and
  ConvTranspose2D against the adjoint of Conv2D: <conv(x), y> == <x, convT(y)>.
* PyTorch, when installed, as an optional oracle for outputs and all three gradients.
* The max-pool tie rule, and clear ValueErrors for impossible configurations.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyae as ae
from tinyae import kernels
from tinyae import strategies as ts
from tinyae.gradcheck import check_module
from tinyae.layers.conv import Conv2D, ConvTranspose2D
from tinyae.layers.pool import MaxPool2D, Upsample2D

# Gradient checks cost two forward passes per checked element, and array_api_strict
# validates every index at Python speed (~20x NumPy on these tiny arrays), so the
# element counts are capped per backend to keep the file well under 40 s on 2 cores.
# The caps bound the counts; the drawn ranges are the full ones above.
GRADCHECK_CAPS = {"numpy": (150, 100), "strict": (64, 48), "cupy": (150, 100)}  # (input, weight)


# --------------------------------------------------------------------------- #
# Strategies
# --------------------------------------------------------------------------- #
def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


def make_layer(cfg, transposed: bool):
    args = (cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], cfg["stride"], cfg["padding"])
    return ConvTranspose2D(*args, cfg["output_padding"]) if transposed else Conv2D(*args)


def input_shape(cfg):
    return (cfg["batch"], cfg["in_channels"], cfg["height"], cfg["width"])


def set_parameters(layer, rng, dtype=np.float64):
    """Random O(1) weights and bias (the init's bias is zero, which would hide a bias bug)."""
    layer.weight.data = ae.to_backend(rng.standard_normal(layer.weight.shape), dtype=dtype)
    layer.bias.data = ae.to_backend(rng.standard_normal(layer.bias.shape), dtype=dtype)
    layer.zero_grad()


# --------------------------------------------------------------------------- #
# Slow references, straight from the definitions (NumPy loops, float64)
# --------------------------------------------------------------------------- #
def reference_conv2d(x, w, b, stride, padding):
    """y[n, o, a, c] = b[o] + sum_{ch, i, j} w[o, ch, i, j] x_pad[n, ch, s a + i, s c + j]."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    xpad = np.zeros((n, x.shape[1], h + 2 * ph, wd + 2 * pw))
    xpad[:, :, ph : ph + h, pw : pw + wd] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for a in range(ho):
        for c in range(wo):
            for i in range(kh):
                for j in range(kw):
                    y[:, :, a, c] += xpad[:, :, sh * a + i, sw * c + j] @ w[:, :, i, j].T
    return y + b[None, :, None, None]


def reference_conv_transpose2d(x, w, b, stride, padding, output_padding):
    """y[n, o, s a + i - p, s c + j - p] += sum_ch x[n, ch, a, c] w[ch, o, i, j], then + b[o]."""
    (sh, sw), (ph, pw), (oph, opw) = _pair(stride), _pair(padding), _pair(output_padding)
    n, _, h, wd = x.shape
    _, o, kh, kw = w.shape
    ho, wo = (h - 1) * sh - 2 * ph + kh + oph, (wd - 1) * sw - 2 * pw + kw + opw
    y = np.zeros((n, o, ho, wo))
    for a in range(h):
        for c in range(wd):
            for i in range(kh):
                for j in range(kw):
                    r, q = sh * a + i - ph, sw * c + j - pw
                    if 0 <= r < ho and 0 <= q < wo:
                        y[:, :, r, q] += x[:, :, a, c] @ w[:, :, i, j]
    return y + b[None, :, None, None]


def reference_maxpool2d(x, kernel, stride):
    (kh, kw), (sh, sw) = _pair(kernel), _pair(stride)
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.empty((n, c, ho, wo))
    for a in range(ho):
        for b in range(wo):
            y[:, :, a, b] = x[:, :, sh * a : sh * a + kh, sw * b : sw * b + kw].max(axis=(2, 3))
    return y


# --------------------------------------------------------------------------- #
# Gradient checks
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("transposed", [False, True], ids=["Conv2D", "ConvTranspose2D"])
@given(data=st.data())
def test_conv_gradients(backend_name, kernel_mode, transposed, data):
    max_input, max_weight = GRADCHECK_CAPS[backend_name]
    cfg = data.draw(ts.conv_configs(transposed=transposed, max_input=max_input, max_weight=max_weight))
    layer = make_layer(cfg, transposed)
    set_parameters(layer, np.random.default_rng(data.draw(st.integers(0, 2**16))))
    x = ae.to_backend(data.draw(ts.arrays(input_shape(cfg))))
    report = check_module(layer, x)  # raises GradientCheckError, with the report, on failure
    assert [c.name for c in report.checks] == ["input", "weight", "bias"]


@given(data=st.data())
def test_maxpool_gradients(backend_name, kernel_mode, data):
    kernel, stride = data.draw(ts.int_or_pair(1, 3)), data.draw(st.one_of(st.none(), ts.int_or_pair(1, 3)))
    (kh, kw), max_input = _pair(kernel), GRADCHECK_CAPS[backend_name][0]
    height, width = data.draw(st.integers(kh, 7)), data.draw(st.integers(kw, 7))
    channels = data.draw(st.integers(1, max(1, min(3, max_input // (height * width)))))
    batch = data.draw(st.integers(1, max(1, min(3, max_input // (channels * height * width)))))
    shape = (batch, channels, height, width)
    # Distinct values: no window has a tie, and x +- h (1e-5) never changes an arg-max.
    x = ts.distinct_values(shape, np.random.default_rng(data.draw(st.integers(0, 2**16))))
    check_module(MaxPool2D(kernel, stride), ae.to_backend(x))


@given(scale=ts.int_or_pair(1, 3), data=st.data())
def test_upsample_gradients(backend_name, kernel_mode, scale, data):
    shape = tuple(data.draw(st.integers(1, 3)) for _ in range(2)) + tuple(
        data.draw(st.integers(1, 4)) for _ in range(2)
    )
    check_module(Upsample2D(scale), ae.to_backend(data.draw(ts.arrays(shape))))


def test_small_conv_autoencoder(backend_name, kernel_mode):
    """The chain rule through every layer here: conv, tanh, max-pool, upsample, transposed conv.
    (A fixed seed whose pooled values are far from ties, so the max-pool is differentiable.)"""
    model = ae.Sequential(
        Conv2D(1, 3, 3, padding=1),
        ae.Tanh(),
        MaxPool2D(2),
        Upsample2D(2),
        ConvTranspose2D(3, 1, 3, stride=1, padding=1),
    )
    x = np.random.default_rng(7).standard_normal((2, 1, 6, 6))
    pooled = ae.to_numpy(model[1](model[0](ae.to_backend(x, dtype=np.float32))))
    windows = np.sort(pooled.reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 3, 3, 4), axis=-1)
    assert np.min(windows[..., -1] - windows[..., -2]) > 1e-3, "a near-tie in a max-pool window: pick another seed"
    report = check_module(model, ae.to_backend(x))
    assert len(report.checks) == 5  # the input, then each weight and bias


# --------------------------------------------------------------------------- #
# Forward passes: shapes, references, adjointness
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("transposed", [False, True], ids=["Conv2D", "ConvTranspose2D"])
@given(data=st.data())
def test_output_shape_follows_design_formula(backend_name, transposed, data):
    cfg = data.draw(ts.conv_configs(transposed=transposed))
    layer = make_layer(cfg, transposed)
    x = ae.to_backend(np.ones(input_shape(cfg)), dtype=np.float32)
    y = layer(x)
    expected = (cfg["batch"], cfg["out_channels"], *cfg["out_size"])
    assert tuple(y.shape) == expected == layer.output_shape(input_shape(cfg))
    # float32 stays float32 through both passes
    dx = layer.backward(ae.backend.array_module(y).ones_like(y))
    assert ae.backend.numpy_dtype(y) == ae.backend.numpy_dtype(dx) == np.float32
    assert tuple(dx.shape) == input_shape(cfg)
    assert ae.backend.numpy_dtype(layer.weight.grad) == ae.backend.numpy_dtype(layer.bias.grad) == np.float32


@given(cfg=ts.conv_configs(max_input=200), data=st.data())
def test_conv2d_matches_loop_reference(backend_name, cfg, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    layer = make_layer(cfg, transposed=False)
    set_parameters(layer, rng)
    x = rng.standard_normal(input_shape(cfg))
    expected = reference_conv2d(
        x, ae.to_numpy(layer.weight.data), ae.to_numpy(layer.bias.data), cfg["stride"], cfg["padding"]
    )
    np.testing.assert_allclose(ae.to_numpy(layer(ae.to_backend(x))), expected, rtol=1e-12, atol=1e-12)


@given(cfg=ts.conv_configs(transposed=True, max_input=200), data=st.data())
def test_conv_transpose2d_matches_loop_reference(backend_name, cfg, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    layer = make_layer(cfg, transposed=True)
    set_parameters(layer, rng)
    x = rng.standard_normal(input_shape(cfg))
    expected = reference_conv_transpose2d(
        x,
        ae.to_numpy(layer.weight.data),
        ae.to_numpy(layer.bias.data),
        cfg["stride"],
        cfg["padding"],
        cfg["output_padding"],
    )
    np.testing.assert_allclose(ae.to_numpy(layer(ae.to_backend(x))), expected, rtol=1e-12, atol=1e-12)


@given(cfg=ts.conv_configs(), data=st.data())
def test_conv_transpose_is_adjoint_of_conv(backend_name, cfg, data):
    """<conv(x), y> == <x, convT(y)>: the same weight, no bias, and an output_padding that
    brings convT(y) back to x's size."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    (kh, kw), (sh, sw), (ph, pw) = _pair(cfg["kernel_size"]), _pair(cfg["stride"]), _pair(cfg["padding"])
    output_padding = ((cfg["height"] + 2 * ph - kh) % sh, (cfg["width"] + 2 * pw - kw) % sw)
    conv = Conv2D(cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], cfg["stride"], cfg["padding"])
    convt = ConvTranspose2D(
        cfg["out_channels"],
        cfg["in_channels"],
        cfg["kernel_size"],
        cfg["stride"],
        cfg["padding"],
        output_padding,
    )
    assert conv.weight.shape == convt.weight.shape
    w = ae.to_backend(rng.standard_normal(conv.weight.shape))
    conv.weight.data = convt.weight.data = w
    conv.bias.data = ae.to_backend(np.zeros(conv.bias.shape))
    convt.bias.data = ae.to_backend(np.zeros(convt.bias.shape))
    x = rng.standard_normal(input_shape(cfg))
    y = rng.standard_normal((cfg["batch"], cfg["out_channels"], *cfg["out_size"]))
    lhs = np.sum(ae.to_numpy(conv(ae.to_backend(x))) * y)
    back = ae.to_numpy(convt(ae.to_backend(y)))
    assert back.shape == x.shape
    assert lhs == pytest.approx(np.sum(x * back), rel=1e-10, abs=1e-10)


def reference_im2col(x, kernel, stride, padding):
    """X[(n Ho + a) Wo + b, (ch kh + i) kw + j] = x_pad[n, ch, sh a + i, sw b + j], element by element."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    n, c, h, w = x.shape
    xpad = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    xpad[:, :, ph : ph + h, pw : pw + w] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    cols = np.empty((n * ho * wo, c * kh * kw))
    for nn, a, b, ch, i, j in np.ndindex(n, ho, wo, c, kh, kw):
        cols[(nn * ho + a) * wo + b, (ch * kh + i) * kw + j] = xpad[nn, ch, sh * a + i, sw * b + j]
    return cols


@pytest.mark.parametrize("path", ["reference", "fast"])
@given(data=st.data())
def test_im2col_follows_its_index_map_and_col2im_is_its_adjoint(backend_name, path, data):
    """im2col's entries are the documented ones (PyTorch's unfold order), for inputs stored NCHW or
    channels-last, and <im2col(x), Z> == <x, col2im(Z)>: col2im sends each entry back where it came from."""
    cfg = data.draw(ts.conv_configs(max_input=300))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    kernel, stride, padding = _pair(cfg["kernel_size"]), _pair(cfg["stride"]), _pair(cfg["padding"])
    shape = (cfg["batch"], cfg["in_channels"], cfg["height"], cfg["width"])
    x = rng.standard_normal(shape)
    if data.draw(st.booleans()):  # channels-last memory, as the conv layers return their outputs
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    with kernels.using(path):
        cols = ae.to_numpy(kernels.im2col(ae.to_backend(x), kernel, stride, padding))
        np.testing.assert_array_equal(cols, reference_im2col(x, kernel, stride, padding))
        z = rng.standard_normal(cols.shape)
        back = ae.to_numpy(kernels.col2im(ae.to_backend(z), shape, kernel, stride, padding))
    assert back.shape == shape
    assert np.sum(cols * z) == pytest.approx(np.sum(x * back), rel=1e-10, abs=1e-10)


@given(kernel=ts.int_or_pair(1, 3), stride=st.one_of(st.none(), ts.int_or_pair(1, 3)), data=st.data())
def test_maxpool_matches_loop_reference(backend_name, kernel, stride, data):
    (kh, kw) = _pair(kernel)
    shape = (2, 2, data.draw(st.integers(kh, 8)), data.draw(st.integers(kw, 8)))
    x = data.draw(ts.arrays(shape))
    layer = MaxPool2D(kernel, stride)
    y = ae.to_numpy(layer(ae.to_backend(x)))
    np.testing.assert_array_equal(y, reference_maxpool2d(x, kernel, kernel if stride is None else stride))


def test_maxpool_ties_go_to_the_first_max_in_row_major_order(backend_name):
    # fmt: off
    x = np.array([[[[1.0, 5.0, 5.0],
                    [5.0, 0.0, 2.0],
                    [5.0, 5.0, 5.0]]]])
    # fmt: on
    layer = MaxPool2D(2, stride=1)  # four overlapping 2x2 windows, each with max 5, most with ties
    y = layer(ae.to_backend(x))
    np.testing.assert_array_equal(ae.to_numpy(y), np.full((1, 1, 2, 2), 5.0))
    g = np.array([[[[1.0, 10.0], [100.0, 1000.0]]]])
    dx = ae.to_numpy(layer.backward(ae.to_backend(g)))
    # The first 5 of each window, scanning its rows top to bottom, each row left to right:
    #   window (0, 0) = [[1, 5], [5, 0]] -> x[0, 1]      window (0, 1) = [[5, 5], [0, 2]] -> x[0, 1]
    #   window (1, 0) = [[5, 0], [5, 5]] -> x[1, 0]      window (1, 1) = [[0, 2], [5, 5]] -> x[2, 1]
    # fmt: off
    expected = np.array([[[[0.0, 1.0 + 10.0, 0.0],
                           [100.0,      0.0, 0.0],
                           [0.0,     1000.0, 0.0]]]])
    # fmt: on
    np.testing.assert_array_equal(dx, expected)


def test_maxpool_overlapping_windows_accumulate(backend_name):
    x = np.array([[[[0.0, 9.0, 0.0, 0.0]]]])
    layer = MaxPool2D((1, 2), stride=1)  # windows [0, 9], [9, 0], [0, 0]
    layer(ae.to_backend(x))
    dx = layer.backward(ae.to_backend(np.array([[[[1.0, 2.0, 4.0]]]])))
    np.testing.assert_array_equal(ae.to_numpy(dx), [[[[0.0, 3.0, 4.0, 0.0]]]])


@given(scale=ts.int_or_pair(1, 3), data=st.data())
def test_upsample_matches_reference(backend_name, scale, data):
    x = data.draw(ts.arrays((2, 3, data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))))
    sh, sw = _pair(scale)
    y = ae.to_numpy(Upsample2D(scale)(ae.to_backend(x)))
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, sh, axis=2), sw, axis=3))


# --------------------------------------------------------------------------- #
# PyTorch as an optional oracle
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("transposed", [False, True], ids=["Conv2D", "ConvTranspose2D"])
@given(data=st.data())
def test_conv_matches_torch(backend_name, transposed, data):
    torch = pytest.importorskip("torch")
    cfg = data.draw(ts.conv_configs(transposed=transposed))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    layer = make_layer(cfg, transposed)
    set_parameters(layer, rng)
    args = (cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], cfg["stride"], cfg["padding"])
    if transposed:
        tlayer = torch.nn.ConvTranspose2d(*args, output_padding=cfg["output_padding"]).double()
    else:
        tlayer = torch.nn.Conv2d(*args).double()
    with torch.no_grad():  # the same weights, copied in torch's own layout
        tlayer.weight.copy_(torch.from_numpy(ae.to_numpy(layer.weight.data)))
        tlayer.bias.copy_(torch.from_numpy(ae.to_numpy(layer.bias.data)))
    x = rng.standard_normal(input_shape(cfg))
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = tlayer(tx)
    y = layer(ae.to_backend(x))
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.from_numpy(g))
    dx = layer.backward(ae.to_backend(g))
    for ours, theirs in [
        (y, ty),
        (dx, tx.grad),
        (layer.weight.grad, tlayer.weight.grad),
        (layer.bias.grad, tlayer.bias.grad),
    ]:
        np.testing.assert_allclose(ae.to_numpy(ours), theirs.detach().numpy(), rtol=1e-10, atol=1e-10)


@given(kernel=ts.int_or_pair(1, 3), stride=st.one_of(st.none(), ts.int_or_pair(1, 3)), data=st.data())
def test_pooling_matches_torch_ties_included(backend_name, kernel, stride, data):
    torch = pytest.importorskip("torch")
    (kh, kw) = _pair(kernel)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.integers(0, 3, (2, 2, data.draw(st.integers(kh, 7)), data.draw(st.integers(kw, 7)))).astype(float)
    for layer, tlayer in [
        (MaxPool2D(kernel, stride), torch.nn.MaxPool2d(kernel, stride)),  # small integers: many ties
        (Upsample2D(kernel), torch.nn.Upsample(scale_factor=_pair(kernel), mode="nearest")),
    ]:
        tx = torch.from_numpy(x).requires_grad_(True)
        ty = tlayer(tx)
        g = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.from_numpy(g))
        y = layer(ae.to_backend(x))
        dx = layer.backward(ae.to_backend(g))
        np.testing.assert_array_equal(ae.to_numpy(y), ty.detach().numpy())
        np.testing.assert_allclose(ae.to_numpy(dx), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- #
# Initialisation
# --------------------------------------------------------------------------- #
def test_init_he_normal_float32_zero_bias(backend_name):
    conv = Conv2D(16, 32, 3)
    convt = ConvTranspose2D(32, 16, 4, stride=2)
    assert conv.weight.shape == (32, 16, 3, 3) and conv.bias.shape == (32,)
    assert convt.weight.shape == (32, 16, 4, 4) and convt.bias.shape == (16,)
    assert [name for name, _ in conv.named_parameters()] == ["weight", "bias"]
    for layer, fan_in in [(conv, 16 * 3 * 3), (convt, 32 * 4 * 4 / (2 * 2))]:
        w = ae.to_numpy(layer.weight.data)
        assert w.dtype == np.float32 and ae.to_numpy(layer.bias.data).dtype == np.float32
        assert not np.any(ae.to_numpy(layer.bias.data))
        assert np.std(w) == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.1)


def test_same_seed_same_weights_on_every_backend(backend_name):
    ae.seed(3)
    here = ae.to_numpy(Conv2D(2, 3, 3).weight.data)
    with ae.use_backend("numpy"):
        ae.seed(3)
        np.testing.assert_array_equal(here, Conv2D(2, 3, 3).weight.data)


# --------------------------------------------------------------------------- #
# Errors: each names the layer and the numbers
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Conv2D(0, 4, 3), "Conv2D: in_channels must be a positive integer, got 0"),
        (lambda: Conv2D(1, -2, 3), "Conv2D: out_channels must be a positive integer, got -2"),
        (lambda: Conv2D(1, 4, 0), "Conv2D: kernel_size must be positive, got 0"),
        (lambda: Conv2D(1, 4, (3, 0)), "Conv2D: kernel_size must be positive, got (3, 0)"),
        (lambda: Conv2D(1, 4, (3,)), "Conv2D: kernel_size must be an int or a pair of ints, got (3,)"),
        (lambda: Conv2D(1, 4, 2.5), "Conv2D: kernel_size must be an int or a pair of ints, got 2.5"),
        (lambda: Conv2D(1, 4, 3, stride=0), "Conv2D: stride must be positive, got 0"),
        (lambda: Conv2D(1, 4, 3, padding=-1), "Conv2D: padding must be >= 0, got -1"),
        (lambda: ConvTranspose2D(1, 4, 3, stride=0), "ConvTranspose2D: stride must be positive, got 0"),
        (
            lambda: ConvTranspose2D(1, 4, 3, stride=2, output_padding=2),
            "ConvTranspose2D: output_padding must be smaller than stride, got output_padding (2, 2) with stride (2, 2)",
        ),
        (
            lambda: ConvTranspose2D(1, 4, 3, output_padding=(0, 1)),
            "ConvTranspose2D: output_padding must be smaller than stride, got output_padding (0, 1) with "
            "stride (1, 1) (1 >= 1 along the width)",
        ),
        (lambda: ConvTranspose2D(1, 4, 3, output_padding=-1), "ConvTranspose2D: output_padding must be >= 0"),
        (lambda: MaxPool2D(0), "MaxPool2D: kernel_size must be positive, got 0"),
        (lambda: MaxPool2D(2, stride=(1, 0)), "MaxPool2D: stride must be positive, got (1, 0)"),
        (lambda: Upsample2D(0), "Upsample2D: scale_factor must be positive, got 0"),
        (lambda: Upsample2D(1.5), "Upsample2D: scale_factor must be an int or a pair of ints, got 1.5"),
    ],
)
def test_bad_configuration_raises(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_padding_larger_than_kernel_is_accepted(backend_name):
    layer = Conv2D(1, 1, 2, padding=3)  # PyTorch accepts this too: borders of pure bias
    assert tuple(layer(ae.to_backend(np.ones((1, 1, 2, 2)), dtype=np.float32)).shape) == (1, 1, 7, 7)


BAD_INPUTS = {  # a layer, an input shape it refuses, and the numbers its message must give
    "kernel-larger-than-input": (lambda: Conv2D(1, 2, 5), (1, 1, 3, 3), ["5x5", "3x3", "-1x-1"]),
    "kernel-wider-than-padded-input": (
        lambda: Conv2D(1, 2, (2, 4), padding=(0, 1)),
        (1, 1, 3, 1),
        ["2x4", "3x3", "2x0"],
    ),
    "transposed-padding-eats-the-output": (
        lambda: ConvTranspose2D(1, 2, 1, padding=1),
        (1, 1, 1, 1),
        ["1x1", "-1x-1"],
    ),
    "transposed-width-padding": (
        lambda: ConvTranspose2D(1, 2, 2, stride=1, padding=(0, 2)),
        (2, 1, 3, 2),
        ["3x2", "4x-1"],
    ),
    "pool-window-larger-than-input": (lambda: MaxPool2D(3), (1, 1, 2, 4), ["3x3", "2x4", "0x1"]),
    "wrong-channel-count": (lambda: Conv2D(2, 2, 1), (1, 3, 4, 4), ["2 channels", "got 3 channels"]),
    "transposed-wrong-channel-count": (lambda: ConvTranspose2D(4, 2, 1), (1, 1, 4, 4), ["4 channels", "got 1"]),
    "conv-not-4d": (lambda: Conv2D(1, 2, 1), (1, 4, 4), ["4-D", "3-D"]),
    "pool-not-4d": (lambda: MaxPool2D(2), (4, 4), ["4-D", "2-D"]),
    "upsample-not-4d": (lambda: Upsample2D(2), (1, 4, 4), ["4-D", "3-D"]),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_raises_with_the_numbers(backend_name, case):
    make, shape, numbers = BAD_INPUTS[case]
    layer = make()
    with pytest.raises(ValueError) as info:
        layer(ae.to_backend(np.ones(shape), dtype=np.float32))
    text = str(info.value)
    assert type(layer).__name__ in text
    for number in numbers:
        assert number in text, f"{number!r} not in {text!r}"


@pytest.mark.parametrize(
    "make",
    [lambda: Conv2D(1, 1, 1), lambda: ConvTranspose2D(1, 1, 1), lambda: MaxPool2D(1), lambda: Upsample2D(1)],
    ids=["Conv2D", "ConvTranspose2D", "MaxPool2D", "Upsample2D"],
)
def test_backward_before_forward_raises(make):
    with pytest.raises(RuntimeError, match="backward"):
        make().backward(np.ones((1, 1, 1, 1), dtype=np.float32))


@pytest.mark.parametrize(
    "make, shape, expected",
    [
        (lambda: Conv2D(1, 2, 3), (1, 1, 4, 4), (1, 2, 2, 2)),
        (lambda: ConvTranspose2D(1, 2, 3), (1, 1, 4, 4), (1, 2, 6, 6)),
        (lambda: MaxPool2D(2), (1, 1, 4, 4), (1, 1, 2, 2)),
        (lambda: Upsample2D(2), (1, 1, 4, 4), (1, 1, 8, 8)),
    ],
    ids=["Conv2D", "ConvTranspose2D", "MaxPool2D", "Upsample2D"],
)
def test_wrong_gradient_shape_raises(make, shape, expected):
    layer = make()
    layer(np.ones(shape, dtype=np.float32))
    with pytest.raises(ValueError) as info:
        layer.backward(np.ones((1, 2, 3, 3), dtype=np.float32))
    assert str(expected) in str(info.value) and "(1, 2, 3, 3)" in str(info.value)


def test_input_on_another_backend_raises_type_error():
    layer = Conv2D(1, 1, 1)  # numpy parameters
    with pytest.raises(TypeError) as info:
        layer(ae.to_backend(np.ones((1, 1, 2, 2)), "strict", dtype=np.float32))
    for name in ("Conv2D", "'strict'", "'numpy'"):
        assert name in str(info.value)


@pytest.mark.parametrize(
    "make", [lambda: Conv2D(1, 1, 1), lambda: ConvTranspose2D(1, 1, 1)], ids=["Conv2D", "ConvTranspose2D"]
)
def test_input_of_another_dtype_than_the_parameters_raises_type_error(backend_name, make):
    layer = make()  # float32 parameters
    with pytest.raises(TypeError) as info:
        layer(ae.to_backend(np.ones((1, 1, 2, 2)), dtype=np.float64))
    assert "float64" in str(info.value) and "float32" in str(info.value)

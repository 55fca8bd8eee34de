r"""2-D convolution and transposed convolution of NCHW images (PyTorch's conventions), as matrix products.

A convolution is one matrix product once every window of the input is copied into a row:

* ``Conv2D`` forward: X = im2col(x), one row per output pixel; Y = X Wm^T + b. Backward:
  dL/dW = G^T X, dL/db = the sum of G's rows, dL/dx = col2im(G Wm), with G = dL/dY.
* ``ConvTranspose2D`` is the adjoint of that map: forward y = col2im(Xm Wm) + b, backward
  Gc = im2col(g), dL/dx = Gc Wm^T, dL/dW = Xm^T Gc.

im2col and its adjoint col2im are kernels (:mod:`tinyae.kernels.conv`): a reference in the
array-API subset, and a compiled loop for NumPy arrays. Their column order is PyTorch's
``unfold`` (channel, kernel row, kernel column), so ``Wm`` is the weight itself reshaped.
docs/conv2d.md and docs/conv-transpose2d.md derive every line.

Like PyTorch, "convolution" is a cross-correlation (the kernel is not flipped), with
weight layouts (out, in, kh, kw) for Conv2D and (in, out, kh, kw) for ConvTranspose2D,
so weights copied from ``torch.nn.Conv2d`` / ``ConvTranspose2d`` give the same outputs.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

from .. import backend, kernels
from ..kernels import conv_output_size
from ..module import Module, Parameter
from ..validation import check_matches_parameters
from ._checks import check_batch
from .init import initial_parameters

__all__ = ["Conv2D", "ConvTranspose2D", "conv_output_size", "from_pixel_rows", "pixel_rows", "to_pair"]

Pair = tuple[int, int]


# --------------------------------------------------------------------------- #
# Configuration, and images as matrices
# --------------------------------------------------------------------------- #
def to_pair(owner: str, label: str, value: Any, minimum: int) -> Pair:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``; refuse non-integers and values below ``minimum``."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{owner}: {label} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        kind = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{owner}: {label} must be {kind}, got {value!r}")
    return int(items[0]), int(items[1])


def pixel_rows(x: Any) -> Any:
    """(N, C, H, W) images -> the (N H W, C) matrix with one row per pixel (n, h, w).

    A view when x is stored channels-last (as the conv layers return their outputs), else a copy.
    """
    xp = backend.array_module(x)
    return xp.reshape(xp.permute_dims(x, (0, 2, 3, 1)), (-1, x.shape[1]))


def from_pixel_rows(m: Any, n: int, h: int, w: int) -> Any:
    """The inverse of :func:`pixel_rows`: an (N H W, C) matrix -> (N, C, H, W) images (a view)."""
    xp = backend.array_module(m)
    return xp.permute_dims(xp.reshape(m, (n, h, w, m.shape[1])), (0, 3, 1, 2))


class _ConvBase(Module):
    """What Conv2D and ConvTranspose2D share: configuration checks, parameters, repr."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any) -> None:
        super().__init__()
        name = type(self).__name__
        for label, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {label} must be a positive integer, got {value!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = to_pair(name, "kernel_size", kernel_size, 1)
        self.stride = to_pair(name, "stride", stride, 1)
        self.padding = to_pair(name, "padding", padding, 0)
        self._cache: Any = None

    def _init_parameters(self, weight_shape: tuple[int, ...], fan_in: float, fan_out: float, init: str,
                         torch_fan_in: float) -> None:
        """W and b drawn by ``init`` ("he", "xavier" or "torch"; :mod:`tinyae.layers.init`), float32."""
        self.init = init
        w, b = initial_parameters(type(self).__name__, init, weight_shape, self.out_channels, fan_in, fan_out,
                                  torch_fan_in)
        self.weight = Parameter(w, "weight")
        self.bias = Parameter(b, "bias")

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )

    def _weight_matrix(self) -> Any:
        """W of shape (A, B, kh, kw) as the (A, B kh kw) matrix Wm, columns in im2col's (ch, i, j)
        order: a reshape (a view)."""
        xp = backend.array_module(self.weight.data)
        return xp.reshape(self.weight.data, (self.weight.data.shape[0], -1))

    def _check_input(self, x: Any) -> Any:
        xp = check_batch(self, x, ndim=4)
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected an input of shape (N, {self.in_channels}, H, W) with "
                f"{self.in_channels} channels, got {x.shape[1]} channels (shape {tuple(x.shape)})"
            )
        check_matches_parameters(self, x, self.weight.data)
        return xp


# --------------------------------------------------------------------------- #
# The layers
# --------------------------------------------------------------------------- #
class Conv2D(_ConvBase):
    r"""2-D convolution (cross-correlation) of NCHW images, as in ``torch.nn.Conv2d``.

    Forward, for x of shape (N, C, H, W), W of shape (O, C, kh, kw), b of shape (O,),
    stride s and zero-padding p (x_pad is x with p zeros on each side):

        y[n, o, a, c] = b[o] + sum_{ch, i, j} W[o, ch, i, j] x_pad[n, ch, s a + i, s c + j]

    with y of shape (N, O, Ho, Wo), Ho = (H + 2 ph - kh) // sh + 1 (Wo likewise).
    In matrix form, with X = im2col(x) of shape (N Ho Wo, C kh kw) (one row per output
    pixel, one column per channel and kernel tap) and Wm = W reshaped to (O, C kh kw):

        Y = X Wm^T + b                    (N Ho Wo, O)

    Backward, given g = dL/dy, as the matrix G of shape (N Ho Wo, O):

        dL/dx = col2im(G Wm)              every tap's gradient added back where it came from
        dL/dW = G^T X                     (O, C kh kw), reshaped to (O, C, kh, kw)
        dL/db = sum over n, a, c of g     (O,)

    Init (``init="he"``, the default, before a ReLU): W ~ N(0, 2 / fan_in) with fan_in = C kh kw
    (the number of products summed into one output); ``init="xavier"`` (before a sigmoid, a tanh
    or a linear output): W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)), fan_out = O kh kw.
    b = 0. ``init="torch"``: ``torch.nn.Conv2d``'s default, W and b ~ U(+-1/sqrt(C kh kw)). float32.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, *,
        init: str = "he",
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        self._init_parameters((self.out_channels, self.in_channels, kh, kw), fan_in, self.out_channels * kh * kw,
                              init, torch_fan_in=fan_in)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(N, O, Ho, Wo) for an input (N, C, H, W); raises ValueError when Ho or Wo is below 1."""
        n, _, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{self!r}: the kernel {kh}x{kw} is larger than the padded input "
                f"{h + 2 * ph}x{w + 2 * pw} (input {h}x{w}, padding {self.padding}); "
                f"the output would be {ho}x{wo}, expected at least 1x1"
            )
        return n, self.out_channels, ho, wo

    def forward(self, x: Any) -> Any:
        """Y = X Wm^T + b with X = im2col(x); y is Y as (N, O, Ho, Wo) images."""
        self._check_input(x)
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        cols = kernels.im2col(x, self.kernel_size, self.stride, self.padding)  # X: (N Ho Wo, C kh kw)
        y = cols @ self._weight_matrix().T  # X Wm^T: (N Ho Wo, O)
        y += self.bias.data  # + b, on every row (in place: y is a new array)
        self._cache = (cols, tuple(x.shape))
        return from_pixel_rows(y, n, ho, wo)

    def backward(self, grad_out: Any) -> Any:
        """dL/dW += G^T X, dL/db += the sum of G's rows, and return dL/dx = col2im(G Wm)
        (None when the input is the data: ``needs_input_grad`` is False)."""
        cols, in_shape = self._cached(self._cache)
        self._check_grad(grad_out, self.output_shape(in_shape), like=cols)
        xp = backend.array_module(grad_out)
        g = pixel_rows(grad_out)  # G: (N Ho Wo, O), one row per output pixel
        self.weight.grad += xp.reshape(g.T @ cols, self.weight.shape)
        self.bias.grad += kernels.sum_rows(g)
        if not self.needs_input_grad:
            return None
        return kernels.col2im(g @ self._weight_matrix(), in_shape, self.kernel_size, self.stride, self.padding)


class ConvTranspose2D(_ConvBase):
    r"""2-D transposed convolution of NCHW images, as in ``torch.nn.ConvTranspose2d``.

    It is the adjoint (the input gradient) of a Conv2D with the same W, kernel, stride and
    padding: each input pixel x[n, ch, a, c] stamps W[ch, :, :, :] scaled by its value onto
    the output at rows s a - p + i, columns s c - p + j. For x of shape (N, C, H, W),
    W of shape (C, O, kh, kw), b of shape (O,):

        y[n, o, s a + i - p, s c + j - p] += sum_ch x[n, ch, a, c] W[ch, o, i, j],   then + b[o]

    with y of shape (N, O, Ho, Wo), Ho = (H - 1) sh - 2 ph + kh + output_padding_h
    (``output_padding`` < stride adds rows at the bottom/right that no input reaches; they
    hold only the bias). In matrix form, with Xm = x as an (N H W, C) matrix (one row per
    input pixel) and Wm = W reshaped to (C, O kh kw):

        y = col2im(Xm Wm) + b             Xm Wm holds one stamp per row; col2im adds them up

    Backward, given g = dL/dy, with Gc = im2col(g) of shape (N H W, O kh kw):

        dL/dx = Gc Wm^T                   (N H W, C), as (N, C, H, W) images
        dL/dW = Xm^T Gc                   (C, O kh kw), reshaped to (C, O, kh, kw)
        dL/db = sum over n, rows, columns of g     (O,)

    Init: ``init="he"`` (the default) W ~ N(0, 2 / fan_in), ``init="xavier"`` W ~ U(-a, a) with
    a = sqrt(6 / (fan_in + fan_out)), fan_out = O kh kw; b = 0, float32. Here fan_in is counted in
    the direction the signal flows through this layer: each output element sums, away from
    the borders, C kh kw / (sh sw) products (each input channel reaches it through about
    kh kw / (sh sw) kernel taps), so fan_in = C kh kw / (sh sw). (PyTorch instead counts
    O kh kw, the fan-in of the convolution this layer transposes.)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        *,
        init: str = "he",
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        name = type(self).__name__
        self.output_padding = to_pair(name, "output_padding", output_padding, 0)
        for axis, op, s in zip(("height", "width"), self.output_padding, self.stride, strict=True):
            if op >= s:
                raise ValueError(
                    f"{name}: output_padding must be smaller than stride, got output_padding "
                    f"{self.output_padding} with stride {self.stride} ({op} >= {s} along the {axis})"
                )
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        fan_in = max(1.0, self.in_channels * kh * kw / (sh * sw))
        # PyTorch counts ConvTranspose2d's fan-in as O kh kw (its weight's second axis)
        self._init_parameters((self.in_channels, self.out_channels, kh, kw), fan_in, self.out_channels * kh * kw,
                              init, torch_fan_in=self.out_channels * kh * kw)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", output_padding={self.output_padding}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(N, O, Ho, Wo) for an input (N, C, H, W); raises ValueError when Ho or Wo is below 1."""
        n, _, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        (oph, opw) = self.output_padding
        ho, wo = (h - 1) * sh - 2 * ph + kh + oph, (w - 1) * sw - 2 * pw + kw + opw
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{self!r}: for an input {h}x{w} the output would be {ho}x{wo} "
                f"((H - 1) * stride - 2 * padding + kernel + output_padding), expected at least 1x1; "
                f"the padding {self.padding} is too large for this input and kernel"
            )
        return n, self.out_channels, ho, wo

    def forward(self, x: Any) -> Any:
        """y = col2im(Xm Wm) + b, with Xm = x as one row per input pixel."""
        xp = self._check_input(x)
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        xm = pixel_rows(x)  # Xm: (N H W, C)
        stamps = xm @ self._weight_matrix()  # Xm Wm: (N H W, O kh kw)
        y = kernels.col2im(stamps, (n, o, ho, wo), self.kernel_size, self.stride, self.padding)
        y += xp.reshape(self.bias.data, (1, o, 1, 1))  # + b at every pixel (in place: y is a new array)
        self._cache = (xm, tuple(x.shape))
        return y

    def backward(self, grad_out: Any) -> Any:
        """dL/dW += Xm^T Gc, dL/db += the sum of g over n and pixels, and return dL/dx = Gc Wm^T with
        Gc = im2col(g) (None when the input is the data: ``needs_input_grad`` is False)."""
        xm, in_shape = self._cached(self._cache)
        self._check_grad(grad_out, self.output_shape(in_shape), like=xm)
        xp = backend.array_module(grad_out)
        gc = kernels.im2col(grad_out, self.kernel_size, self.stride, self.padding)  # Gc: (N H W, O kh kw)
        self.weight.grad += xp.reshape(xm.T @ gc, self.weight.shape)
        self.bias.grad += kernels.sum_rows(pixel_rows(grad_out))  # the sum of g over n and pixels
        if not self.needs_input_grad:
            return None
        n, _, h, w = in_shape
        return from_pixel_rows(gc @ self._weight_matrix().T, n, h, w)

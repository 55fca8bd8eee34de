r"""2-D convolution and transposed convolution (NCHW, PyTorch's conventions), via im2col.

Both layers rest on one pair of helpers, :func:`im2col` and :func:`col2im`:

* ``Conv2D`` forward is im2col and ONE matrix product; its backward is two matrix
  products and a col2im (the input gradient is the adjoint of the forward).
* ``ConvTranspose2D`` *is* that adjoint: its forward is Conv2D's input gradient
  (a matrix product, then col2im), and its backward is Conv2D's forward machinery (im2col).

Like PyTorch, "convolution" is a cross-correlation (the kernel is not flipped), with
weight layouts (out, in, kh, kw) for Conv2D and (in, out, kh, kw) for ConvTranspose2D,
so weights copied from ``torch.nn.Conv2d`` / ``ConvTranspose2d`` give the same outputs.

Memory layout. The layers take and return NCHW arrays, but inside they work channels-last
(NHWC): ``permute_dims(x, (0, 2, 3, 1))`` is a free view, the columns are built with the
channel axis innermost, and the output is the NCHW view of an NHWC result. A conv feeding a
conv (through activations, which keep the layout) therefore hands its data over
channels-last, with no transposing copy; a kernel covering the whole input (a 7x7 conv on
a 7x7 map) then needs no copy at all.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

from array_api_compat import device as device_of

from .. import backend
from ..module import Module, Parameter
from ..validation import check_float_array, check_matches_parameters

__all__ = [
    "Conv2D",
    "ConvTranspose2D",
    "col2im",
    "conv_output_size",
    "im2col",
    "to_nchw",
    "to_nhwc",
    "to_pair",
]

Pair = tuple[int, int]


# --------------------------------------------------------------------------- #
# Configuration helpers
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


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis: (size + 2 p - k) // s + 1."""
    return (size + 2 * padding - kernel) // stride + 1


# --------------------------------------------------------------------------- #
# The shared machinery: im2col and its adjoint col2im
# --------------------------------------------------------------------------- #
# Index layout (channels-last). For an input x of shape (N, H, W, C), zero-padded to
# xpad of shape (N, H + 2 ph, W + 2 pw, C), the columns are a matrix of shape
# (N * Ho * Wo, kh * kw * C):
#
#     row    r = (n * Ho + oh) * Wo + ow           one output pixel (n, oh, ow)
#     column c = (i * kw + j) * C + ch             one kernel tap (i, j) of channel ch
#     cols[r, c] = xpad[n, sh * oh + i, sw * ow + j, ch]
#
# Each row is the receptive field of one output pixel, so a convolution is cols @ W^T
# with W reshaped to (out, kh * kw * C) in the same (i, j, ch) order.
#
# The copies: one strided slice per kernel row i and per group of sw neighbouring taps
# j, ..., j + sw - 1 (kh * ceil(kw / sw) Python steps, none per sample or per pixel).
# Those sw taps of window (oh, ow) are the sw pixels sw * ow + j, ... of one row: sw * C
# numbers side by side in xpad, and side by side in cols too. Seen as blocks of sw pixels,
# xpad[n, row, sw * b + t, ch] = blocks[n, row, b, t * C + ch], they are block ow + j / sw,
# so one slice of the blocks moves them all, in runs of sw * C numbers instead of C.
# (With C = 1 the taps go one by one: NumPy then runs its inner loop along ow, which is
# longer than a group. With stride 1 a block is one pixel and nothing changes.)
# The padded width is rounded up to a multiple of sw with zeros on the right, for the
# reshape into blocks; those extra columns are never part of a window.


def _pad(x: Any, ph: int, pw: int, width: int | None = None) -> Any:
    """Zero-pad an NHWC array: ph rows above and below, pw columns on the left, and on the
    right up to ``width`` columns in all (default W + 2 pw), by zeros and a slice assignment."""
    xp = backend.array_module(x)
    n, h, w, c = x.shape
    width = w + 2 * pw if width is None else width
    if ph == 0 and pw == 0 and width == w:
        return x
    xpad = xp.zeros((n, h + 2 * ph, width, c), dtype=x.dtype, device=device_of(x))
    xpad[:, ph : ph + h, pw : pw + w, :] = x
    return xpad


def _blocked_width(w: int, pw: int, sw: int) -> int:
    """The padded width W + 2 pw, rounded up to a multiple of the stride sw."""
    return -(-(w + 2 * pw) // sw) * sw


def _tap(start: int, stride: int, count: int) -> slice:
    """``start, start + stride, ..., start + stride * (count - 1)``: one kernel row of every window.

    The stop is the last index + 1, never past the end (the array API leaves
    out-of-bounds slice stops unspecified, and array_api_strict refuses them).
    """
    return slice(start, start + stride * (count - 1) + 1, stride)


def _tap_groups(kw: int, sw: int, c: int) -> list[tuple[int, int, int, int]]:
    """The copies of one kernel row: (block, offset in the block, first column, width) per group
    of neighbouring taps j: groups of sw taps from a block's start, or single taps when C = 1."""
    size = sw if c > 1 else 1
    return [(j // sw, (j % sw) * c, j * c, min(size, kw - j) * c) for j in range(0, kw, size)]


def im2col(x: Any, kernel: Pair, stride: Pair, padding: Pair) -> Any:
    """Columns of shape (N * Ho * Wo, kh * kw * C) from an NHWC array x (layout above).

    A kernel that covers the whole padded input (Ho = Wo = 1) needs no copy:
    the columns are the padded input itself, reshaped.
    """
    xp = backend.array_module(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, h, w, c = x.shape
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    hp = h + 2 * ph
    if (kh, kw) == (hp, w + 2 * pw):
        return xp.reshape(_pad(x, ph, pw), (n, kh * kw * c))
    wq = _blocked_width(w, pw, sw)
    blocks = xp.reshape(_pad(x, ph, pw, wq), (n, hp, wq // sw, sw * c))
    cols = xp.empty((n, ho, wo, kh, kw * c), dtype=x.dtype, device=device_of(x))
    for i in range(kh):
        for b, at, first, width in _tap_groups(kw, sw, c):
            # taps (i, j ...) of every window: rows i, i + sh, ...; blocks b, b + 1, ...
            cols[:, :, :, i, first : first + width] = blocks[:, _tap(i, sh, ho), b : b + wo, at : at + width]
    return xp.reshape(cols, (n * ho * wo, kh * kw * c))


def col2im(cols: Any, shape: tuple[int, int, int, int], kernel: Pair, stride: Pair, padding: Pair) -> Any:
    """The adjoint of :func:`im2col`: scatter-add columns back into an NHWC array of ``shape``.

    ``<im2col(x), cols> == <x, col2im(cols)>``: every column entry is added to the input
    element it was copied from (the same slices as im2col, with += for =), so where
    windows overlap the contributions sum. The padding is cut off at the end (its
    gradient goes nowhere).
    """
    xp = backend.array_module(cols)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, h, w, c = shape
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    hp, wp = h + 2 * ph, w + 2 * pw
    if (kh, kw) == (hp, wp):
        xpad = xp.reshape(cols, (n, hp, wp, c))
    else:
        wq = _blocked_width(w, pw, sw)
        taps = xp.reshape(cols, (n, ho, wo, kh, kw * c))
        blocks = xp.zeros((n, hp, wq // sw, sw * c), dtype=cols.dtype, device=device_of(cols))
        for i in range(kh):
            for b, at, first, width in _tap_groups(kw, sw, c):
                blocks[:, _tap(i, sh, ho), b : b + wo, at : at + width] += taps[:, :, :, i, first : first + width]
        xpad = xp.reshape(blocks, (n, hp, wq, c))
    return xpad[:, ph : ph + h, pw : pw + w, :]


def to_nhwc(x: Any) -> Any:
    """The channels-last view (N, H, W, C) of an NCHW array (no copy)."""
    return backend.array_module(x).permute_dims(x, (0, 2, 3, 1))


def to_nchw(x: Any) -> Any:
    """The NCHW view (N, C, H, W) of a channels-last array (no copy)."""
    return backend.array_module(x).permute_dims(x, (0, 3, 1, 2))


def _add_bias(y: Any, b: Any) -> Any:
    """y + b for an NHWC array y and a bias b of shape (C,), b added at every pixel.

    Done as rows of W * C numbers plus b repeated W times: NumPy adds long rows several
    times faster than C = 16 numbers at a time.
    """
    xp = backend.array_module(y)
    n, h, w, c = y.shape
    row = xp.reshape(xp.broadcast_to(b, (w, c)), (w * c,))  # b, b, ..., b
    return xp.reshape(xp.reshape(y, (n, h, w * c)) + row, (n, h, w, c))


def _sum_over_pixels(g: Any) -> Any:
    """sum over n, rows and columns of an NHWC array g: shape (C,), the bias gradient.

    The batch axis first (long contiguous runs), then the H W pixels: one sum over
    the N H W rows of C numbers would cost NumPy ~10x more.
    """
    xp = backend.array_module(g)
    per_pixel = xp.sum(g, axis=0)  # (H, W, C)
    return xp.sum(xp.reshape(per_pixel, (-1, g.shape[3])), axis=0)


def _kernel_matrix(weight: Any) -> Any:
    """Weight (A, B, kh, kw) -> matrix (A, kh * kw * B), columns in im2col's (i, j, ch) order."""
    xp = backend.array_module(weight)
    a, b, kh, kw = weight.shape
    return xp.reshape(xp.permute_dims(weight, (0, 2, 3, 1)), (a, kh * kw * b))


def _kernel_tensor(matrix: Any, kernel: Pair) -> Any:
    """The inverse of :func:`_kernel_matrix`: (A, kh * kw * B) -> (A, B, kh, kw)."""
    xp = backend.array_module(matrix)
    (kh, kw), a = kernel, matrix.shape[0]
    return xp.permute_dims(xp.reshape(matrix, (a, kh, kw, -1)), (0, 3, 1, 2))


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

    def _init_parameters(self, weight_shape: tuple[int, ...], fan_in: float) -> None:
        """He/Kaiming normal W ~ N(0, 2 / fan_in), b = 0, float32 (drawn on the host)."""
        self.weight = Parameter(backend.init_array(weight_shape, std=math.sqrt(2.0 / fan_in)), "weight")
        self.bias = Parameter(backend.init_array((self.out_channels,)), "bias")

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )

    def _check_input(self, x: Any) -> Any:
        xp = check_float_array(self, x, ndim=4)
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
    In matrix form, with X = im2col(x) of shape (N Ho Wo, kh kw C) (one row per output
    pixel, one column per kernel tap and channel) and Wm = W as an (O, kh kw C) matrix:

        Y = X Wm^T + b                    (N Ho Wo, O)

    Backward, given g = dL/dy, as the matrix G of shape (N Ho Wo, O):

        dL/dx = col2im(G Wm)              every tap's gradient added back where it came from
        dL/dW = G^T X                     (O, kh kw C), reshaped to (O, C, kh, kw)
        dL/db = sum over n, a, c of g     (O,)

    Init: He/Kaiming normal, W ~ N(0, 2 / fan_in) with fan_in = C kh kw (the number of
    products summed into one output); b = 0. float32.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        kh, kw = self.kernel_size
        self._init_parameters((self.out_channels, self.in_channels, kh, kw), self.in_channels * kh * kw)

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
        """y = conv(x, W) + b, as Y = im2col(x) Wm^T + b (see the class docstring)."""
        xp = self._check_input(x)
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        x = to_nhwc(x)
        cols = im2col(x, self.kernel_size, self.stride, self.padding)  # X: (N Ho Wo, kh kw C)
        y = cols @ _kernel_matrix(self.weight.data).T  # X Wm^T: (N Ho Wo, O)
        self._cache = (cols, tuple(x.shape), (n, o, ho, wo))
        return to_nchw(_add_bias(xp.reshape(y, (n, ho, wo, o)), self.bias.data))

    def backward(self, grad_out: Any) -> Any:
        """dW += G^T X, db += sum g, and return dx = col2im(G Wm)."""
        cols, in_shape, out_shape = self._cached(self._cache)
        self._check_grad(grad_out, out_shape)
        xp = backend.array_module(grad_out)
        g_nhwc = to_nhwc(grad_out)
        g = xp.reshape(g_nhwc, (-1, out_shape[1]))  # G: (N Ho Wo, O)
        self.weight.grad += _kernel_tensor(g.T @ cols, self.kernel_size)
        self.bias.grad += _sum_over_pixels(g_nhwc)
        dcols = g @ _kernel_matrix(self.weight.data)  # G Wm: (N Ho Wo, kh kw C)
        return to_nchw(col2im(dcols, in_shape, self.kernel_size, self.stride, self.padding))


class ConvTranspose2D(_ConvBase):
    r"""2-D transposed convolution of NCHW images, as in ``torch.nn.ConvTranspose2d``.

    It is the adjoint (the input gradient) of a Conv2D with the same W, kernel, stride and
    padding: each input pixel x[n, ch, a, c] stamps W[ch, :, :, :] scaled by its value onto
    the output at rows s a - p + i, columns s c - p + j. For x of shape (N, C, H, W),
    W of shape (C, O, kh, kw), b of shape (O,):

        y[n, o, s a + i - p, s c + j - p] += sum_ch x[n, ch, a, c] W[ch, o, i, j],   then + b[o]

    with y of shape (N, O, Ho, Wo), Ho = (H - 1) sh - 2 ph + kh + output_padding_h
    (``output_padding`` < stride adds rows at the bottom/right that no input reaches; they
    hold only the bias). In matrix form, with Xm = x as an (N H W, C) matrix and
    Wm = W as a (C, kh kw O) matrix:

        y = col2im(Xm Wm) + b

    Backward, given g = dL/dy, with Gc = im2col(g) of shape (N H W, kh kw O):

        dL/dx = Gc Wm^T                   (N H W, C), reshaped to (N, C, H, W)
        dL/dW = Xm^T Gc                   (C, kh kw O), reshaped to (C, O, kh, kw)
        dL/db = sum over n, rows, columns of g     (O,)

    Init: He/Kaiming normal, W ~ N(0, 2 / fan_in), b = 0, float32. Here fan_in is counted in
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
        self._init_parameters((self.in_channels, self.out_channels, kh, kw), fan_in)

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
        """y = col2im(Xm Wm) + b (see the class docstring)."""
        xp = self._check_input(x)
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        xm = xp.reshape(to_nhwc(x), (-1, self.in_channels))  # Xm: (N H W, C)
        cols = xm @ _kernel_matrix(self.weight.data)  # (N H W, kh kw O)
        y = _add_bias(col2im(cols, (n, ho, wo, o), self.kernel_size, self.stride, self.padding), self.bias.data)
        self._cache = (xm, tuple(x.shape), (n, o, ho, wo))
        return to_nchw(y)

    def backward(self, grad_out: Any) -> Any:
        """dW += Xm^T im2col(g), db += sum g, and return dx = im2col(g) Wm^T."""
        xm, in_shape, out_shape = self._cached(self._cache)
        self._check_grad(grad_out, out_shape)
        xp = backend.array_module(grad_out)
        g = to_nhwc(grad_out)
        gc = im2col(g, self.kernel_size, self.stride, self.padding)  # Gc: (N H W, kh kw O)
        self.weight.grad += _kernel_tensor(xm.T @ gc, self.kernel_size)
        self.bias.grad += _sum_over_pixels(g)
        dx = gc @ _kernel_matrix(self.weight.data).T  # (N H W, C)
        n, c, h, w = in_shape
        return to_nchw(xp.reshape(dx, (n, h, w, c)))

r"""2-D convolution and transposed convolution (NCHW, PyTorch's conventions), as matrix products.

Two pairs of helpers turn a convolution into ONE matrix product:

* :func:`im2col` and its adjoint :func:`col2im` (channels-last, NHWC): the textbook form,
  one row per output pixel, Y = X Wm^T. The exercise, docs/conv2d.md and MaxPool2D use it.
* :func:`im2row` and its adjoint :func:`row2im` (batch-last, CHWN): the same matrix,
  transposed, one column per output pixel and sample, Y^T = Wm X^T. The layers use it.

* ``Conv2D`` forward is im2row and one matrix product; its backward is two matrix products
  and a row2im (the input gradient is the adjoint of the forward).
* ``ConvTranspose2D`` *is* that adjoint: its forward is Conv2D's input gradient (a matrix
  product, then row2im), and its backward is Conv2D's forward machinery (im2row).

Like PyTorch, "convolution" is a cross-correlation (the kernel is not flipped), with
weight layouts (out, in, kh, kw) for Conv2D and (in, out, kh, kw) for ConvTranspose2D,
so weights copied from ``torch.nn.Conv2d`` / ``ConvTranspose2d`` give the same outputs.

Memory layout. The layers take and return NCHW arrays, but inside they work batch-last,
(C, H, W, N): ``permute_dims(x, (1, 2, 3, 0))`` is a view, and the output is the NCHW view
of a (C, H, W, N) result, so a conv feeding a conv (through activations, which keep the
layout) hands its data over with no transposing copy. Why batch-last: NumPy moves data in
runs along the innermost axis, and its cost is per run more than per byte. With the batch
innermost, every copy of im2row and every add of row2im moves runs of N numbers (N = 128:
512 bytes), where channels-last moves runs of C (16 channels: 64 bytes), 2-4x slower. And the
weights need no permuting copy: W of shape (O, C, kh, kw) is already the (O, C kh kw) matrix
whose columns follow the rows' (ch, i, j) order. A kernel covering the whole input (a 7x7
conv on a 7x7 map) needs no copy at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral
from typing import Any

from .. import backend
from ..backend import device_of
from ..module import Module, Parameter
from ..validation import check_float_array, check_matches_parameters

__all__ = [
    "Conv2D",
    "ConvTranspose2D",
    "col2im",
    "conv_output_size",
    "from_chwn",
    "im2col",
    "im2row",
    "row2im",
    "to_chwn",
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


class Workspace:
    """Arrays a layer keeps from call to call and refills, instead of allocating them anew.

    The matrix of :func:`im2row` has zeros in fixed places (the taps that fall in the padding):
    kept, it needs them written once, and the allocator need not hand out (and the OS map) a
    few fresh MB per call. It never leaves the layer that makes it (it stays in the layer's
    cache only until its next forward pass), so the layer can reuse the same memory every call.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, Any] = {}

    def zeros(self, key: str, shape: tuple[int, ...], like: Any) -> Any:
        """The array ``key`` of ``shape`` with the dtype and backend of ``like``: the one from the
        previous call when it matches (holding what that call wrote), else a new one of zeros."""
        old = self._arrays.get(key)
        if (old is not None and tuple(old.shape) == tuple(shape) and old.dtype == like.dtype
                and backend.backend_of(old) == backend.backend_of(like)):
            return old
        xp = backend.array_module(like)
        self._arrays[key] = xp.zeros(shape, dtype=like.dtype, device=device_of(like))
        return self._arrays[key]


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


# Index layout (batch-last). For an input x of shape (C, H, W, N), zero-padded to xpad of
# shape (C, H + 2 ph, W + 2 pw, N), the rows are a matrix of shape (C * kh * kw, Ho * Wo * N):
#
#     row    r = (ch * kh + i) * kw + j            one kernel tap (i, j) of channel ch
#     column c = (oh * Wo + ow) * N + n            one output pixel (oh, ow) of sample n
#     rows[r, c] = xpad[ch, sh * oh + i, sw * ow + j, n]
#
# It is im2col's matrix transposed, with the batch innermost. One strided slice per kernel tap
# (kh * kw Python steps) copies a tap of every channel, pixel and sample, in runs of N numbers.
# The padding is never built: tap (i, j) of the windows that reach into it is zero, so each
# copy covers only the windows whose tap lands inside x (see _tap_range), and the rest of the
# matrix stays zero (written once, when a layer's workspace makes the matrix).


def _tap_range(i: int, stride: int, pad: int, size: int, out_size: int) -> tuple[slice, slice] | None:
    """The windows whose tap i lands inside x along one axis, and where: (windows, input indices).

    Window o reads input index stride * o + i - pad, which must be in [0, size); None when no
    window does (the tap lies in the padding for every window).
    """
    first = max(0, -((i - pad) // stride))  # ceil((pad - i) / stride)
    last = min(out_size - 1, (size - 1 + pad - i) // stride)
    if first > last:
        return None
    return slice(first, last + 1), _tap(stride * first + i - pad, stride, last - first + 1)


def _taps(kernel: Pair, stride: Pair, padding: Pair, size: Pair, out_size: Pair) -> list[tuple]:
    """(i, j, (window rows, columns), (input rows, columns)) for every kernel tap (i, j) that some
    window sees inside x: the slices of :func:`_tap_range` along both axes."""
    rows = [(i, _tap_range(i, stride[0], padding[0], size[0], out_size[0])) for i in range(kernel[0])]
    cols = [(j, _tap_range(j, stride[1], padding[1], size[1], out_size[1])) for j in range(kernel[1])]
    return [(i, j, (r[0], c[0]), (r[1], c[1])) for i, r in rows if r for j, c in cols if c]


def im2row(x: Any, kernel: Pair, stride: Pair, padding: Pair, workspace: Workspace | None = None) -> Any:
    """Rows of shape (C * kh * kw, Ho * Wo * N) from a batch-last array x of shape (C, H, W, N).

    A kernel that covers the whole unpadded input (Ho = Wo = 1) needs no copy: the rows are x
    itself, reshaped. With a ``workspace`` the rows are written into the matrix of the previous
    call of the same shape (so rows returned before are overwritten: for a layer's own use only).
    """
    xp = backend.array_module(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    c, h, w, n = x.shape
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    if (ph, pw) == (0, 0) and (kh, kw) == (h, w):
        return xp.reshape(x, (c * kh * kw, n))
    shape = (c, kh, kw, ho, wo, n)
    if workspace is None:
        rows = xp.zeros(shape, dtype=x.dtype, device=device_of(x))
    else:  # zeros where taps fall in the padding: written once, never overwritten
        rows = workspace.zeros("rows", shape, like=x)
    for i, j, (oh, ow), (ih, iw) in _taps(kernel, stride, padding, (h, w), (ho, wo)):
        # tap (i, j) of every window that sees it inside x: input rows ih, columns iw
        rows[:, i, j, oh, ow, :] = x[:, ih, iw, :]
    return xp.reshape(rows, (c * kh * kw, ho * wo * n))


def row2im(
    rows: Any, shape: tuple[int, int, int, int], kernel: Pair, stride: Pair, padding: Pair, bias: Any = None
) -> Any:
    """The adjoint of :func:`im2row`: scatter-add rows back into a batch-last array of ``shape``
    = (C, H, W, N).

    ``<im2row(x), rows> == <x, row2im(rows)>``: every entry is added to the input element it
    was copied from (the same slices as im2row, with += for =), so where windows overlap the
    contributions sum; entries of taps in the padding go nowhere. ``bias`` (shape (C,), for
    ConvTranspose2D) is added at every pixel for free: the sums start from it, not from zeros.
    """
    xp = backend.array_module(rows)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    c, h, w, n = shape
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    per_channel = None if bias is None else xp.reshape(bias, (c, 1, 1, 1))
    if (ph, pw) == (0, 0) and (kh, kw) == (h, w):
        x = xp.reshape(rows, (c, h, w, n))
        return x if per_channel is None else x + per_channel
    taps = xp.reshape(rows, (c, kh, kw, ho, wo, n))
    if per_channel is None:
        x = xp.zeros((c, h, w, n), dtype=rows.dtype, device=device_of(rows))
    else:
        x = xp.empty((c, h, w, n), dtype=rows.dtype, device=device_of(rows))
        x[...] = per_channel
    for i, j, (oh, ow), (ih, iw) in _taps(kernel, stride, padding, (h, w), (ho, wo)):
        x[:, ih, iw, :] += taps[:, i, j, oh, ow, :]
    return x


def to_nhwc(x: Any) -> Any:
    """The channels-last view (N, H, W, C) of an NCHW array (no copy)."""
    return backend.array_module(x).permute_dims(x, (0, 2, 3, 1))


def to_nchw(x: Any) -> Any:
    """The NCHW view (N, C, H, W) of a channels-last array (no copy)."""
    return backend.array_module(x).permute_dims(x, (0, 3, 1, 2))


def to_chwn(x: Any) -> Any:
    """The batch-last view (C, H, W, N) of an NCHW array (no copy)."""
    return backend.array_module(x).permute_dims(x, (1, 2, 3, 0))


def from_chwn(x: Any) -> Any:
    """The NCHW view (N, C, H, W) of a batch-last array (no copy)."""
    return backend.array_module(x).permute_dims(x, (3, 0, 1, 2))


# A weight gradient's product has a long shared dimension (Ho Wo N) and, for the first or last
# layer of an image model, a tiny result (9 x 16 numbers summed over 25,088 pixels and samples).
# OpenBLAS runs such a product ~3x slower than the same sums in chunks of a few thousand, done
# as one stack of products and added up. Chunks of at most this length:
_CHUNK = 8192
_TINY_RESULT = 4096  # at most this many numbers


def _chunk_count(k: int) -> int:
    """The fewest chunks of at most _CHUNK that split k evenly (1: no split, or none found)."""
    for chunks in range(-(-k // _CHUNK), 65):
        if k % chunks == 0:
            return chunks
    return 1


def _sum_of_products(a: Any, b: Any) -> Any:
    """a @ b^T for a of shape (M, K) and b of shape (P, K): sums over the long axis K.

    A tiny (M, P) result with a long K is computed in chunks of K (see _CHUNK); the sums are
    the same, grouped differently."""
    xp = backend.array_module(a)
    (m, k), p = a.shape, b.shape[0]
    chunks = _chunk_count(k) if m * p <= _TINY_RESULT else 1
    if chunks == 1:
        return a @ b.T
    a_chunks = xp.permute_dims(xp.reshape(a, (m, chunks, k // chunks)), (1, 0, 2))  # (chunks, M, K / chunks)
    b_chunks = xp.permute_dims(xp.reshape(b, (p, chunks, k // chunks)), (1, 2, 0))  # (chunks, K / chunks, P)
    return xp.sum(a_chunks @ b_chunks, axis=0)


@dataclass
class _Rows:
    """What Conv2D's forward keeps for backward: im2row's rows Xr, (C kh kw, Ho Wo N), and the
    input's and output's NCHW shapes."""

    rows: Any
    in_shape: tuple[int, int, int, int]
    out_shape: tuple[int, int, int, int]


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
        self._workspace = Workspace()  # im2row's matrix, reused (see Workspace)

    def _init_parameters(self, weight_shape: tuple[int, ...], fan_in: float) -> None:
        """He/Kaiming normal W ~ N(0, 2 / fan_in), b = 0, float32 (drawn on the host)."""
        self.weight = Parameter(backend.init_array(weight_shape, std=math.sqrt(2.0 / fan_in)), "weight")
        self.bias = Parameter(backend.init_array((self.out_channels,)), "bias")

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )

    def _weight_as_matrix(self) -> Any:
        """W of shape (A, B, kh, kw) as the (A, B kh kw) matrix of im2row's (ch, i, j) order: a view."""
        xp = backend.array_module(self.weight.data)
        return xp.reshape(self.weight.data, (self.weight.data.shape[0], -1))

    def _accumulate_weight_grad(self, grad_t: Any) -> None:
        """weight.grad += the transpose of ``grad_t``, an (B kh kw, A) matrix, reshaped to (A, B, kh, kw).

        The weight gradient is a product whose shared dimension is long (H W N); OpenBLAS is
        ~1.5x faster with the few output channels as its second operand's columns than as its
        first operand's rows, so the layers compute it transposed (the same sums)."""
        xp = backend.array_module(grad_t)
        self.weight.accumulate_grad(xp.reshape(grad_t.T, tuple(self.weight.data.shape)))

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

    The code computes the transposes of these products, batch-last (see the module docstring):
    with Xr = im2row(x) = X^T reordered, (C kh kw, Ho Wo N), and Wm = W reshaped to (O, C kh kw),
    Y^T = Wm Xr + b, dL/dx = row2im(Wm^T G^T), dL/dW = G^T Xr^T: the same sums, term by term.

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
        """y = conv(x, W) + b, as Y^T = Wm im2row(x) + b (see the class docstring)."""
        xp = self._check_input(x)
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        rows = im2row(to_chwn(x), self.kernel_size, self.stride, self.padding, self._workspace)  # Xr
        y = self._weight_as_matrix() @ rows  # Y^T = Wm Xr: (O, Ho Wo N)
        y += xp.reshape(self.bias.data, (o, 1))  # in place: y is a fresh product
        self._cache = _Rows(rows, tuple(x.shape), (n, o, ho, wo))
        return from_chwn(xp.reshape(y, (o, ho, wo, n)))

    def backward(self, grad_out: Any) -> Any:
        """dW += G^T Xr^T, db += sum g, and return dx = row2im(Wm^T G^T)."""
        cache = self._cached(self._cache)
        g = self._backward_parameters(grad_out)
        n, c, h, w = cache.in_shape
        drows = self._weight_as_matrix().T @ g  # Wm^T G^T: (C kh kw, Ho Wo N)
        return from_chwn(row2im(drows, (c, h, w, n), self.kernel_size, self.stride, self.padding))

    def _backward_parameters(self, grad_out: Any) -> Any:
        """The parameter half of backward: dW += G^T Xr^T and db += sum g, without dx (for a first
        layer, whose input is the data: see tinyae.models.backward). Returns G^T, (O, Ho Wo N)."""
        cache = self._cached(self._cache)
        self._check_grad(grad_out, cache.out_shape)
        xp = backend.array_module(grad_out)
        g = xp.reshape(to_chwn(grad_out), (self.out_channels, -1))  # G^T: (O, Ho Wo N)
        self._accumulate_weight_grad(_sum_of_products(cache.rows, g))  # (G^T Xr^T)^T = Xr G: (C kh kw, O)
        self.bias.accumulate_grad(xp.sum(g, axis=1))
        return g


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

    The code computes the transposes, batch-last (see the module docstring): with Xm^T of shape
    (C, H W N), Wm = W reshaped to (C, O kh kw) and Gr = im2row(g) = Gc^T reordered,
    y = row2im(Wm^T Xm^T) + b, dL/dx = Wm Gr, dL/dW = Xm^T Gr^T: the same sums, term by term.

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
        """y = row2im(Wm^T Xm^T) + b (see the class docstring)."""
        xp = self._check_input(x)
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        xt = xp.reshape(to_chwn(x), (self.in_channels, -1))  # Xm^T: (C, H W N)
        rows = self._weight_as_matrix().T @ xt  # Wm^T Xm^T: (O kh kw, H W N)
        y = row2im(rows, (o, ho, wo, n), self.kernel_size, self.stride, self.padding, bias=self.bias.data)
        self._cache = (xt, tuple(x.shape), (n, o, ho, wo))
        return from_chwn(y)

    def backward(self, grad_out: Any) -> Any:
        """dW += Xm^T Gr^T, db += sum g, and return dx = Wm Gr, with Gr = im2row(g)."""
        xt, in_shape, out_shape = self._cached(self._cache)
        self._check_grad(grad_out, out_shape)
        xp = backend.array_module(grad_out)
        g = to_chwn(grad_out)  # (O, Ho, Wo, N)
        gr = im2row(g, self.kernel_size, self.stride, self.padding, self._workspace)  # Gr: (O kh kw, H W N)
        self._accumulate_weight_grad(_sum_of_products(gr, xt))  # (Xm^T Gr^T)^T = Gr Xm: (O kh kw, C)
        self.bias.accumulate_grad(xp.sum(xp.reshape(g, (self.out_channels, -1)), axis=1))
        dx = self._weight_as_matrix() @ gr  # Wm Gr: (C, H W N)
        n, c, h, w = in_shape
        return from_chwn(xp.reshape(dx, (c, h, w, n)))

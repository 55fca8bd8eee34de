r"""The convolution's data movement: im2col and its adjoint col2im (NCHW images, PyTorch's order).

For an input x of shape (N, C, H, W), zero-padded by (ph, pw) to x_pad, with kernel (kh, kw)
and stride (sh, sw), the columns matrix has one row per output pixel and one column per kernel
tap of each channel, in the order of ``torch.nn.functional.unfold``:

    X[(n Ho + a) Wo + b, (ch kh + i) kw + j] = x_pad[n, ch, sh a + i, sw b + j]      X: (N Ho Wo, C kh kw)

so a weight W of shape (O, C, kh, kw) reshaped to (O, C kh kw) has its columns in the same
order, and a convolution is the one matrix product X Wm^T. col2im is the adjoint (the
transpose of that linear map): it adds every entry of a columns matrix back onto the input
element it was copied from, so ``<im2col(x), Z> == <x, col2im(Z)>`` for every x and Z.

Both the reference and the fast implementation accept an x of any memory layout and return a
matrix of these values; where the matrix lives in memory (row- or column-major) is theirs to
choose, by speed (the product that follows reads either).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import array_module, device_of
from .dispatch import Primitive
from .jit import compiled

__all__ = ["col2im", "conv_output_size", "im2col"]

Pair = tuple[int, int]


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis: (size + 2 p - k) // s + 1."""
    return (size + 2 * padding - kernel) // stride + 1


# --------------------------------------------------------------------------- #
# Which windows see a kernel tap inside the image (the rest of the tap is padding: zero)
# --------------------------------------------------------------------------- #
def _tap(start: int, stride: int, count: int) -> slice:
    """``start, start + stride, ..., start + stride (count - 1)``, with a stop that is never past
    the end (the array API leaves out-of-bounds stops unspecified; array_api_strict refuses them)."""
    return slice(start, start + stride * (count - 1) + 1, stride)


def _tap_range(i: int, stride: int, pad: int, size: int, out_size: int) -> tuple[slice, slice] | None:
    """Along one axis, the windows whose tap i lands inside the image, and the input indices they
    read: (windows, inputs). Window o reads index stride o + i - pad, which must be in [0, size).
    None when no window does (the tap is in the padding for all of them)."""
    first = max(0, -((i - pad) // stride))  # ceil((pad - i) / stride)
    last = min(out_size - 1, (size - 1 + pad - i) // stride)
    if first > last:
        return None
    return slice(first, last + 1), _tap(stride * first + i - pad, stride, last - first + 1)


def _taps(kernel: Pair, stride: Pair, padding: Pair, size: Pair, out_size: Pair) -> list[tuple]:
    """(i, j, (window rows, window columns), (input rows, input columns)) for every tap (i, j)
    that some window sees inside the image."""
    rows = [(i, _tap_range(i, stride[0], padding[0], size[0], out_size[0])) for i in range(kernel[0])]
    cols = [(j, _tap_range(j, stride[1], padding[1], size[1], out_size[1])) for j in range(kernel[1])]
    return [(i, j, (r[0], c[0]), (r[1], c[1])) for i, r in rows if r for j, c in cols if c]


# --------------------------------------------------------------------------- #
# The reference: one strided slice per kernel tap (kh kw Python steps, none per pixel)
# --------------------------------------------------------------------------- #
def _im2col_reference(x: Any, kernel: Pair, stride: Pair, padding: Pair) -> Any:
    """The columns X of shape (N Ho Wo, C kh kw) of an (N, C, H, W) array x (layout above).

    Tap (i, j) of window (a, b) reads x_pad[:, :, sh a + i, sw b + j]: for all windows at once that
    is one strided slice of x, copied into the tap's column of every channel; taps that fall in
    the padding stay zero.
    """
    xp = array_module(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    cols = xp.zeros((n, ho, wo, c, kh, kw), dtype=x.dtype, device=device_of(x))
    for i, j, (oh, ow), (ih, iw) in _taps(kernel, stride, padding, (h, w), (ho, wo)):
        cols[:, oh, ow, :, i, j] = xp.permute_dims(x[:, :, ih, iw], (0, 2, 3, 1))
    return xp.reshape(cols, (n * ho * wo, c * kh * kw))


def _col2im_reference(cols: Any, shape: tuple[int, int, int, int], kernel: Pair, stride: Pair, padding: Pair) -> Any:
    """The adjoint of im2col: an (N, C, H, W) array of ``shape`` where every entry of ``cols``
    (N Ho Wo, C kh kw) is added onto the input element it was copied from.

    The same slices as im2col, with += for =: where windows overlap, their entries add up;
    entries of taps in the padding go nowhere (the padding was constant zeros).
    """
    xp = array_module(cols)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = shape
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    taps = xp.reshape(cols, (n, ho, wo, c, kh, kw))
    x = xp.zeros((n, c, h, w), dtype=cols.dtype, device=device_of(cols))
    for i, j, (oh, ow), (ih, iw) in _taps(kernel, stride, padding, (h, w), (ho, wo)):
        x[:, :, ih, iw] += xp.permute_dims(taps[:, oh, ow, :, i, j], (0, 3, 1, 2))
    return x


# --------------------------------------------------------------------------- #
# The fast path: compiled loops over the same index map, on channels-last images
# --------------------------------------------------------------------------- #
# Memory layouts, chosen by measurement inside a training step of the conv autoencoder:
#
# * the columns matrix is row-major, (N Ho Wo, C kh kw) C-contiguous: the products that follow,
#   X Wm^T and G^T X, are fastest so (a column-major X costs them up to 30%);
# * col2im returns channels-last memory, an NCHW view of an (N, H, W, C) C-contiguous array, as the
#   conv layers return their outputs: the bias added next and the activations keep that layout,
#   and the next layer's pixel_rows is a free view;
# * im2col reads channels-last images (what the layers hand over) and C-contiguous NCHW ones (an
#   image batch) through their strides; any other layout is copied channels-last first.
#
# Both loops go one sample at a time. im2col copies the sample into a zero-padded channels-last
# buffer, x_pad (small: it stays in the cache), so that every window lies inside it and no tap is
# tested for the padding; an unpadded input is read in place. Then each output row a of the
# sample, its Wo windows of C kh kw numbers (Wo C kh kw contiguous numbers of the columns), is one
# loop through a table of offsets, the strip: entry (b, ch, i, j) is where x_pad[sh a + i, sw b + j,
# ch] lies from x_pad[sh a, 0, 0]. col2im mirrors it: every window adds its numbers onto a zeroed
# x_pad, whose inside is then copied out. With C >= 4 it first gathers the window's row into
# (i, j, ch) order (the by-tap table), so that the additions run over kh contiguous runs of kw C
# numbers, as vector adds; with fewer channels it adds through the strip directly. A kernel that
# covers the whole image in one window (7x7 on a 7x7 map) makes col2im a transposition.
# The tables are tiny, built by NumPy and kept per geometry; the loops index with unsigned
# integers (np.uint64), which spares numba its negative-index wrap-around.
def _im2col_loop(x, shape, strides, padding, row_offsets, strip, rows, row_step, x_pad, cols):  # noqa: ANN001
    n_, c_, h, w = shape
    sn, sc, sr, sq = strides  # element strides of x's (n, ch, row, column) in the flat array x
    ph, pw = padding
    cf = cols.reshape(-1)
    padded = ph > 0 or pw > 0
    wp = w + 2 * pw
    run = w * c_  # numbers in an image row
    rows_contiguous = sc == 1 and sq == c_  # x is channels-last: image rows of W C contiguous numbers
    length = strip.size  # numbers in an output row: Wo windows
    d = 0
    for n in range(n_):
        if padded:  # copy the sample inside x_pad, channels-last (its border stays zero)
            for r in range(h):
                o, s = ((r + ph) * wp + pw) * c_, n * sn + r * sr
                if rows_contiguous:
                    for e in range(run):
                        x_pad[np.uint64(o + e)] = x[np.uint64(s + e)]
                else:
                    for e in range(run):
                        x_pad[np.uint64(o + e)] = x[np.uint64(s + row_offsets[e])]
            src, corner = x_pad, 0
        else:
            src, corner = x, n * sn
        for _ in range(rows):  # the sample's output rows a
            for v in range(length):
                cf[np.uint64(d + v)] = src[np.uint64(corner + strip[v])]
            d += length
            corner += row_step


def _col2im_loop(cols, kernel, stride, padding, strip, by_tap, x_pad, window, x):  # noqa: ANN001
    n_, h, w, c_ = x.shape  # x: channels-last
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    m = c_ * kh * kw  # numbers per window
    xf, cf = x.reshape(-1), cols.reshape(-1)
    if ho == 1 and wo == 1 and ph == 0 and pw == 0 and kh == h and kw == w:  # one window, all of x
        for n in range(n_):
            for v in range(m):
                xf[np.uint64(n * m + v)] = cf[np.uint64(n * m + by_tap[v])]
        return
    wp = w + 2 * pw
    run = kw * c_  # numbers in a row of a window, (i, j, ch) order
    d = 0
    for n in range(n_):
        for e in range(x_pad.size):
            x_pad[e] = 0
        for a in range(ho):
            corner = sh * a * wp * c_
            if c_ >= 4:
                for b in range(wo):
                    for v in range(m):
                        window[v] = cf[np.uint64(d + by_tap[v])]
                    for i in range(kh):
                        o = corner + (i * wp + sw * b) * c_
                        for e in range(run):
                            x_pad[np.uint64(o + e)] += window[np.uint64(i * run + e)]
                    d += m
            else:
                for v in range(wo * m):
                    x_pad[np.uint64(corner + strip[v])] += cf[np.uint64(d + v)]
                d += wo * m
        for r in range(h):  # the inside of x_pad is the sample
            o, s = ((r + ph) * wp + pw) * c_, (n * h + r) * w * c_
            for e in range(w * c_):
                xf[np.uint64(s + e)] = x_pad[np.uint64(o + e)]


_im2col_compiled = compiled(_im2col_loop)
_col2im_compiled = compiled(_col2im_loop)


def _kept(build: Any) -> Any:
    """``build``'s table of offsets, made once per geometry (its arguments), flat int64, read-only:
    shared by every call of that geometry (at most 256 geometries are kept)."""
    tables: dict[tuple, Any] = {}

    def table(*geometry: Any) -> Any:
        values = tables.get(geometry)
        if values is None:
            if len(tables) >= 256:
                tables.clear()
            values = np.ascontiguousarray(build(*geometry), dtype=np.int64).reshape(-1)
            values.flags.writeable = False
            tables[geometry] = values
        return values  # the local one: another thread's clear() cannot take it away

    table.__doc__ = build.__doc__
    return table


@_kept
def _strip(windows: int, channels: int, kernel: Pair, column_stride: int, strides: tuple[int, int, int]) -> Any:
    """Entry (b, ch, i, j): the offset of x[sh a + i, sw b + j, ch] from x[sh a, 0, 0] in memory of
    (row, column, channel) strides ``strides``: all the numbers of an output row, in order."""
    tr, tq, tc = strides
    b, ch, i, j = np.ix_(range(windows), range(channels), range(kernel[0]), range(kernel[1]))
    return i * tr + (column_stride * b + j) * tq + ch * tc


@_kept
def _by_tap(channels: int, taps: int) -> Any:
    """Entry (t, ch): where tap t of channel ch is in a window's row, ch kh kw + t."""
    t, ch = np.ix_(range(taps), range(channels))
    return ch * taps + t


@_kept
def _row_offsets(width: int, channels: int, column_stride: int, channel_stride: int) -> Any:
    """Entry (q, ch): the offset of x[., ch, ., q] from the start of its image row."""
    q, ch = np.ix_(range(width), range(channels))
    return q * column_stride + ch * channel_stride


def _output_size(shape: tuple, kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    """(Ho, Wo); refuses a kernel larger than the padded input, as the reference does (its arrays of
    negative size raise): the loops trust their sizes."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = conv_output_size(shape[2], kh, sh, ph), conv_output_size(shape[3], kw, sw, pw)
    if ho < 0 or wo < 0:
        raise ValueError(f"negative dimensions are not allowed: kernel {kernel} on {tuple(shape)} padded by {padding}")
    return ho, wo


def _flat_pixels(x: Any) -> tuple[Any, tuple[int, int, int, int]]:
    """x's memory as a flat array and the element strides of its (n, ch, row, column) axes: a view of
    a channels-last or C-contiguous NCHW x, a channels-last copy of any other."""
    n, c, h, w = x.shape
    channels_last = x.transpose(0, 2, 3, 1)
    if x.flags.c_contiguous and not channels_last.flags.c_contiguous:
        return x.reshape(-1), (c * h * w, h * w, w, 1)
    return np.ascontiguousarray(channels_last).reshape(-1), (h * w * c, 1, w * c, c)


def _im2col_fast(x: Any, kernel: Pair, stride: Pair, padding: Pair) -> Any:
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    ho, wo = _output_size(x.shape, kernel, stride, padding)
    cols = np.empty((n * ho * wo, c * kh * kw), dtype=x.dtype)
    if cols.size == 0:
        return cols
    flat, strides = _flat_pixels(x)
    padded = ph > 0 or pw > 0
    wp = w + 2 * pw
    # the windows are read from x_pad (channels-last) or, unpadded, from x itself
    read = (wp * c, c, 1) if padded else (strides[2], strides[3], strides[1])
    x_pad = np.zeros(((h + 2 * ph) * wp * c) if padded else 1, dtype=x.dtype)
    row_offsets = _row_offsets(w, c, strides[3], strides[1])
    strip = _strip(wo, c, (kh, kw), sw, read)
    _im2col_compiled(flat, (n, c, h, w), strides, (ph, pw), row_offsets, strip, ho, sh * read[0], x_pad, cols)
    return cols


def _col2im_fast(cols: Any, shape: tuple[int, int, int, int], kernel: Pair, stride: Pair, padding: Pair) -> Any:
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = shape
    ho, wo = _output_size(shape, kernel, stride, padding)
    cols = np.ascontiguousarray(cols).reshape(n * ho * wo, c * kh * kw)  # a mismatch raises, as in the reference
    pixels = np.empty((n, h, w, c), dtype=cols.dtype)
    if pixels.size:
        hp, wp = h + 2 * ph, w + 2 * pw
        x_pad = np.empty(hp * wp * c, dtype=cols.dtype)
        window = np.empty(c * kh * kw, dtype=cols.dtype)
        strip = _strip(wo, c, (kh, kw), sw, (wp * c, c, 1))
        _col2im_compiled(cols, (kh, kw), (sh, sw), (ph, pw), strip, _by_tap(c, kh * kw), x_pad, window, pixels)
    return pixels.transpose(0, 3, 1, 2)  # NCHW values in channels-last memory


im2col = Primitive("im2col", _im2col_reference, _im2col_compiled and _im2col_fast)
col2im = Primitive("col2im", _col2im_reference, _col2im_compiled and _col2im_fast)

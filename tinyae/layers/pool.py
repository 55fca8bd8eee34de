r"""Max pooling and nearest-neighbour upsampling of NCHW images.

Max pooling reuses the convolution's machinery: im2col lays every window out as a row
of (channel, tap) entries, the forward pass takes the max over each channel's taps, and the
backward pass routes each gradient to its window's arg-max and scatters it back with col2im.
"""

from __future__ import annotations

from typing import Any

from .. import backend, kernels
from ..backend import device_of
from ..module import Module
from ._checks import check_batch
from .conv import conv_output_size, from_pixel_rows, pixel_rows, to_pair

__all__ = ["MaxPool2D", "Upsample2D"]


class MaxPool2D(Module):
    r"""Max over each kh x kw window, per sample and channel (``torch.nn.MaxPool2d`` without padding).

    Forward, for x of shape (N, C, H, W), stride s (default: the kernel size):

        y[n, c, a, b] = max_{i < kh, j < kw} x[n, c, s a + i, s b + j]

    with y of shape (N, C, Ho, Wo), Ho = (H - kh) // sh + 1 (Wo likewise). Windows may
    overlap (stride < kernel) or leave gaps (stride > kernel).

    Backward, given g = dL/dy: the max is locally the value at its arg-max, so

        dL/dx[n, c, s a + i*, s b + j*] += g[n, c, a, b]      (i*, j*) = the window's arg-max

    and every other element of the window gets 0. Where windows overlap, an element that
    is the arg-max of several windows receives the sum of their gradients.

    Ties: when several elements of a window share the max, the gradient goes to the first
    of them in row-major window order (smallest i, then smallest j), as PyTorch does on CPU.
    The max is not differentiable at a tie; this is one valid subgradient.
    """

    def __init__(self, kernel_size: Any, stride: Any = None) -> None:
        super().__init__()
        self.kernel_size = to_pair("MaxPool2D", "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else to_pair("MaxPool2D", "stride", stride, 1)
        self._cache: Any = None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(N, C, Ho, Wo) for an input (N, C, H, W); raises ValueError when Ho or Wo is below 1."""
        n, c, h, w = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ho, wo = conv_output_size(h, kh, sh, 0), conv_output_size(w, kw, sw, 0)
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{self!r}: the window {kh}x{kw} is larger than the input {h}x{w}; "
                f"the output would be {ho}x{wo}, expected at least 1x1"
            )
        return n, c, ho, wo

    def forward(self, x: Any) -> Any:
        """y = max over each window (im2col, then a max over each channel's taps)."""
        xp = check_batch(self, x, ndim=4)
        n, c, ho, wo = self.output_shape(tuple(x.shape))
        taps = self.kernel_size[0] * self.kernel_size[1]
        # (N Ho Wo, C kh kw) -> (N Ho Wo, C, kh kw): one row of taps per window and channel
        windows = xp.reshape(kernels.im2col(x, self.kernel_size, self.stride, (0, 0)), (-1, c, taps))
        self._cache = (xp.argmax(windows, axis=2), tuple(x.shape))
        return from_pixel_rows(xp.max(windows, axis=2), n, ho, wo)

    def backward(self, grad_out: Any) -> Any:
        """dL/dx = col2im of g placed at each window's arg-max (zeros elsewhere)."""
        argmax, in_shape = self._cached(self._cache)
        n, c, ho, wo = self.output_shape(in_shape)
        self._check_grad(grad_out, (n, c, ho, wo), like=argmax)  # the backend only: argmax holds integers
        xp = backend.array_module(grad_out)
        taps = self.kernel_size[0] * self.kernel_size[1]
        g = xp.reshape(pixel_rows(grad_out), (-1, c, 1))  # (N Ho Wo, C, 1)
        tap = xp.reshape(xp.arange(taps, device=device_of(grad_out)), (1, 1, taps))
        is_max = xp.astype(tap == xp.reshape(argmax, (-1, c, 1)), grad_out.dtype)  # one-hot over taps
        dcols = xp.reshape(is_max * g, (-1, c * taps))
        return kernels.col2im(dcols, in_shape, self.kernel_size, self.stride, (0, 0))


class Upsample2D(Module):
    r"""Nearest-neighbour upsampling by integer factors (``torch.nn.Upsample(mode="nearest")``).

    ``scale_factor`` is an int s (sh = sw = s) or a pair (sh, sw).
    Forward, for x of shape (N, C, H, W): every pixel becomes an sh x sw block,

        y[n, c, a, b] = x[n, c, a // sh, b // sw]          y: (N, C, sh H, sw W)

    Backward, given g = dL/dy: each input pixel was copied to the sh x sw block it
    becomes, so its gradient is the sum of g over that block,

        dL/dx[n, c, h, w] = sum_{i < sh, j < sw} g[n, c, sh h + i, sw w + j]
    """

    def __init__(self, scale_factor: Any) -> None:
        super().__init__()
        self.scale_factor = to_pair("Upsample2D", "scale_factor", scale_factor, 1)
        # the input's shape, and an empty array of its backend and dtype for backward's checks
        # (keeping x itself would hold a whole activation until the next forward)
        self._input: tuple[tuple[int, ...], Any] | None = None

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}"

    def forward(self, x: Any) -> Any:
        """y = x with every pixel repeated into an sh x sw block."""
        xp = check_batch(self, x, ndim=4)
        n, c, h, w = x.shape
        sh, sw = self.scale_factor
        self._input = (tuple(x.shape), xp.empty((0,), dtype=x.dtype, device=device_of(x)))
        # (N, C, H, 1, W, 1) broadcast to (N, C, H, sh, W, sw): pixel (h, w) fills block (h, :, w, :)
        pixels = xp.reshape(x, (n, c, h, 1, w, 1))
        return xp.reshape(xp.broadcast_to(pixels, (n, c, h, sh, w, sw)), (n, c, h * sh, w * sw))

    def backward(self, grad_out: Any) -> Any:
        """dL/dx = g summed over each sh x sw block."""
        (n, c, h, w), like = self._cached(self._input)
        sh, sw = self.scale_factor
        self._check_grad(grad_out, (n, c, h * sh, w * sw), like=like)
        xp = backend.array_module(grad_out)
        blocks = xp.reshape(grad_out, (n, c, h, sh, w, sw))
        return xp.sum(blocks, axis=(3, 5))

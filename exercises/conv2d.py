"""Exercise: the backward pass of a 2-D convolution, written with im2col.

Check your answer:   tinyae check exercises/conv2d.py::Conv2D
The derivation:      docs/conv2d.md

The forward pass turns the convolution into ONE matrix product. Every output pixel (n, a, c)
looks at one kh x kw window of the zero-padded input, across all C channels; im2col copies
each window into a row:

    X  = im2col(x)       shape (N Ho Wo, C kh kw)    one row per output pixel
    Wm = W as a matrix   shape (O, C kh kw)          one row per output channel
    Y  = X Wm^T + b      shape (N Ho Wo, O)          the output, one row per output pixel

The helpers: im2col(x, kernel, stride, padding) makes X from NCHW images x (columns in the
order channel, kernel row, kernel column, as torch's unfold); col2im(cols, x_shape, kernel,
stride, padding) is its adjoint: it adds every entry of a (N Ho Wo, C kh kw) matrix back onto
the input element it was copied from (overlapping windows add up), dropping the padding, and
returns NCHW images of x_shape. pixel_rows(g) turns (N, O, Ho, Wo) images into the (N Ho Wo, O)
matrix with one row per pixel, and from_pixel_rows(Y, N, Ho, Wo) turns it back. weight_matrix
and weight_tensor below convert W between its (O, C, kh, kw) layout and the matrix Wm.
"""

from __future__ import annotations

import tinyae as ae
from tinyae.kernels import col2im, im2col  # noqa: F401  (col2im: for your backward)
from tinyae.layers.conv import from_pixel_rows, pixel_rows  # noqa: F401  (pixel_rows: likewise)


def weight_matrix(w):
    """W of shape (O, C, kh, kw) -> the matrix Wm of shape (O, C kh kw), columns in im2col's order."""
    return ae.array_module(w).reshape(w, (w.shape[0], -1))


def weight_tensor(m, shape):
    """The inverse of weight_matrix: a (O, C kh kw) matrix -> a tensor of ``shape`` = (O, C, kh, kw)."""
    return ae.array_module(m).reshape(m, shape)


class Conv2D(ae.Conv2D):
    """Convolution of NCHW images, like torch.nn.Conv2d. ``tinyae.Conv2D`` gives the parameters:

        self.weight.data   W, shape (O, C, kh, kw)   self.weight.grad  dL/dW, same shape
        self.bias.data     b, shape (O,)             self.bias.grad    dL/db, same shape
        self.kernel_size, self.stride, self.padding: pairs (kh, kw), (sh, sw), (ph, pw)
    """

    exercise = "conv2d"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = conv(x, W) + b for x of shape (N, C, H, W); y has shape (N, O, Ho, Wo),
        Ho = (H + 2 ph - kh) // sh + 1 (Wo likewise). Given: it keeps X and x's shape for backward."""
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        cols = im2col(x, self.kernel_size, self.stride, self.padding)  # X: (N Ho Wo, C kh kw)
        y = cols @ weight_matrix(self.weight.data).T + self.bias.data  # Y: (N Ho Wo, O)
        self._cache = (cols, tuple(x.shape))
        return from_pixel_rows(y, n, ho, wo)  # (N, O, Ho, Wo)

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy of shape (N, O, Ho, Wo), and from forward
        cols, x_shape = self._cache  (X, and the input's shape (N, C, H, W)):

            G     = g as a matrix, one row per output pixel:
                    pixel_rows(grad_out)                           shape (N Ho Wo, O)
            dL/dW = G^T X      shape (O, C kh kw): weight_tensor(..., W.shape), add to self.weight.grad
            dL/db = the sum of G over its rows              shape (O,):       add to self.bias.grad
            dL/dX = G Wm       shape (N Ho Wo, C kh kw)
            dL/dx = col2im(dL/dX, x_shape, ...) (with this layer's kernel, stride and padding)
                                                            shape (N, C, H, W): return it

        Use xp = ae.array_module(grad_out) for array functions (xp.reshape, xp.sum), not numpy.
        The check draws kernels 1-4, strides 1-3 and paddings 0-2 (ints or pairs). A correct
        answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("Conv2D.backward: add dL/dW and dL/db to the grads, return dL/dx")

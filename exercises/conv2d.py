"""Exercise: the backward pass of a 2-D convolution, written with im2col.

Check your answer:   tinyae check exercises/conv2d.py::Conv2D
The derivation:      docs/conv2d.md

The forward pass turns the convolution into ONE matrix product. Every output pixel (n, a, c)
looks at one kh x kw window of the zero-padded input, across all C channels; im2col copies
each window into a row:

    X  = im2col(x)       shape (N Ho Wo, kh kw C)    one row per output pixel
    Wm = W as a matrix   shape (O, kh kw C)          one row per output channel
    Y  = X Wm^T + b      shape (N Ho Wo, O)          the output, one row per output pixel

The helpers (from tinyae.layers.conv) work channels-last, on (N, H, W, C) arrays:
conv.to_nhwc / conv.to_nchw switch layouts (free views); conv.im2col(x_nhwc, kernel, stride,
padding) makes X; conv.col2im(cols, x_nhwc_shape, kernel, stride, padding) is its adjoint: it
adds every entry of a (N Ho Wo, kh kw C) matrix back onto the input element it was copied
from (overlapping windows add up) and drops the padding. weight_matrix and weight_tensor
below convert W between its (O, C, kh, kw) layout and the (O, kh kw C) matrix.
"""

from __future__ import annotations

import tinyae as ae
from tinyae.layers import conv


def weight_matrix(w):
    """W of shape (O, C, kh, kw) -> the matrix Wm of shape (O, kh kw C), columns in im2col's order."""
    xp = ae.array_module(w)
    o, c, kh, kw = w.shape
    return xp.reshape(xp.permute_dims(w, (0, 2, 3, 1)), (o, kh * kw * c))


def weight_tensor(m, shape):
    """The inverse of weight_matrix: a (O, kh kw C) matrix -> a tensor of ``shape`` = (O, C, kh, kw)."""
    xp = ae.array_module(m)
    o, c, kh, kw = shape
    return xp.permute_dims(xp.reshape(m, (o, kh, kw, c)), (0, 3, 1, 2))


class Conv2D(ae.Conv2D):
    """Convolution of NCHW images, like torch.nn.Conv2d. ``tinyae.Conv2D`` gives the parameters:

        self.weight.data   W, shape (O, C, kh, kw)   self.weight.grad  dL/dW, same shape
        self.bias.data     b, shape (O,)             self.bias.grad    dL/db, same shape
        self.kernel_size, self.stride, self.padding: pairs (kh, kw), (sh, sw), (ph, pw)
    """

    exercise = "conv2d"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = conv(x, W) + b for x of shape (N, C, H, W); y has shape (N, O, Ho, Wo),
        Ho = (H + 2 ph - kh) // sh + 1 (Wo likewise). Given: it keeps X and the shapes for backward."""
        xp = ae.array_module(x)
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        x_nhwc = conv.to_nhwc(x)  # (N, H, W, C)
        cols = conv.im2col(x_nhwc, self.kernel_size, self.stride, self.padding)  # X: (N Ho Wo, kh kw C)
        y = cols @ weight_matrix(self.weight.data).T + self.bias.data  # Y: (N Ho Wo, O)
        self._cache = (cols, tuple(x_nhwc.shape), (n, o, ho, wo))
        return conv.to_nchw(xp.reshape(y, (n, ho, wo, o)))  # (N, O, Ho, Wo)

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy of shape (N, O, Ho, Wo), and from forward
        cols, x_nhwc_shape, y_shape = self._cache  (X, the input's (N, H, W, C), and y's shape):

            G     = g as a matrix, one row per output pixel:
                    xp.reshape(conv.to_nhwc(g), (-1, O))          shape (N Ho Wo, O)
            dL/dW = G^T X      shape (O, kh kw C): weight_tensor(..., W.shape), add to self.weight.grad
            dL/db = the sum of G over its rows              shape (O,):       add to self.bias.grad
            dL/dX = G Wm       shape (N Ho Wo, kh kw C)
            dL/dx = col2im(dL/dX) (with this layer's kernel, stride and padding),
                    back to NCHW with conv.to_nchw                 shape (N, C, H, W): return it

        Use xp = ae.array_module(grad_out) for array functions (xp.reshape, xp.sum), not numpy.
        The check draws kernels 1-4, strides 1-3 and paddings 0-2 (ints or pairs). A correct
        answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("Conv2D.backward: add dL/dW and dL/db to the grads, return dL/dx")

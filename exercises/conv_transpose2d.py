"""Exercise: the backward pass of a 2-D transposed convolution, the adjoint of Conv2D.

Check your answer:   tinyae check exercises/conv_transpose2d.py::ConvTranspose2D
The derivation:      docs/conv-transpose2d.md (read docs/conv2d.md and exercises/conv2d.py first)

A transposed convolution is a Conv2D's backward pass run forward: each input pixel x[n, ch, a, c]
stamps the kernel W[ch, :, :, :], scaled by its value, onto the output at rows sh a - ph + i and
columns sw c - pw + j, and the stamps add up. In matrices, with one row per INPUT pixel:

    Xm     = x as a matrix    shape (N H W, C)           pixel_rows(x)
    Wm     = W as a matrix    shape (C, O kh kw)         weight_matrix(W), columns (o, i, j)
    stamps = Xm Wm            shape (N H W, O kh kw)     one stamp (an O x kh x kw patch) per row
    y      = col2im(stamps) + b                          shape (N, O, Ho, Wo)

col2im adds every stamp onto the output, dropping what falls on the padding; that is Conv2D's
dL/dx = col2im(G Wm) with Xm in the place of G. The backward pass swaps the roles the other way:
im2col, the adjoint of col2im, turns g = dL/dy into one row per input pixel.

The helpers (as in exercises/conv2d.py): im2col(x, kernel, stride, padding) makes the
(N H W, O kh kw) matrix of windows of NCHW images x (here the windows of g: the output is to
this layer what the input is to a Conv2D); col2im(cols, shape, kernel, stride, padding) is its
adjoint. pixel_rows(g) turns (N, O, Ho, Wo) images into the (N Ho Wo, O) matrix with one row per
pixel, and from_pixel_rows(M, N, H, W) turns an (N H W, C) matrix back into (N, C, H, W) images.
weight_matrix and weight_tensor convert W between its (C, O, kh, kw) layout and the matrix Wm.
"""

from __future__ import annotations

import tinyae as ae
from tinyae.kernels import col2im, im2col  # noqa: F401  (im2col: for your backward)
from tinyae.layers.conv import from_pixel_rows, pixel_rows  # noqa: F401  (from_pixel_rows: likewise)


def weight_matrix(w):
    """W of shape (C, O, kh, kw) -> the matrix Wm of shape (C, O kh kw), columns in im2col's order."""
    return ae.array_module(w).reshape(w, (w.shape[0], -1))


def weight_tensor(m, shape):
    """The inverse of weight_matrix: a (C, O kh kw) matrix -> a tensor of ``shape`` = (C, O, kh, kw)."""
    return ae.array_module(m).reshape(m, shape)


class ConvTranspose2D(ae.ConvTranspose2D):
    """Transposed convolution of NCHW images, like torch.nn.ConvTranspose2d. ``tinyae.ConvTranspose2D``
    gives the parameters (note the weight's layout: in, out):

        self.weight.data   W, shape (C, O, kh, kw)   self.weight.grad  dL/dW, same shape
        self.bias.data     b, shape (O,)             self.bias.grad    dL/db, same shape
        self.kernel_size, self.stride, self.padding, self.output_padding: pairs (kh, kw), (sh, sw), ...
    """

    exercise = "conv_transpose2d"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = col2im(Xm Wm) + b for x of shape (N, C, H, W); y has shape (N, O, Ho, Wo),
        Ho = (H - 1) sh - 2 ph + kh + output_padding_h (Wo likewise). Given: it keeps Xm and x's shape."""
        xp = ae.array_module(x)
        n, o, ho, wo = self.output_shape(tuple(x.shape))
        xm = pixel_rows(x)  # Xm: (N H W, C)
        stamps = xm @ weight_matrix(self.weight.data)  # Xm Wm: (N H W, O kh kw)
        y = col2im(stamps, (n, o, ho, wo), self.kernel_size, self.stride, self.padding)  # (N, O, Ho, Wo)
        self._cache = (xm, tuple(x.shape))
        return y + xp.reshape(self.bias.data, (1, o, 1, 1))  # + b at every output pixel

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy of shape (N, O, Ho, Wo), and from forward
        xm, x_shape = self._cache  (Xm, and the input's shape (N, C, H, W)):

            Gc    = im2col(grad_out, ...) (with this layer's kernel, stride and padding)
                                                              shape (N H W, O kh kw)
            dL/dW = Xm^T Gc      shape (C, O kh kw): weight_tensor(..., W.shape), add to self.weight.grad
            dL/db = the sum of g over n and every output pixel, shape (O,):  add to self.bias.grad
                    (the sum of the rows of pixel_rows(grad_out))
            dL/dX = Gc Wm^T      shape (N H W, C), one row per input pixel
            dL/dx = from_pixel_rows(dL/dX, N, H, W)           shape (N, C, H, W): return it

        Use xp = ae.array_module(grad_out) for array functions (xp.reshape, xp.sum), not numpy.
        The check draws kernels 1-4, strides 1-3, paddings 0-2 (ints or pairs) and output paddings
        below the stride. A correct answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("ConvTranspose2D.backward: add dL/dW and dL/db to the grads, return dL/dx")

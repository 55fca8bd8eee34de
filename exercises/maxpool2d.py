"""Exercise: the backward pass of 2-D max pooling, written with im2col/col2im.

Check your answer:   tinyae check exercises/maxpool2d.py::MaxPool2D
The derivation:      docs/pooling.md

Every output pixel (n, ch, a, b) is the max of one kh x kw window of channel ch of the input
(no padding). The forward pass lays the windows out with im2col, as a convolution does:

    X       = im2col(x)                      shape (N Ho Wo, C kh kw)   one row per output pixel
    windows = X reshaped                     shape (N Ho Wo, C, kh kw)  the kh kw taps of each window
    y       = the max over the taps          shape (N Ho Wo, C), as (N, C, Ho, Wo) images
    argmax  = the tap of the max             shape (N Ho Wo, C), integers t = i kw + j

Row r = (n Ho + a) Wo + b of these matrices is output pixel (a, b) of sample n (pixel_rows'
order), and tap t of it is the input element x[n, ch, sh a + i, sw b + j], i = t // kw, j = t % kw.

The helpers: im2col(x, kernel, stride, padding) and its adjoint col2im(cols, x_shape, kernel,
stride, padding), which adds every entry of a (N Ho Wo, C kh kw) matrix back onto the input
element it was copied from (overlapping windows add up) and returns NCHW images of x_shape;
pixel_rows(g) turns (N, C, Ho, Wo) images into the (N Ho Wo, C) matrix with one row per pixel.
"""

from __future__ import annotations

import tinyae as ae
from tinyae.backend import device_of  # noqa: F401  (for your backward: new arrays beside grad_out)
from tinyae.kernels import col2im, im2col  # noqa: F401  (col2im: for your backward)
from tinyae.layers.conv import from_pixel_rows, pixel_rows  # noqa: F401  (pixel_rows: likewise)


class MaxPool2D(ae.MaxPool2D):
    """Max pooling of NCHW images, like torch.nn.MaxPool2d without padding; no parameters.

    self.kernel_size, self.stride: pairs (kh, kw), (sh, sw) (the stride defaults to the kernel size).
    Windows overlap when the stride is smaller than the kernel, and leave gaps when it is larger.
    """

    exercise = "maxpool2d"  # tells `tinyae check` which gradient check to run

    def forward(self, x):
        """y = the max over each window for x of shape (N, C, H, W); y has shape (N, C, Ho, Wo),
        Ho = (H - kh) // sh + 1 (Wo likewise). Given: it keeps the argmax and x's shape for backward."""
        xp = ae.array_module(x)
        n, c, ho, wo = self.output_shape(tuple(x.shape))
        taps = self.kernel_size[0] * self.kernel_size[1]
        cols = im2col(x, self.kernel_size, self.stride, (0, 0))  # X: (N Ho Wo, C kh kw)
        windows = xp.reshape(cols, (-1, c, taps))  # (N Ho Wo, C, kh kw)
        self._cache = (xp.argmax(windows, axis=2), tuple(x.shape))  # argmax: (N Ho Wo, C)
        return from_pixel_rows(xp.max(windows, axis=2), n, ho, wo)  # (N, C, Ho, Wo)

    def backward(self, grad_out):
        """Given g = grad_out = dL/dy of shape (N, C, Ho, Wo), and from forward
        argmax, x_shape = self._cache  (argmax of shape (N Ho Wo, C), the input's shape (N, C, H, W)):

        Near x, the max of a window IS its element at the argmax (i*, j*), so g goes there alone:

            dL/dx[n, ch, sh a + i*, sw b + j*] += g[n, ch, a, b]      every other element of the window: 0

        and an element that is the max of several (overlapping) windows gets the SUM of their g's.
        In columns: dL/dX, shape (N Ho Wo, C kh kw), columns in im2col's order (ch, tap), is

            dL/dX[r, ch kh kw + t] = G[r, ch] if t == argmax[r, ch], else 0      G = pixel_rows(grad_out)
            dL/dx = col2im(dL/dX, x_shape, self.kernel_size, self.stride, (0, 0))    shape (N, C, H, W)

        and col2im does the adding where windows overlap. Return dL/dx. One way, with
        xp = ae.array_module(grad_out) (not numpy): the tap numbers as a (1, 1, kh kw) array,
        xp.reshape(xp.arange(kh * kw, device=device_of(grad_out)), (1, 1, -1)), compared (==) with
        argmax as (N Ho Wo, C, 1) give a one-hot mask (xp.astype(..., grad_out.dtype)); times G as
        (N Ho Wo, C, 1), reshaped to (N Ho Wo, C kh kw), it is dL/dX.

        The check draws inputs without ties (values in a window differ by far more than the finite
        differences' step). A correct answer scores an error of ~1e-9 or better; the tolerance is 1e-6.
        """
        # YOUR CODE HERE
        raise NotImplementedError("MaxPool2D.backward: return dL/dx")

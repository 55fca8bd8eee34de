"""Lecture demo 'superres': learn to undo a 2x downscale, and compare with nearest and bilinear.

Each image is shrunk by 2x2 average pooling (28x28 -> 14x14; the 8x8 digits -> 4x4) and a small
convolutional encoder-decoder is trained on the pairs (low-res in, the original out):

    encoder: Conv2D(1, 32, 3, padding=1), ReLU        14x14 -> 32 feature maps of 14x14
    decoder: ConvTranspose2D(32, 1, 4, stride=2, padding=1), Sigmoid    -> 1 x 28 x 28

It is an :class:`~tinyae.Autoencoder` whose target is not its input: ``fit(..., targets=)``
trains it to output the original for each low-res input. The baselines are
fixed maps with nothing to learn: nearest neighbour (each low-res pixel becomes a 2x2 block) and
bilinear interpolation with half-pixel centres, as PIL and OpenCV resize.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import plot
from ..layers import Conv2D, ConvTranspose2D, ReLU, Sigmoid
from ..models import Autoencoder
from ..module import Sequential
from .core import Context, apply_model, demo, psnr

__all__ = ["bilinear_matrix", "downscale", "upscale_bilinear", "upscale_nearest"]


# --------------------------------------------------------------------------- #
# The fixed maps: downscaling and the two classical upscalers
# --------------------------------------------------------------------------- #
def downscale(x: np.ndarray, factor: int = 2) -> np.ndarray:
    """Average pooling over factor x factor blocks: (N, C, H, W) -> (N, C, H // f, W // f).
    A last row or column that does not fill a block is dropped (crop the target the same way)."""
    n, c, h, w = x.shape
    h, w = h // factor * factor, w // factor * factor
    blocks = x[:, :, :h, :w].reshape(n, c, h // factor, factor, w // factor, factor)
    return blocks.mean(axis=(3, 5))


def upscale_nearest(x: np.ndarray, factor: int = 2) -> np.ndarray:
    """Nearest neighbour: every pixel becomes a factor x factor block of its value."""
    return np.repeat(np.repeat(x, factor, axis=-2), factor, axis=-1)


def bilinear_matrix(n_in: int, factor: int = 2) -> np.ndarray:
    """The (n_in * factor, n_in) matrix of 1-D linear interpolation with half-pixel centres.

    Output pixel i sits at input coordinate s = (i + 1/2) / factor - 1/2; it takes
    (1 - t) of input pixel floor(s) and t of the next, t = s - floor(s), the indices clamped to
    the edge (the edge pixel is repeated), as PIL's and OpenCV's bilinear resize do. For
    factor 2 each output pixel is 3/4 of its nearest input pixel and 1/4 of the next one.
    """
    a = np.zeros((n_in * factor, n_in), dtype=np.float64)
    for i in range(n_in * factor):
        s = (i + 0.5) / factor - 0.5
        j = math.floor(s)
        t = s - j
        a[i, min(max(j, 0), n_in - 1)] += 1.0 - t
        a[i, min(max(j + 1, 0), n_in - 1)] += t
    return a


def upscale_bilinear(x: np.ndarray, factor: int = 2) -> np.ndarray:
    """Bilinear upscaling of (..., H, W) images: separable, so one matrix per axis,
    Y = A_H X A_W^T (A from :func:`bilinear_matrix`)."""
    a_h = bilinear_matrix(x.shape[-2], factor)
    a_w = bilinear_matrix(x.shape[-1], factor)
    return (a_h @ x.astype(np.float64) @ a_w.T).astype(x.dtype)


# --------------------------------------------------------------------------- #
# The demo
# --------------------------------------------------------------------------- #
@demo("superres", "Super-resolution: learning to undo a 2x downscale")
def superres(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    _, height, width = ctx.shape
    h, w = height // 2 * 2, width // 2 * 2  # an odd last row or column is cropped from the targets
    crop = lambda x: x[:, :, :h, :w]  # noqa: E731
    x_train, x_val, x_test = crop(data.x_train), crop(data.x_val), crop(data.x_test)
    low_train, low_val, low_test = downscale(x_train), downscale(x_val), downscale(x_test)
    channels = 32
    model = Autoencoder(Sequential(Conv2D(1, channels, 3, padding=1), ReLU()),
                        Sequential(ConvTranspose2D(channels, 1, 4, stride=2, padding=1), Sigmoid()), loss="bce")
    epochs = ctx.epochs_for(3)
    history = ctx.train(model, low_train, low_val, epochs, lr=3e-3, label=f"conv {channels} + transposed conv",
                        targets=x_train, val_targets=x_val)
    upscaled = {
        "nearest": upscale_nearest(low_test),
        "bilinear": upscale_bilinear(low_test),
        "autoencoder": apply_model(model, model.forward, low_test),
    }
    db = {name: psnr(x_test, images) for name, images in upscaled.items()}
    shown = ctx.showcase()
    rows = [plot.actual_size(low_test[shown], (h, w))] + [images[shown] for images in upscaled.values()]
    rows.append(x_test[shown])
    labels = [f"low-res {h // 2}x{w // 2}\n(actual size)"]
    labels += [f"{name}\n{db[name]:.1f} dB" for name in upscaled]
    labels.append(f"original {h}x{w}")
    margin = db["autoencoder"] - db["bilinear"]
    title = (f"Super-resolution {h // 2}x{w // 2} -> {h}x{w} (2x2 average pooling undone): PSNR on the "
             f"{len(x_test)} test images\nthe learned model beats bilinear by {margin:.1f} dB")
    ctx.save(plot.image_rows(rows, labels, title, col_labels=ctx.class_labels(shown)), "superres_rows")
    return {"low_res_shape": [h // 2, w // 2], "high_res_shape": [h, w],
            "model": f"Conv2D(1, {channels}, 3, padding=1), ReLU | ConvTranspose2D({channels}, 1, 4, stride=2, "
                     "padding=1), Sigmoid; BCE",
            "epochs": history.epochs, "val_loss": history["val_loss"][-1],
            "psnr_nearest_db": db["nearest"], "psnr_bilinear_db": db["bilinear"],
            "psnr_model_db": db["autoencoder"], "model_minus_bilinear_db": margin}

"""Layers, one file per family. Each has a hand-written forward and backward pass.

Rules every layer keeps (the checks cost attribute look-ups only, no pass over the data):

* forward refuses an input that is not a floating-point array, or an empty batch (N = 0: "expected
  at least one sample", :func:`tinyae.layers._checks.check_batch`), naming the layer and the shape;
* backward refuses a gradient of another shape, backend or dtype than the forward pass's
  (``Module._check_grad(grad_out, shape, like=...)`` against an array that forward kept).
"""

from .activations import LeakyReLU, ReLU, Sigmoid, Tanh, sigmoid
from .conv import Conv2D, ConvTranspose2D
from .dense import Dense
from .dropout import Dropout
from .pool import MaxPool2D, Upsample2D
from .shape import Flatten, Reshape

__all__ = [
    "Conv2D",
    "ConvTranspose2D",
    "Dense",
    "Dropout",
    "Flatten",
    "LeakyReLU",
    "MaxPool2D",
    "ReLU",
    "Reshape",
    "Sigmoid",
    "Tanh",
    "Upsample2D",
    "sigmoid",
]

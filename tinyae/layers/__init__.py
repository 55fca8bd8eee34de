"""Layers, one file per family. Each has a hand-written forward and backward pass."""

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

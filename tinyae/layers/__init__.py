"""Layers, one file per family. Each has a hand-written forward and backward pass."""

from .activations import LeakyReLU, ReLU, Sigmoid, Tanh, sigmoid
from .dense import Dense
from .dropout import Dropout
from .shape import Flatten, Reshape

__all__ = ["Dense", "Dropout", "Flatten", "LeakyReLU", "ReLU", "Reshape", "Sigmoid", "Tanh", "sigmoid"]

"""The hot primitives under the layers, losses and optimizers: one obvious home for speed.

A layer, loss or optimizer reads as its page in docs/ derives it, and calls one of these where
the time goes:

=====================  ==================================================  ==============
primitive              what it computes                                    fast version
=====================  ==================================================  ==============
``adam_update``        one Adam/AdamW step, in place                       numba loop
``sgd_update``         one SGD step with momentum, in place                numba loop
``im2col``             a convolution's columns matrix (PyTorch's unfold)   numba loop
``col2im``             its adjoint: columns added back onto the image      numba loop
``sum_rows``           the sum of a matrix's rows (a bias gradient)        numba loop
``sigmoid``            1 / (1 + exp(-x)), safe for any x                   NumPy, out=
``bce``                binary cross-entropy on probabilities, floored      NumPy, out=
``bce_with_logits``    BCE on logits (softplus form) and its gradient      NumPy, out=, + loop
=====================  ==================================================  ==============

Each has a *reference* implementation in the array-API subset (it runs on NumPy, CuPy and the
strict backend, and is the tests' oracle) and a *fast* one for NumPy arrays, chosen by
measurement inside a training step. ``tinyae.kernels.use("reference")`` (or
``TINYAE_KERNELS=reference`` in the environment) makes every call take the reference path;
``use("fast")`` goes back. See :mod:`tinyae.kernels.dispatch`.
"""

from .conv import col2im, conv_output_size, im2col
from .dispatch import ENVIRONMENT_VARIABLE, MODES, Primitive, mode, primitives, use, using
from .elementwise import LOG_FLOOR, bce, bce_with_logits, sigmoid, sum_rows
from .optim import adam_update, sgd_update

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "LOG_FLOOR",
    "MODES",
    "Primitive",
    "adam_update",
    "bce",
    "bce_with_logits",
    "col2im",
    "conv_output_size",
    "im2col",
    "mode",
    "primitives",
    "sgd_update",
    "sigmoid",
    "sum_rows",
    "use",
    "using",
]

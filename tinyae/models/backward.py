"""The backward pass of a network whose input is the data: parameter gradients only.

A model's ``forward_backward`` runs its encoder's backward pass and throws the result, dL/dx,
away: nobody needs the gradient of the data. For the first layer of a network that gradient is
a third of the layer's matrix products (for the 784-512 Dense of an MNIST autoencoder, ~15% of
a training step), so :func:`backward_to_parameters` skips it, as PyTorch does for inputs that
do not require grad.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..layers import Conv2D, Dense, Flatten, Reshape
from ..module import Module, Sequential

# Pure reshapes: their backward is a reshape of the gradient, which is not needed here.
_RESHAPES = (Flatten, Reshape)
# Layers with a `_backward_parameters(grad_out)`: their backward without dL/dx. Exact types
# only: a subclass (an exercise, say) may have written its own backward, which must run.
_PARAMETERS_ONLY = (Dense, Conv2D)


def _leaves(module: Module) -> Iterator[Module]:
    """The layers a Sequential (nested ones too) runs, in order."""
    if type(module) is Sequential:
        for layer in module:
            yield from _leaves(layer)
    else:
        yield module


def backward_to_parameters(module: Module, grad_out: Any) -> None:
    """``module.backward(grad_out)`` for a module whose input is the data, without dL/dx.

    Every parameter gradient is accumulated as ``module.backward`` would. The layers run their
    backward in reverse down to the first one that is not a reshape; if that is a Dense or a
    Conv2D it accumulates its parameter gradients only, and the reshapes before it are skipped.
    Any other module runs its whole backward pass.
    """
    layers = list(_leaves(module))
    first = next((i for i, layer in enumerate(layers) if type(layer) not in _RESHAPES), len(layers))
    if first == len(layers) or type(layers[first]) not in _PARAMETERS_ONLY:
        module.backward(grad_out)
        return
    for layer in reversed(layers[first + 1 :]):
        grad_out = layer.backward(grad_out)
    layers[first]._backward_parameters(grad_out)

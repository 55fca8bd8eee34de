"""``model.summary(input_shape)``: the layer table PyTorch and Keras users look for.

One row per layer (a leaf of the module tree, in module order): its dotted name, what it is, the
shape it returns for one zero sample of ``input_shape`` (N stands for the batch), and the number
of scalars in its parameters; then the total, trainable and frozen counts.

The shapes come from one forward pass in eval mode: each layer's ``forward`` is wrapped for its
length to note what it returns, so the table shows what really flows, also through a model's own
wiring (a VAE's split into mu and logvar, a conditional VAE's labels).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backend
from .module import Module


@dataclass(frozen=True)
class LayerRow:
    name: str  # dotted, as in state_dict: "encoder.0"
    layer: str  # its class, e.g. "Dense"
    output_shape: tuple[int | str, ...] | None  # None: no input shape given, or the layer was not reached
    parameters: int
    frozen: bool


@dataclass(frozen=True)
class Summary:
    """The rows and the counts; ``print(summary)`` (or a notebook's display) shows the table."""

    model: str
    input_shape: tuple[int, ...] | None
    rows: tuple[LayerRow, ...]
    total: int
    trainable: int

    @property
    def frozen(self) -> int:
        return self.total - self.trainable

    def table(self) -> str:
        header = ("layer", "type", "output shape", "parameters")
        body = [(row.name, row.layer, _shape(row.output_shape), f"{row.parameters:,}" + (" (frozen)" * row.frozen))
                for row in self.rows]
        widths = [max(len(cells[k]) for cells in [header, *body]) for k in range(4)]

        def line(cells: tuple[str, ...]) -> str:
            left = [cell.ljust(width) for cell, width in zip(cells[:3], widths)]
            return "  ".join([*left, cells[3].rjust(widths[3])]).rstrip()

        rule = "-" * len(line(header))
        given = "" if self.input_shape is None else f", input (N, {', '.join(map(str, self.input_shape))})"
        lines = [f"{self.model}{given}", rule, line(header), rule, *map(line, body), rule,
                 f"Total parameters:     {self.total:,}",
                 f"Trainable parameters: {self.trainable:,}",
                 f"Frozen parameters:    {self.frozen:,}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    __repr__ = __str__


def _shape(shape: tuple[int | str, ...] | None) -> str:
    return "-" if shape is None else "(" + ", ".join(map(str, shape)) + ")"


def _leaves(module: Module) -> list[tuple[str, Module]]:
    """(dotted name, layer) for every module without children, in module order; a layer used twice
    (shared weights) is listed once, where it first appears, as its parameters are counted once."""
    return [(name or type(m).__name__, m) for name, m in module.named_modules() if next(m.named_children(), None)
            is None]


@contextlib.contextmanager
def _recording(leaves: list[tuple[str, Module]], shapes: dict[int, tuple[int, ...]]) -> Iterator[None]:
    """While inside, each leaf notes the shape it returns (its last call's) in ``shapes``."""

    def wrap(layer: Module) -> Any:
        forward = layer.forward

        def noting(x: Any, *args: Any, **kw: Any) -> Any:
            y = forward(x, *args, **kw)
            shapes[id(layer)] = tuple(y.shape)
            return y

        return noting

    for _, layer in leaves:
        layer.forward = wrap(layer)  # an instance attribute, found before the class's method
    try:
        yield
    finally:
        for _, layer in leaves:
            vars(layer).pop("forward", None)


def _trace(model: Module, leaves: list[tuple[str, Module]], input_shape: tuple[int, ...],
           forward_kw: dict[str, Any]) -> dict[int, tuple[int, ...]]:
    """Run one zero sample through ``model`` in eval mode; the mode of every module is restored."""
    params = model.parameters()
    if params:  # the sample goes where the parameters are, in their dtype
        host = np.zeros((1, *input_shape), dtype=backend.numpy_dtype(params[0].data))
        x = backend.to_backend(host, backend.backend_of(params[0].data))
    else:
        x = backend.to_backend(np.zeros((1, *input_shape), dtype=np.float32))
    modes = [(m, m.training) for m in model.modules()]
    shapes: dict[int, tuple[int, ...]] = {}
    model.eval()
    try:
        with _recording(leaves, shapes):
            model.forward(x, **forward_kw)
    except Exception as error:
        raise ValueError(f"summary: a zero input of shape (N, {', '.join(map(str, input_shape))}) does not "
                         f"run through {type(model).__name__}: {error}") from error
    finally:
        for m, mode in modes:
            m.training = mode
    return shapes


def summarize(model: Module, input_shape: tuple[int, ...] | None = None, **forward_kw: Any) -> Summary:
    """The :class:`Summary` of ``model`` (see :meth:`tinyae.Module.summary`)."""
    leaves = _leaves(model)
    shapes: dict[int, tuple[int, ...]] = {}
    if input_shape is not None:
        input_shape = tuple(int(s) for s in input_shape)
        shapes = _trace(model, leaves, input_shape, forward_kw)
    rows = []
    for name, layer in leaves:
        own = layer.parameters()
        shape = shapes.get(id(layer))
        rows.append(LayerRow(name, type(layer).__name__, None if shape is None else ("N", *shape[1:]),
                             sum(p.size for p in own), bool(own) and not any(p.trainable for p in own)))
    return Summary(type(model).__name__, input_shape, tuple(rows), model.num_parameters(),
                   model.num_parameters(trainable_only=True))

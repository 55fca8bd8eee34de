"""Parameter, Module and Sequential: the skeleton every layer and model hangs on.

There is no autodiff here. A module's ``forward`` caches what its ``backward``
needs; ``backward(dL/dy)`` returns ``dL/dx`` and *adds* ``dL/dθ`` into each
parameter's ``.grad``. Chaining backward calls in reverse order is the chain rule.

The one exception: a layer whose input is the data (the first layer of an encoder) need
not compute dL/dx, which nobody uses and which costs a third of its backward pass. While
its ``needs_input_grad`` flag is False its backward returns None instead; the models set it
for the length of their encoder's backward pass (:func:`skipping_input_gradient`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import backend
from .validation import check_same_backend


class Parameter:
    """A trainable array with its gradient.

    ``data`` is the array; ``grad`` is dL/d(data), an array of the same shape, dtype and
    backend: zeros at creation and after :meth:`zero_grad`, and every backward pass adds its
    contribution to it (``p.grad += ...``), so gradients of several passes sum up.

    ``data`` and ``grad`` may be reassigned (same shape, any float dtype of the backend, e.g.
    float64 for a gradient check): layers and optimizers read them at every call, so nothing
    holds a stale copy. New ``data`` of another dtype or backend gets a zero gradient to match.

    ``trainable`` (True at creation; :meth:`Module.freeze` / :meth:`Module.unfreeze` set it):
    optimizers leave a parameter that is not trainable as it is. Backward still adds its gradient,
    which is what the layers before it need anyway (dL/dx flows through a frozen layer).

    ``received_grad``: whether a gradient was added or assigned since creation or the last
    :meth:`zero_grad` (``p.grad += g`` assigns through the setter too). ``optimizer.step()`` warns
    when no parameter has one: a step on zero gradients, e.g. after ``loss.backward()``
    whose gradient was never passed to ``model.backward``. It costs no look at the array.
    """

    def __init__(self, data: Any, name: str = "") -> None:
        self._data = data
        self.name = name
        self._grad = backend.array_module(data).zeros_like(data)
        self.trainable = True
        self.received_grad = False

    @property
    def data(self) -> Any:
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._check_shape("data", value)
        self._data = value
        # Keep grad on the data's backend and dtype, so that backward's `grad += ...` never
        # mixes dtypes or devices.
        if backend.backend_of(self._grad) != backend.backend_of(value) or self._grad.dtype != value.dtype:
            self._grad = backend.array_module(value).zeros_like(value)
            self.received_grad = False

    @property
    def grad(self) -> Any:
        """dL/d(data) summed over the backward passes since the last :meth:`zero_grad`."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        self._check_shape("grad", value)
        self._grad = value
        self.received_grad = True

    def _check_shape(self, what: str, value: Any) -> None:
        if tuple(value.shape) != tuple(self._data.shape):
            raise ValueError(
                f"Parameter {self.name or '?'}: expected new {what} of shape {tuple(self._data.shape)}, "
                f"got {tuple(value.shape)}"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def size(self) -> int:
        """The number of scalars in ``data``."""
        return math.prod(self.shape)

    def zero_grad(self) -> None:
        """Set the gradient to zeros, in place (an array kept from ``p.grad`` becomes zeros too)."""
        self._grad[...] = 0.0
        self.received_grad = False

    def to(self, name: str) -> Parameter:
        self._data = backend.to_backend(self._data, name)
        self._grad = backend.to_backend(self._grad, name)  # the accumulated gradient moves too
        return self

    def __repr__(self) -> str:
        frozen = "" if self.trainable else ", frozen"
        return f"Parameter({self.name or '?'}, shape={self.shape}, dtype={self.data.dtype}{frozen})"


class Module:
    """Base class of layers and models.

    Subclasses implement ``forward(x)`` and ``backward(grad_out)``. Parameters and
    sub-modules assigned as attributes are found automatically, in the order they
    were assigned (so a layer lists ``weight`` before ``bias``).

    ``needs_input_grad`` (True by default): when False, a layer with parameters still adds
    dL/dθ to its parameters' gradients in ``backward`` but returns None instead of dL/dx
    (for a layer whose input is the data; see :func:`skipping_input_gradient`).
    """

    needs_input_grad = True  # False while the input is the data (skipping_input_gradient)

    def __init__(self) -> None:
        self.training = True

    # -- the two passes ---------------------------------------------------- #
    def __call__(self, x: Any) -> Any:
        return self.forward(x)

    def forward(self, x: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad_out: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def _cached(self, cache: Any) -> Any:
        """Return the forward cache, or raise if backward comes before forward."""
        if cache is None:
            raise RuntimeError(
                f"{self!r}: backward() was called before forward(); run forward on a batch first"
            )
        return cache

    def _check_grad(self, grad_out: Any, expected: tuple[int, ...], like: Any = None) -> None:
        """dL/dy must have the shape of the forward output y (broadcasting would hide a bug), and,
        given ``like`` (an array the forward pass kept), its backend and (for a float ``like``) dtype:
        a NumPy gradient for a layer on the GPU would otherwise fail deep inside the array library,
        and a float64 one would be rounded into float32 gradients without a word."""
        if tuple(grad_out.shape) != tuple(expected):
            raise ValueError(
                f"{self!r}: backward expected a gradient of shape {tuple(expected)} (the shape of the "
                f"forward output), got {tuple(grad_out.shape)}"
            )
        if like is not None:
            check_same_backend(self, grad_out, like, what="the forward pass's arrays", subject="the gradient")
            if grad_out.dtype != like.dtype and backend.array_module(like).isdtype(like.dtype, "real floating"):
                raise TypeError(
                    f"{self!r}: backward expected a gradient of dtype {like.dtype} (the forward pass's), "
                    f"got {grad_out.dtype}"
                )

    # -- the tree of modules and parameters --------------------------------- #
    def _members(self) -> Iterator[tuple[str, Any]]:
        """(name, value) of the attributes that may hold parameters, in assignment order."""
        yield from vars(self).items()

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in self._members():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs in module order, e.g. ``"0.weight"``.

        Attributes are visited in the order they were assigned, recursing into
        sub-modules; a parameter shared by two modules (tied weights) is listed once,
        so an optimizer updates it once.
        """
        yield from self._named_parameters(prefix, set())

    def _named_parameters(self, prefix: str, seen: set[int]) -> Iterator[tuple[str, Parameter]]:
        for name, value in self._members():
            if isinstance(value, Parameter) and id(value) not in seen:
                seen.add(id(value))
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value._named_parameters(prefix + name + ".", seen)

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("") and every sub-module in module order, each
        once: a module used twice (shared weights) where it first appears, as torch's named_modules."""
        seen: set[int] = set()

        def walk(module: Module, prefix: str) -> Iterator[tuple[str, Module]]:
            if id(module) in seen:
                return
            seen.add(id(module))
            yield prefix, module
            for name, child in module.named_children():
                yield from walk(child, f"{prefix}.{name}" if prefix else name)

        yield from walk(self, "")

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalars in the parameters (those not frozen, with ``trainable_only``)."""
        return sum(p.size for p in self.parameters() if p.trainable or not trainable_only)

    def freeze(self) -> Module:
        """Make every parameter of this module untrainable: optimizers leave them as they are (to
        train a new head on a fixed encoder, say). Gradients still flow through. A parameter shared
        with another module (tied weights) is one object, frozen wherever it is used. Returns self."""
        for p in self.parameters():
            p.trainable = False
        return self

    def unfreeze(self) -> Module:
        """Undo :meth:`freeze`: every parameter of this module is trained again. Returns self."""
        for p in self.parameters():
            p.trainable = True
        return self

    def summary(self, input_shape: tuple[int, ...] | None = None, **forward_kw: Any) -> Any:
        """One row per layer: its name, what it is, its output shape for an input of
        ``input_shape`` (one sample's shape, without the batch; omit it for the parameter counts
        only) and its parameter count; then the total, trainable and frozen counts. Returns a
        :class:`tinyae.summary.Summary`, which prints as the table. ``forward_kw`` go to the
        forward pass (a conditional VAE's ``labels``)."""
        from .summary import summarize  # summary.py builds on this module

        return summarize(self, input_shape, **forward_kw)

    # -- modes ---------------------------------------------------------------#
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    # -- backends and state ------------------------------------------------- #
    def to(self, name: str) -> Module:
        """Move every parameter (and gradient) to backend ``name``; returns self."""
        for p in self.parameters():
            p.to(name)
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        """NumPy copies of every parameter, keyed by dotted name in module order."""
        return {name: backend.to_numpy(p.data).copy() for name, p in self.named_parameters()}

    def check_state(self, described: dict[str, tuple[tuple[int, ...], Any]]) -> None:
        """Check a state, described as name -> (shape, NumPy dtype), against the parameters: the same
        names, the same shapes, floating-point values. Raises KeyError or ValueError naming the
        first mismatch. :meth:`load_state_dict` runs it on the arrays, ``tinyae.load`` on a
        checkpoint's headers before it reads any data."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in described]
        unexpected = [k for k in described if k not in own]
        if missing or unexpected:
            raise KeyError(f"keys do not match; missing {missing or 'none'}, unexpected {unexpected or 'none'}")
        for name, p in own.items():
            shape, dtype = described[name]
            if tuple(shape) != p.shape:
                raise ValueError(f"parameter {name!r} expected shape {p.shape}, got {tuple(shape)}")
            if not np.issubdtype(dtype, np.floating):
                raise ValueError(f"parameter {name!r} expected floating-point values, got dtype {dtype}")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load parameters by name. Everything is validated before anything is written,
        so a mismatched state leaves the module untouched."""
        host = {name: backend.to_numpy(value) for name, value in state.items()}
        try:
            self.check_state({name: (value.shape, value.dtype) for name, value in host.items()})
        except (KeyError, ValueError) as exc:
            raise type(exc)(f"{type(self).__name__}.load_state_dict: {exc.args[0]}") from None
        own = dict(self.named_parameters())
        converted = {name: host[name].astype(backend.numpy_dtype(p.data), copy=True) for name, p in own.items()}
        for name, p in own.items():  # all checked: now write
            p.data = backend.to_backend(converted[name], backend.backend_of(p.data))
            p.zero_grad()

    # -- display ------------------------------------------------------------- #
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse (the chain rule).

    ``y = f_L(...f_2(f_1(x)))``, so ``dL/dx = J_1^T (J_2^T (... J_L^T dL/dy))``.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def _members(self) -> Iterator[tuple[str, Any]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: Any) -> Any:
        for k in range(len(self.layers) - 1, -1, -1):
            grad_out = self.layers[k].backward(grad_out)
            if grad_out is None:  # layer k's input is the data (needs_input_grad is False): stop here
                _check_nothing_learns_before(self, k)
                return None
        return grad_out

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


def leaves(module: Module) -> Iterator[Module]:
    """The layers a Sequential (nested ones too) runs, in order; any other module, a subclass of
    Sequential with its own passes included, is one leaf."""
    if type(module) is Sequential:
        for layer in module:
            yield from leaves(layer)
    else:
        yield module


@contextlib.contextmanager
def skipping_input_gradient(module: Module) -> Iterator[Module | None]:
    """Inside: the first layer of ``module`` that has parameters takes the data as its input, and
    has ``needs_input_grad = False``: ``module.backward(g)`` still accumulates every parameter's
    gradient but stops there and returns None, without computing dL/dx (PyTorch skips it in the
    same way for inputs that do not require a gradient). Layers before it (a Flatten, say) have no
    parameters and are skipped too. After, even after an exception: the flag as it was. Yields the
    marked layer (None if there is none)::

        with skipping_input_gradient(self.encoder):   # the data need no gradient
            self.encoder.backward(grad_code)
    """
    first = next((layer for layer in leaves(module) if layer.parameters()), None)
    if first is None:
        yield None
        return
    before = first.__dict__.get("needs_input_grad")
    first.needs_input_grad = False
    try:
        yield first
    finally:
        if before is None:
            del first.needs_input_grad  # back to the class's default
        else:
            first.needs_input_grad = before


def _check_nothing_learns_before(sequential: Sequential, k: int) -> None:
    """A layer returned None for dL/dx: make sure no earlier layer has parameters, which would
    silently get no gradient."""
    for i in range(k):
        if sequential.layers[i].parameters():
            raise RuntimeError(
                f"Sequential: layer {k} ({sequential.layers[k]!r}) has needs_input_grad = False and returned no "
                f"input gradient, but layer {i} ({sequential.layers[i]!r}) before it has parameters that need one; "
                f"only the first layer with parameters may skip its input gradient (skipping_input_gradient)"
            )

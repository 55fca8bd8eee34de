"""Numerical gradient checks: is a hand-written backward pass right?

The idea: for a module y = f(x; theta) pick a random upstream gradient g (not
all ones, which would hide a transposed or summed-wrong gradient) and the scalar

    L(x, theta) = sum(g * f(x; theta)),    so that dL/dy = g.

Calling ``backward(g)`` gives the *analytic* dL/dx and dL/dtheta. Central
differences give the *numerical* ones, element by element:

    dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / (2 h)      (error O(h^2))

Everything is done in float64 with h = 1e-5, where round-off in L is ~1e-16
relative, so a correct gradient agrees to ~1e-9 and a wrong one misses by 1e-2 or more.

The verdict, per tensor, with a = analytic and n = numerical:

    error = max|a - n| / max(1, max|a|, max|n|)      PASS when error <= 1e-6

It is relative to the tensor's scale, and absolute for tensors of size below 1.
Why not the elementwise |a - n| / max(|a| + |n|, 1e-8) of CS231n: an entry that
is zero up to round-off (a bias gradient whose terms cancel, a saturated sigmoid)
has a numerical value of ~1e-11 and would fail a correct layer. The report still
gives that elementwise relative error at the worst element, with both values.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import backend
from .module import Module

__all__ = [
    "DEFAULT_H",
    "DEFAULT_TOL",
    "GradCheckReport",
    "GradientCheckError",
    "TensorCheck",
    "check_loss",
    "check_model",
    "check_module",
    "compare_gradients",
    "numerical_gradient",
]

DEFAULT_H = 1e-5
DEFAULT_TOL = 1e-6


@dataclass
class TensorCheck:
    """The verdict for one tensor's gradient (the input's, or one parameter's)."""

    name: str
    error: float  # max|a - n| / max(1, max|a|, max|n|): the number the verdict is on
    tol: float
    index: tuple[int, ...] = ()  # where |a - n| is largest
    analytic: float = math.nan  # a at that element
    numerical: float = math.nan  # n at that element
    note: str = ""  # e.g. a shape mismatch
    hint: str = ""  # the likely mistake, when the grader of the exercises can tell (a missing transpose ...)

    @property
    def passed(self) -> bool:
        return self.error <= self.tol  # False for NaN, too

    @property
    def relative_error(self) -> float:
        """CS231n's |a - n| / max(|a| + |n|, 1e-8) at the worst element (shown, not judged)."""
        a, n = self.analytic, self.numerical
        return abs(a - n) / max(abs(a) + abs(n), 1e-8)

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        if self.note:
            return f"{self.name} gradient: {verdict}  {self.note}"
        where = "[" + ", ".join(map(str, self.index)) + "]"
        return (
            f"{self.name} gradient: {verdict}  error {self.error:.2e} (tolerance {self.tol:.0e}); "
            f"worst at {where}: analytic {self.analytic:.6g}, numerical {self.numerical:.6g}, "
            f"relative error {self.relative_error:.2e}"
        )


@dataclass
class GradCheckReport:
    """All tensor verdicts of one check. ``passed`` only when every tensor passes."""

    subject: str
    checks: list[TensorCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def max_error(self) -> float:
        return max((c.error for c in self.checks), default=0.0)

    def __getitem__(self, name: str) -> TensorCheck:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no tensor named {name!r} in this report; have {[c.name for c in self.checks]}")

    def __str__(self) -> str:
        head = f"gradient check of {self.subject}: {'PASS' if self.passed else 'FAIL'}"
        return "\n".join([head, *("  " + str(c) for c in self.checks)])


class GradientCheckError(AssertionError):
    """A gradient check failed; ``.report`` holds the per-tensor verdicts."""

    def __init__(self, report: GradCheckReport) -> None:
        super().__init__(str(report))
        self.report = report


# --------------------------------------------------------------------------- #
# The building blocks
# --------------------------------------------------------------------------- #
def numerical_gradient(f: Callable[[Any], float], x: Any, h: float = DEFAULT_H) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x``, as a float64 NumPy array.

    ``x`` may live on any backend; ``f`` receives each perturbed copy on that backend.
    dF/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h).
    """
    where = backend.backend_of(x)
    host = np.array(backend.to_numpy(x), dtype=np.float64)
    grad = np.zeros_like(host)
    for i in np.ndindex(host.shape):
        original = host[i]
        host[i] = original + h
        f_plus = f(backend.to_backend(host.copy(), where))
        host[i] = original - h
        f_minus = f(backend.to_backend(host.copy(), where))
        host[i] = original
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def compare_gradients(name: str, analytic: Any, numerical: np.ndarray, tol: float = DEFAULT_TOL) -> TensorCheck:
    """The verdict on one tensor: scaled max error, and where the worst element is."""
    try:
        a = np.asarray(backend.to_numpy(analytic), dtype=np.float64)
    except TypeError:
        return TensorCheck(name, math.inf, tol, note=f"expected an array, got {type(analytic).__name__}")
    if a.shape != numerical.shape:
        return TensorCheck(
            name, math.inf, tol, note=f"wrong shape: expected {numerical.shape}, got {a.shape}"
        )
    if a.size == 0:
        return TensorCheck(name, 0.0, tol)
    diff = np.abs(a - numerical)
    if not np.all(np.isfinite(a)):
        index = tuple(int(i) for i in np.unravel_index(np.argmin(np.isfinite(a)), a.shape))
        return TensorCheck(name, math.inf, tol, index, float(a[index]), float(numerical[index]),
                           note=f"non-finite analytic gradient at {list(index)}: {a[index]}")
    index = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
    scale = max(1.0, float(np.max(np.abs(a))), float(np.max(np.abs(numerical))))
    return TensorCheck(name, float(diff[index]) / scale, tol, index, float(a[index]), float(numerical[index]))


def _one_line(module: Module) -> str:
    """``Sequential(Dense(3 -> 5), Tanh())``: a module's repr on one line, for report headers."""
    children = [_one_line(child) for _, child in module.named_children()]
    return f"{type(module).__name__}({', '.join(children)})" if children else repr(module)


@contextlib.contextmanager
def _float64_parameters(named: list[tuple[str, Any]], where: str) -> Iterator[None]:
    """Inside: every parameter in float64 with a zero float64 gradient. After: the original
    arrays (values, dtype, gradients) and the caller's random generators, whatever happened."""
    saved = [(p, p.data, p.grad) for _, p in named]
    try:
        with backend.preserved_rng():
            for _, p in named:
                p.data = backend.to_backend(p.data, where, dtype=np.float64)
                p.grad = backend.array_module(p.data).zeros_like(p.data)  # new: the saved one stays as it was
            yield
    finally:
        for p, data, grad in saved:
            p.data, p.grad = data, grad


def _finish(report: GradCheckReport, raise_on_fail: bool) -> GradCheckReport:
    if raise_on_fail and not report.passed:
        raise GradientCheckError(report)
    return report


# --------------------------------------------------------------------------- #
# Modules and losses
# --------------------------------------------------------------------------- #
def check_module(
    module: Module,
    x: Any,
    *,
    h: float = DEFAULT_H,
    tol: float = DEFAULT_TOL,
    seed: int = 0,
    grad_out: Any = None,
    check_input: bool = True,
    raise_on_fail: bool = True,
) -> GradCheckReport:
    """Check ``module.backward`` against central differences, for the input and every parameter.

    The module's parameters are switched to float64 for the check and restored
    afterwards (values, dtype and gradients). Random layers (dropout) see the same
    noise at every forward call: the noise generator is reseeded with ``seed``
    before each one, and the caller's generators are restored at the end.
    ``grad_out`` is the upstream gradient g; by default a standard normal draw.

    Returns a :class:`GradCheckReport`; raises :class:`GradientCheckError` when
    a tensor fails (unless ``raise_on_fail=False``).
    """
    named = list(module.named_parameters())
    where = backend.backend_of(named[0][1].data) if named else backend.backend_of(x)
    x64 = backend.to_backend(x, where, dtype=np.float64)
    report = GradCheckReport(_one_line(module))

    def forward(inp: Any) -> Any:
        backend.seed(seed)  # the same dropout mask / noise at every call
        return module.forward(inp)

    with _float64_parameters(named, where):
        y = forward(x64)
        if grad_out is None:
            g_host = np.random.default_rng(seed).standard_normal(tuple(y.shape))
        else:
            g_host = np.asarray(backend.to_numpy(grad_out), dtype=np.float64)
        g = backend.to_backend(g_host, where)
        xp = backend.array_module(y)

        def objective(inp: Any) -> float:
            return float(xp.sum(g * forward(inp)))

        dx = module.backward(g)
        if check_input:
            report.checks.append(compare_gradients("input", dx, numerical_gradient(objective, x64, h), tol))
        for name, p in named:
            analytic = p.grad
            original = p.data

            def objective_of_param(value: Any, p: Any = p) -> float:
                p.data = value
                return objective(x64)

            numerical = numerical_gradient(objective_of_param, original, h)
            p.data = original
            report.checks.append(compare_gradients(name, analytic, numerical, tol))
    return _finish(report, raise_on_fail)


def check_model(
    model: Module,
    x: Any,
    *,
    h: float = DEFAULT_H,
    tol: float = DEFAULT_TOL,
    seed: int = 0,
    raise_on_fail: bool = True,
    **kw: Any,
) -> GradCheckReport:
    """Check a model's ``forward_backward`` against central differences of its ``"loss"``.

    The analytic gradients are what one ``forward_backward(x, **kw)`` accumulates into
    each parameter; the numerical ones perturb each parameter entry and re-evaluate the
    loss with ``model.evaluate(x, **kw)``. The noise generator is reseeded with ``seed``
    before every evaluation, so corruption, dropout and a VAE's eps are the same each
    time (or pass them explicitly, e.g. ``eps=...``). Parameters are float64 during the
    check and restored afterwards, as in :func:`check_module`.
    """
    named = list(model.named_parameters())
    where = backend.backend_of(named[0][1].data)
    x64 = backend.to_backend(x, where, dtype=np.float64)
    kw = {k: backend.to_backend(v, where, dtype=np.float64) if k in ("eps", "corrupted", "target") else v
          for k, v in kw.items()}
    report = GradCheckReport(f"{type(model).__name__}.forward_backward")
    with _float64_parameters(named, where):
        backend.seed(seed)
        model.forward_backward(x64, **kw)
        analytic = {name: p.grad for name, p in named}
        for name, p in named:
            original = p.data

            def loss_at(value: Any, p: Any = p) -> float:
                p.data = value
                backend.seed(seed)
                return model.evaluate(x64, **kw)["loss"]

            numerical = numerical_gradient(loss_at, original, h)
            p.data = original
            report.checks.append(compare_gradients(name, analytic[name], numerical, tol))
    return _finish(report, raise_on_fail)


def check_loss(
    loss: Any,
    pred: Any,
    target: Any,
    *,
    h: float = DEFAULT_H,
    tol: float = DEFAULT_TOL,
    raise_on_fail: bool = True,
) -> GradCheckReport:
    """Check ``loss.backward()`` (dL/dpred) against central differences of ``loss(pred, target)``."""
    where = backend.backend_of(pred)
    pred64 = backend.to_backend(pred, where, dtype=np.float64)
    target64 = backend.to_backend(target, where, dtype=np.float64)
    loss(pred64, target64)
    analytic = loss.backward()
    numerical = numerical_gradient(lambda p: loss(p, target64), pred64, h)
    report = GradCheckReport(repr(loss), [compare_gradients("prediction", analytic, numerical, tol)])
    return _finish(report, raise_on_fail)

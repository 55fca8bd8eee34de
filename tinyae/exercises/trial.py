"""One case, run honestly: the student's code gets copies, the numerical gradient comes from pristine ones.

A trial of a layer, for one drawn case (x, the upstream gradient g, the parameter values):

1. The numerical gradients first, on a *fresh* object built for the case, each evaluation on fresh
   copies of x and the parameters: nothing the student's backward does can change them.
2. The student's object: its ``.grad`` arrays pre-filled with random values R (as a previous batch
   would leave them), ``forward(copy of x)``, ``backward(copy of g)``, then a second
   ``backward(another copy of g)``. A parameter's gradient is judged as ``grad_1 - R`` (so ``=``
   instead of ``+=`` fails), and ``grad_2 - grad_1`` must be that gradient again.
3. The arrays the student was handed are compared with the pristine ones: a changed input or
   parameter fails (the layer below, or the optimizer, still needs them); a changed ``grad_out``
   is a warning only (the gradient returned may be right, and in tinyae nothing reads it again).

The student's code is called between :func:`entering` marks, so a grader watching from outside
(the child process of :mod:`tinyae.exercises.isolation`) can say where it hung or exited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backend
from ..gradcheck import DEFAULT_TOL, TensorCheck, compare_gradients, numerical_gradient
from . import hints

PREFILL_SEED = 20261201  # the pre-filled .grad values R: fixed, so the verdict is deterministic


@dataclass
class Trial:
    """What one case found: a verdict per tensor, and warnings that do not fail it."""

    checks: list[TensorCheck]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- #
# Where the student's code is running (for the report of a hang or an exit)
# --------------------------------------------------------------------------- #
_phase_hook: Callable[[str], None] | None = None
_phase = ""


def watch_phases(hook: Callable[[str], None] | None) -> None:
    """Call ``hook(phase)`` whenever the student's code enters another method ("forward", "backward" ...)."""
    global _phase_hook, _phase
    _phase_hook, _phase = hook, ""


def entering(phase: str) -> None:
    global _phase
    if phase != _phase:
        _phase = phase
        if _phase_hook is not None:
            _phase_hook(phase)


# --------------------------------------------------------------------------- #
# Copies in, snapshots out
# --------------------------------------------------------------------------- #
def given(value: np.ndarray) -> Any:
    """A fresh float64 copy of a host array, on the current backend: what the student's code receives."""
    return backend.to_backend(np.array(value, dtype=np.float64))


def snapshot(value: Any) -> Any:
    """A host copy of what the student's code returned (kept as it is if it is not an array)."""
    try:
        return np.array(backend.to_numpy(value), dtype=np.float64)
    except (TypeError, ValueError, AttributeError):
        return value


def unchanged(value: Any, pristine: np.ndarray) -> bool:
    host = snapshot(value)
    return isinstance(host, np.ndarray) and host.shape == pristine.shape and np.array_equal(host, pristine,
                                                                                            equal_nan=True)


def judged(name: str, analytic: Any, numerical: np.ndarray) -> TensorCheck:
    """The verdict on one tensor, with a hint about the likely mistake when it fails."""
    check = compare_gradients(name, analytic, numerical)
    if not check.passed:
        check.hint = hints.from_values(analytic, numerical)
    return check


def failed(name: str, note: str, hint: str = "") -> TensorCheck:
    return TensorCheck(name, float("inf"), DEFAULT_TOL, note=note, hint=hint)


def _set(param: Any, value: np.ndarray) -> None:
    param.data = given(value)


GRAD_OUT_WARNING = ("your backward changed grad_out in place: the gradient it returned is right, but in a "
                    "network the layer above may still need that array; prefer `grad_out * ...` to `grad_out *= ...`")


# --------------------------------------------------------------------------- #
# A layer: y = f(x; params), L = sum(g * y)
# --------------------------------------------------------------------------- #
def module_trial(make: Callable[..., Any], case: dict[str, Any], seed: int, *, params: tuple[str, ...] = ()) -> Trial:
    """Check ``backward`` of the layer ``make()`` builds, for the input and the parameters named in ``params``."""
    x, g = case["x"], case["g"]
    values = {name: case[name] for name in params}

    def prepared() -> Any:
        entering("__init__")
        obj = make()
        for name in params:
            _set(getattr(obj, name), values[name])
        return obj

    # 1. numerical gradients, from a fresh object and pristine copies
    reference = prepared()
    g_ref = given(g)
    xp = backend.array_module(g_ref)

    def objective(x_value: Any) -> float:
        backend.seed(seed)  # the same dropout mask at every call
        entering("forward")
        return float(xp.sum(g_ref * reference.forward(x_value)))

    numerical = {"input": numerical_gradient(objective, given(x))}
    for name in params:
        p = getattr(reference, name)

        def objective_of_param(value: Any, p: Any = p) -> float:
            p.data = value
            return objective(given(x))

        numerical[name] = numerical_gradient(objective_of_param, given(values[name]))
        _set(p, values[name])

    # 2. the student's object, on copies, with pre-filled gradients and two backward passes
    obj = prepared()
    prefill = {}
    rng = np.random.default_rng(PREFILL_SEED)
    for name in params:
        prefill[name] = rng.standard_normal(np.shape(values[name]))
        getattr(obj, name).grad = given(prefill[name])
    x_in = given(x)
    backend.seed(seed)
    entering("forward")
    y = snapshot(obj.forward(x_in))
    x_changed_in_forward = not unchanged(x_in, x)
    forward_changed = _differs_from_library(make, y, lambda lib: lib.forward(given(x)), seed, values)
    if forward_changed:  # the numerical gradient is of another function: no backward can be judged against it
        return Trial([failed(name, forward_changed) for name in ("input", *params)])
    g_in = given(g)
    entering("backward")
    dx_first = snapshot(obj.backward(g_in))
    grads_first = {name: snapshot(getattr(obj, name).grad) for name in params}
    g_changed = not unchanged(g_in, g)
    x_changed = not unchanged(x_in, x)
    data_changed = [name for name in params if not unchanged(getattr(obj, name).data, values[name])]
    dx_second = snapshot(obj.backward(given(g)))
    grads_second = {name: snapshot(getattr(obj, name).grad) for name in params}

    # 3. the verdicts
    trial = Trial([], [GRAD_OUT_WARNING] if g_changed else [])
    check = judged("input", dx_first, numerical["input"])
    if check.passed and not judged("input", dx_second, numerical["input"]).passed:
        check = failed("input", "right the first time, but a second backward returned another dL/dx: does "
                       "your backward change what forward kept (self._x, a mask ...)?")
    if x_changed:
        where = "forward" if x_changed_in_forward else "backward"
        check = failed("input", f"your {where} changed its input x in place (the array forward was given): "
                       "the layer below still needs it; compute into a new array instead")
    trial.checks.append(check)
    for name in params:
        first, second, before = grads_first[name], grads_second[name], prefill[name]
        if not isinstance(first, np.ndarray) or first.shape != before.shape:
            trial.checks.append(judged(name, first, numerical[name]))
            continue
        check = judged(name, first - before, numerical[name])
        if not check.passed and compare_gradients(name, first, numerical[name]).passed:
            check = failed(name, f"the gradient is right, but it replaced what self.{name}.grad held",
                           hint=f"add it: self.{name}.grad += ... (gradients accumulate; the check pre-fills "
                           ".grad, as a previous batch would)")
        elif check.passed and not (isinstance(second, np.ndarray) and second.shape == first.shape
                                   and compare_gradients(name, second - first, numerical[name]).passed):
            check = failed(name, "right the first time, but a second backward did not add the same gradient again",
                           hint="backward may be called again: it must not change what forward kept")
        if name in data_changed:
            check = failed(name, f"your backward changed self.{name}.data (the parameter itself) in place",
                           hint=f"a backward only adds to self.{name}.grad; the optimizer changes .data")
        trial.checks.append(check)
    return trial


def _differs_from_library(make: Callable[..., Any], got: Any, compute: Callable[[Any], Any], seed: int,
                          values: dict[str, np.ndarray]) -> str:
    """"" when the student's forward agrees with tinyae's own layer on this case, else the verdict's note.

    The numerical gradient differentiates the student's forward, so a changed forward (even
    ``return 0 * ...``) would make any backward that matches it pass: the template's forward is
    part of the exercise, and it must still compute what tinyae's layer computes.
    """
    library = make(library=True)
    if library is None:
        return ""
    for name, value in values.items():
        _set(getattr(library, name), value)
    backend.seed(seed)
    return disagreement(got, snapshot(compute(library)), f"tinyae's {type(library).__name__}")


def disagreement(got: Any, right: Any, what: str) -> str:
    """"" when the student's forward output equals the right one (to round-off), else the verdict's note."""
    got, right = np.asarray(got, dtype=np.float64), np.asarray(right, dtype=np.float64)
    if got.shape == right.shape and np.allclose(got, right, rtol=1e-9, atol=1e-12):
        return ""
    how = f"shape {got.shape} instead of {right.shape}" if got.shape != right.shape else "other values"
    return (f"your forward no longer computes what {what} does ({how}): the check differentiates your forward, "
            "so it must stay the template's")


def pair_checks(grads: Any, numerical: dict[str, np.ndarray], names: tuple[str, str] = ("mu", "logvar")) -> list:
    """The verdicts on a backward that returns the pair (d/dmu, d/dlogvar)."""
    if not (isinstance(grads, tuple) and len(grads) == 2):
        raise TypeError(f"backward must return the pair (d{names[0]}, d{names[1]}), got {type(grads).__name__}")
    return [judged(name, snapshot(g), numerical[name]) for name, g in zip(names, grads)]


def kept(checks: list[TensorCheck], handed: dict[str, Any], pristine: dict[str, np.ndarray]) -> list[TensorCheck]:
    """``checks``, or all of them failed when the student's code changed an array it was handed."""
    changed = [k for k in handed if not unchanged(handed[k], pristine[k])]
    if not changed:
        return checks
    return [failed(c.name, f"your code changed {changed[0]} in place: compute into a new array instead")
            for c in checks]


# --------------------------------------------------------------------------- #
# A loss: L = loss(pred, target), backward() -> dL/dpred
# --------------------------------------------------------------------------- #
def loss_trial(make: Callable[..., Any], case: dict[str, Any], seed: int) -> Trial:
    pred, target = case["pred"], case["target"]
    entering("__init__")
    reference = make()

    def value(p: Any) -> float:
        entering("forward")
        return float(reference(p, given(target)))

    numerical = numerical_gradient(value, given(pred))
    entering("__init__")
    obj = make()
    p_in, t_in = given(pred), given(target)
    entering("forward")
    value = snapshot(obj(p_in, t_in))
    forward_changed = _differs_from_library(make, value, lambda lib: lib(given(pred), given(target)), seed, {})
    if forward_changed:
        return Trial([failed("prediction", forward_changed)])
    entering("backward")
    first = snapshot(obj.backward())
    second = snapshot(obj.backward())
    check = judged("prediction", first, numerical)
    if check.passed and not judged("prediction", second, numerical).passed:
        check = failed("prediction", "right the first time, but a second backward() returned another gradient")
    for what, given_array, pristine in (("prediction", p_in, pred), ("target", t_in, target)):
        if not unchanged(given_array, pristine):
            check = failed("prediction", f"your code changed the {what} in place: compute into a new array instead")
    return Trial([check])

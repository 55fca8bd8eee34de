r"""Gradient-check exercises: grade a student's backward pass against finite differences.

The templates in ``exercises/`` give a layer's forward pass and leave its backward pass to
the student. This module grades one:

    tinyae check exercises/dense.py::Dense          (the command line)
    python -m tinyae.exercises exercises/dense.py   (the same, without the CLI)
    tinyae.exercises.check(Dense)                   (from Python or a notebook: prints, returns a bool)

How a class says what it is: a class attribute ``exercise = "dense"`` names its check (one of
:data:`EXERCISES`). A class without one that subclasses a tinyae layer or loss (``tinyae.Dense``,
``tinyae.Sigmoid``, ``tinyae.ReLU``, ``tinyae.Dropout``, ``tinyae.Conv2D``, ``tinyae.BCELoss``)
gets that layer's check.

How it grades. Hypothesis draws many cases (shapes, hyper-parameters, values; the same
strategies as the test-suite, :mod:`tinyae.strategies`). For each case the student's object is
built with the case's hyper-parameters and checked by :func:`tinyae.gradcheck.check_module`
(or :func:`~tinyae.gradcheck.check_loss`, or central differences of the VAE objective):
per tensor, ``error = max|a - n| / max(1, max|a|, max|n|) <= 1e-6`` with a = the student's
gradient and n = the numerical one, in float64. Then, for every tensor, hypothesis's own
shrinker searches for the *smallest* case where that tensor fails (``hypothesis.find``), and
the report shows it. Everything is derandomized (the same cases for the same ``seed``) and
bounded: at most ``max_examples`` generated cases and ``shrink_budget`` further evaluations
per search, every case evaluated once (results are cached).
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import math
import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import numpy as np

from . import backend
from .gradcheck import DEFAULT_TOL, TensorCheck, check_loss, check_module, compare_gradients, numerical_gradient
from .layers import Conv2D, Dense, Dropout, ReLU, Sigmoid
from .losses import BCELoss, BCEWithLogitsLoss

try:  # hypothesis is a dependency of tinyae; should it be missing, only the import of this module works
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    from . import strategies as ts

    _HYPOTHESIS_ERROR: ImportError | None = None
except ImportError as _exc:  # pragma: no cover - the test environment has hypothesis
    _HYPOTHESIS_ERROR = _exc

__all__ = ["DEFAULT_EXAMPLES", "EXERCISES", "Exercise", "ExerciseResult", "check", "exercise_of", "grade",
           "main_check"]

DEFAULT_EXAMPLES = 50  # cases hypothesis draws per search
DEFAULT_SHRINK_BUDGET = 200  # further evaluations a search may spend on shrinking

Case = dict[str, Any]


# --------------------------------------------------------------------------- #
# The exercises: what to draw, how to build the student's object, how to check it
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Exercise:
    """One kind of exercise: the cases to draw and the check to run on each.

    ``cases(fixed)`` is a hypothesis strategy of cases (dicts of hyper-parameters and float64
    NumPy arrays); ``fixed`` pins hyper-parameters (read from an instance, when one is given).
    ``build(cls, case)`` makes a fresh object; ``run(obj, case, seed)`` returns one
    :class:`~tinyae.gradcheck.TensorCheck` per tensor, named as in ``tensors``.
    ``config`` lists the case's keys that describe it (the rest are its arrays).
    """

    name: str
    title: str
    method: str
    tensors: tuple[str, ...]
    hyper: tuple[str, ...]
    config: tuple[str, ...]
    cases: Callable[[dict[str, Any]], Any]
    build: Callable[[type, Case], Any]
    run: Callable[[Any, Case, int], list[TensorCheck]]


def _pick(draw: Any, fixed: dict[str, Any], key: str, strategy: Any) -> Any:
    return fixed[key] if key in fixed else draw(strategy)


def _set(param: Any, value: np.ndarray) -> None:
    """Give a parameter O(1) float64 values on the current backend (the init's zero bias would hide bugs)."""
    param.data = backend.to_backend(value, dtype=np.float64)


def _run_module(obj: Any, case: Case, seed: int) -> list[TensorCheck]:
    for name in ("weight", "bias"):
        if name in case:
            _set(getattr(obj, name), case[name])
    x, g = backend.to_backend(case["x"]), backend.to_backend(case["g"])
    return check_module(obj, x, grad_out=g, seed=seed, raise_on_fail=False).checks


def _normal(draw: Any) -> np.random.Generator:
    """A generator of O(1) standard-normal values (weights, the upstream gradient g), seeded by hypothesis.

    Independent normal entries: hypothesis's own arrays are often nearly constant, and a
    symmetric W, say, would hide a missing transpose.
    """
    return np.random.default_rng(draw(st.integers(0, 2**16)))


# -- Dense ------------------------------------------------------------------- #
def _dense_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        batch = draw(ts.batch_sizes)
        n_in = _pick(draw, fixed, "in_features", ts.feature_sizes)
        n_out = _pick(draw, fixed, "out_features", ts.feature_sizes)
        x = draw(ts.arrays((batch, n_in)))
        rng = _normal(draw)
        return {
            "batch": batch, "in_features": n_in, "out_features": n_out, "x": x,
            "weight": rng.standard_normal((n_in, n_out)), "bias": rng.standard_normal(n_out),
            "g": rng.standard_normal((batch, n_out)),
        }

    return cases()


# -- element-wise activations -------------------------------------------------- #
def _activation_cases(min_magnitude: float, max_magnitude: float) -> Callable[[dict[str, Any]], Any]:
    def make(fixed: dict[str, Any]) -> Any:
        @st.composite
        def cases(draw: Any) -> Case:
            shape = draw(ts.shapes())
            x = draw(ts.arrays(shape, min_magnitude=min_magnitude, max_magnitude=max_magnitude))
            return {"shape": shape, "x": x, "g": _normal(draw).standard_normal(shape)}

        return cases()

    return make


# -- Dropout --------------------------------------------------------------------- #
def _dropout_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        shape = draw(ts.shapes())
        p = _pick(draw, fixed, "p", ts.dropout_probabilities)
        training = _pick(draw, fixed, "training", st.booleans().map(lambda b: not b))  # True first
        x = draw(ts.arrays(shape))
        return {"shape": shape, "p": p, "training": training, "x": x, "g": _normal(draw).standard_normal(shape)}

    return cases()


def _build_dropout(cls: type, case: Case) -> Any:
    return cls(case["p"]).train(case["training"])


# -- Conv2D ---------------------------------------------------------------------- #
CONV_MAX_INPUT, CONV_MAX_WEIGHT = 150, 100  # elements: keeps one case's finite differences ~20 ms


def _as_pair(value: Any) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)  # type: ignore[return-value]


def _conv_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        if fixed:  # an instance: its channels, kernel, stride and padding; draw the rest
            (kh, kw), (ph, pw) = fixed["kernel_size"], fixed["padding"]
            cfg = {
                "batch": draw(st.integers(1, 3)),
                "in_channels": fixed["in_channels"],
                "height": draw(st.integers(max(1, kh - 2 * ph), max(1, kh - 2 * ph) + 5)),
                "width": draw(st.integers(max(1, kw - 2 * pw), max(1, kw - 2 * pw) + 5)),
                "out_channels": fixed["out_channels"],
                "kernel_size": fixed["kernel_size"],
                "stride": fixed["stride"],
                "padding": fixed["padding"],
            }
        else:
            drawn = draw(ts.conv_configs(max_input=CONV_MAX_INPUT, max_weight=CONV_MAX_WEIGHT))
            cfg = {k: drawn[k] for k in ("batch", "in_channels", "height", "width", "out_channels",
                                         "kernel_size", "stride", "padding")}
        (kh, kw), (sh, sw), (ph, pw) = (_as_pair(cfg[k]) for k in ("kernel_size", "stride", "padding"))
        ho, wo = (cfg["height"] + 2 * ph - kh) // sh + 1, (cfg["width"] + 2 * pw - kw) // sw + 1
        cfg["x"] = draw(ts.arrays((cfg["batch"], cfg["in_channels"], cfg["height"], cfg["width"])))
        rng = _normal(draw)
        cfg["weight"] = rng.standard_normal((cfg["out_channels"], cfg["in_channels"], kh, kw))
        cfg["bias"] = rng.standard_normal(cfg["out_channels"])
        cfg["g"] = rng.standard_normal((cfg["batch"], cfg["out_channels"], ho, wo))
        return cfg

    return cases()


def _build_conv(cls: type, case: Case) -> Any:
    return cls(case["in_channels"], case["out_channels"], case["kernel_size"], case["stride"], case["padding"])


# -- BCE ------------------------------------------------------------------------- #
def _bce_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        shape = draw(ts.shapes(max_dims=3))
        reduction = _pick(draw, fixed, "reduction", st.sampled_from(["mean", "sum"]))
        return {"shape": shape, "reduction": reduction,
                "pred": draw(ts.probabilities(shape)), "target": draw(ts.probabilities(shape, 0.0, 1.0))}

    return cases()


def _run_loss(obj: Any, case: Case, seed: int) -> list[TensorCheck]:
    pred, target = backend.to_backend(case["pred"]), backend.to_backend(case["target"])
    return check_loss(obj, pred, target, raise_on_fail=False).checks


# -- the VAE objective ------------------------------------------------------------ #
def _vae_cases(fixed: dict[str, Any]) -> Any:
    @st.composite
    def cases(draw: Any) -> Case:
        n, latent, d = draw(ts.batch_sizes), draw(st.integers(1, 4)), draw(ts.feature_sizes)
        beta = _pick(draw, fixed, "beta", st.sampled_from([1.0, 0.5, 4.0]))
        return {
            "batch": n, "latent_dim": latent, "features": d, "beta": beta,
            "mu": draw(ts.arrays((n, latent))),
            "logvar": draw(ts.arrays((n, latent))),
            "eps": draw(ts.arrays((n, latent))),
            "x": draw(ts.probabilities((n, d), 0.0, 1.0)),
            **dict(zip(("decoder_weight", "decoder_bias"), _decoder(draw, latent, d))),
        }

    return cases()


def _decoder(draw: Any, latent: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = _normal(draw)
    return rng.standard_normal((latent, d)), rng.standard_normal(d)


def _build_vae(cls: type, case: Case) -> Any:
    return cls(beta=case["beta"])


def _run_vae(obj: Any, case: Case, seed: int) -> list[TensorCheck]:
    """loss(mu, logvar) = R(z) + beta KL with z = mu + exp(logvar / 2) eps, eps fixed.

    R is a real VAE's reconstruction term: a Dense decoder to logits, BCE with logits summed
    over features and averaged over the batch. g_z = dR/dz comes from the decoder's backward
    pass and goes to the student's backward, which returns (dloss/dmu, dloss/dlogvar).
    """
    to = backend.to_backend
    mu, logvar, eps, x = (to(case[k], dtype=np.float64) for k in ("mu", "logvar", "eps", "x"))
    n, beta = case["batch"], case["beta"]
    decoder, rec = Dense(case["latent_dim"], case["features"]), BCEWithLogitsLoss("sum")
    _set(decoder.weight, case["decoder_weight"])
    _set(decoder.bias, case["decoder_bias"])

    def loss(mu_: Any, logvar_: Any) -> float:
        backend.seed(seed)
        z, kl = obj.forward(mu_, logvar_, eps)
        return rec(decoder.forward(z), x) / n + beta * float(kl)

    backend.seed(seed)
    z, _ = obj.forward(mu, logvar, eps)
    rec(decoder.forward(z), x)
    g_z = decoder.backward(rec.backward() * (1.0 / n))
    grads = obj.backward(g_z)
    if not (isinstance(grads, tuple) and len(grads) == 2):
        raise TypeError(f"backward must return the pair (dmu, dlogvar), got {type(grads).__name__}")
    numerical_mu = numerical_gradient(lambda m: loss(m, logvar), mu)
    numerical_logvar = numerical_gradient(lambda lv: loss(mu, lv), logvar)
    return [compare_gradients("mu", grads[0], numerical_mu), compare_gradients("logvar", grads[1], numerical_logvar)]


EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in [
        Exercise("dense", "the Dense layer y = x W + b", "backward", ("input", "weight", "bias"),
                 ("in_features", "out_features"), ("batch", "in_features", "out_features"),
                 _dense_cases, lambda cls, c: cls(c["in_features"], c["out_features"]), _run_module),
        Exercise("sigmoid", "the sigmoid y = 1 / (1 + exp(-x))", "backward", ("input",), (), ("shape",),
                 _activation_cases(0.0, 6.0), lambda cls, c: cls(), _run_module),
        Exercise("relu", "the ReLU y = max(x, 0)", "backward", ("input",), (), ("shape",),
                 _activation_cases(0.1, 2.0), lambda cls, c: cls(), _run_module),
        Exercise("dropout", "inverted dropout y = x * mask", "backward", ("input",), ("p", "training"),
                 ("shape", "p", "training"), _dropout_cases, _build_dropout, _run_module),
        Exercise("conv2d", "the 2-D convolution (im2col)", "backward", ("input", "weight", "bias"),
                 ("in_channels", "out_channels", "kernel_size", "stride", "padding"),
                 ("batch", "in_channels", "height", "width", "out_channels", "kernel_size", "stride", "padding"),
                 _conv_cases, _build_conv, _run_module),
        Exercise("bce", "binary cross-entropy on probabilities", "backward", ("prediction",), ("reduction",),
                 ("shape", "reduction"), _bce_cases, lambda cls, c: cls(reduction=c["reduction"]), _run_loss),
        Exercise("vae", "the VAE objective: KL and the reparameterisation z = mu + sigma * eps", "backward",
                 ("mu", "logvar"), ("beta",), ("batch", "latent_dim", "features", "beta"),
                 _vae_cases, _build_vae, _run_vae),
    ]
}

# A class without an `exercise` attribute that subclasses one of these gets its check.
_LIBRARY_BASES = [(Dense, "dense"), (Sigmoid, "sigmoid"), (ReLU, "relu"), (Dropout, "dropout"),
                  (Conv2D, "conv2d"), (BCELoss, "bce")]


def exercise_of(target: Any) -> Exercise | None:
    """The :class:`Exercise` a class (or instance) is graded as, or None if it is not one.

    Raises ValueError for an ``exercise`` attribute that names no known exercise.
    """
    cls = target if isinstance(target, type) else type(target)
    name = getattr(cls, "exercise", None)
    if isinstance(name, str):
        if name not in EXERCISES:
            raise ValueError(
                f"{cls.__name__}.exercise = {name!r} names no exercise; known: {', '.join(EXERCISES)}"
            )
        return EXERCISES[name]
    for base, known in _LIBRARY_BASES:
        if issubclass(cls, base):
            return EXERCISES[known]
    return None


# --------------------------------------------------------------------------- #
# Running the student's code on cases, and shrinking failures
# --------------------------------------------------------------------------- #
@dataclass
class _Raised:
    """An exception from the student's code (or the case), summarised for the report."""

    kind: str
    message: str
    where: str  # "file.py:12 in backward: <the line>", the deepest frame in the student's file
    function: str = ""  # that frame's function, e.g. "backward"

    def __str__(self) -> str:
        text = f"{self.kind}: {self.message}" if self.message else self.kind
        return text + (f"\n      at {self.where}" if self.where else "")


@dataclass
class _Outcome:
    checks: dict[str, TensorCheck] | None = None
    raised: _Raised | None = None
    not_written: _Raised | None = None


def _summarise(exc: BaseException, source: str | None) -> _Raised:
    """The exception's type, first message line, and the deepest frame in ``source`` (else the last)."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if source and os.path.abspath(f.filename) == source]
    frame = (mine or frames or [None])[-1]
    where, function = "", ""
    if frame is not None:
        function = frame.name
        where = f"{_short_path(frame.filename)}:{frame.lineno} in {frame.name}"
        if frame.line:
            line = frame.line.strip()
            where += f":  {line if len(line) <= 100 else line[:97] + '...'}"
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else ""
    return _Raised(type(exc).__name__, message[:300], where, function)


def _short_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith(".." + os.sep + "..") else rel


def _key(case: Case) -> tuple:
    """A hashable key of a case (arrays by dtype, shape and bytes)."""
    items = []
    for k in sorted(case):
        v = case[k]
        items.append((k, (str(v.dtype), v.shape, v.tobytes()) if isinstance(v, np.ndarray) else repr(v)))
    return tuple(items)


def _describe(exercise: Exercise, case: Case) -> str:
    return ", ".join(f"{k}={case[k]}" for k in exercise.config)


MAX_SHOWN_VALUES = 16  # a failing case's arrays are printed when they hold at most this many numbers in all


def _values(exercise: Exercise, case: Case) -> str:
    """The case's arrays, compactly, when they are small: x=[[0.5]], weight=[[-1.2]], ..."""
    arrays = {k: v for k, v in case.items() if isinstance(v, np.ndarray)}
    if sum(v.size for v in arrays.values()) > MAX_SHOWN_VALUES:
        return ""
    return ", ".join(f"{k}={_compact(v)}" for k, v in arrays.items())


def _compact(a: np.ndarray) -> str:
    """[[0.5, -1.25], [0, 2]]: an array on one line, 4 significant digits, no alignment padding."""
    text = np.array2string(a + 0.0, precision=4, separator=", ", floatmode="maxprec", max_line_width=10**6)
    return re.sub(r"\[\s+", "[", re.sub(r"\s+", " ", text))


class _Grader:
    """Evaluates cases once each (cached) and runs hypothesis searches over them."""

    def __init__(self, exercise: Exercise, make: Callable[[Case], Any], strategy: Any, *, source: str | None,
                 seed: int, max_examples: int, shrink_budget: int) -> None:
        self.exercise, self.make, self.strategy, self.source = exercise, make, strategy, source
        self.seed, self.max_examples, self.shrink_budget = seed, max_examples, shrink_budget
        self.cache: dict[tuple, tuple[Case, _Outcome]] = {}

    def evaluate(self, case: Case) -> _Outcome:
        key = _key(case)
        if key not in self.cache:
            self.cache[key] = (case, self._run(case))
        return self.cache[key][1]

    def _run(self, case: Case) -> _Outcome:
        try:
            obj = self.make(case)
            checks = self.exercise.run(obj, case, self.seed)
        except NotImplementedError as exc:
            return _Outcome(not_written=_summarise(exc, self.source), raised=_summarise(exc, self.source))
        except Exception as exc:  # the student's code may raise anything: report it, with the case
            return _Outcome(raised=_summarise(exc, self.source))
        return _Outcome(checks={c.name: c for c in checks})

    def settings(self) -> Any:
        return settings(
            max_examples=self.max_examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate, Phase.shrink],
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
        )

    def smallest(self, failing: Callable[[_Outcome], bool]) -> Case | None:
        """The smallest case hypothesis shrinks to where ``failing`` holds, or None if none is found.

        New evaluations are capped at max_examples + shrink_budget (a count, so the result
        does not depend on the machine's speed); cached cases always answer truthfully.
        """
        fresh = 0

        def condition(case: Case) -> bool:
            nonlocal fresh
            key = _key(case)
            if key not in self.cache:
                fresh += 1
                if fresh > self.max_examples + self.shrink_budget:
                    return False
            return failing(self.evaluate(case))

        try:
            return find(self.strategy, condition, settings=self.settings(), random=Random(self.seed))
        except NoSuchExample:
            return None

    def simplest(self) -> Case:
        """The simplest case of the strategy (hypothesis's minimal example)."""
        return find(self.strategy, lambda case: True, settings=self.settings(), random=Random(self.seed))


# --------------------------------------------------------------------------- #
# The result, and its report
# --------------------------------------------------------------------------- #
@dataclass
class TensorVerdict:
    """One tensor's verdict over all cases: pass, or the smallest failing case and its check."""

    name: str
    passed: bool
    cases: int = 0  # cases in which the check ran (the student's code did not raise)
    largest_error: float = 0.0  # over those cases
    failure: TensorCheck | None = None  # the check at the smallest failing case
    failing_case: str = ""  # its configuration, e.g. "batch=2, in_features=1, out_features=1"
    failing_values: str = ""  # its arrays, when they are small enough to read


@dataclass
class ExerciseResult:
    """Everything :func:`check` prints, as data; ``str(result)`` is the report."""

    subject: str
    exercise: Exercise
    tol: float
    max_examples: int
    seed: int
    method: str = ""
    not_written: _Raised | None = None
    raised: _Raised | None = None
    raised_case: str = ""
    raised_values: str = ""
    tensors: list[TensorVerdict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.not_written is None and self.raised is None and all(t.passed for t in self.tensors)

    @property
    def failed_tensors(self) -> list[str]:
        return [t.name for t in self.tensors if not t.passed]

    def __str__(self) -> str:
        lines = [f"Checking {self.subject}: {self.exercise.title}"]
        if self.not_written is not None:
            where = self.not_written.where.split(" in ", 1)[0] if self.not_written.where else ""
            lines.append(f"  {self.method} is not written yet: write it where it says `# YOUR CODE HERE`"
                         + (f" ({where})" if where else "") + " and remove the `raise NotImplementedError`.")
            lines.append("NOT DONE")
            return "\n".join(lines)
        lines.append(f"  {self.max_examples} cases per search, drawn by hypothesis (seed {self.seed}), against central "
                     f"differences in float64;")
        lines.append("  a gradient passes when max|yours - numerical| / max(1, max|yours|, max|numerical|) "
                     f"<= {self.tol:.0e}")
        if self.raised is not None:
            lines.append(f"  your code raised {self.raised}")
            lines.append(f"      smallest case that raises: {self.raised_case}")
            if self.raised_values:
                lines.append(f"      values: {self.raised_values}")
        for t in self.tensors:
            label = f"{t.name} gradient:"
            if t.passed and t.cases:
                lines.append(f"  {label} PASS  largest error {t.largest_error:.1e} in {t.cases} cases")
            elif t.passed:
                lines.append(f"  {label} NOT CHECKED  your code raised in every case (see above)")
            else:
                f = t.failure
                assert f is not None
                if f.note:
                    lines.append(f"  {label} FAIL  {f.note}")
                else:
                    where = "[" + ", ".join(map(str, f.index)) + "]"
                    lines.append(f"  {label} FAIL  error {f.error:.1e}")
                    lines.append(f"      worst element {where}: numerical {f.numerical + 0.0:.6g}, "
                                 f"yours {f.analytic + 0.0:.6g} (relative error {f.relative_error:.1e})")
                lines.append(f"      smallest failing case: {t.failing_case}")
                if t.failing_values:
                    lines.append(f"      values: {t.failing_values}")
        if self.passed:
            what = "the gradient matches" if len(self.tensors) == 1 else f"all {len(self.tensors)} gradients match"
            lines.append(f"PASS: {what} the numerical one{'' if len(self.tensors) == 1 else 's'}.")
        else:
            wrong = self.failed_tensors
            parts = []
            if len(wrong) == 1:
                parts.append(f"the {wrong[0]} gradient is wrong")
            elif wrong:
                parts.append(f"{len(wrong)} of {len(self.tensors)} gradients are wrong ({', '.join(wrong)})")
            if self.raised is not None:
                parts.append("your code raised an exception")
            lines.append(f"FAIL: {'; '.join(parts)}. Start from the smallest failing case.")
        return "\n".join(lines)


def _fixed_hyper(exercise: Exercise, obj: Any) -> dict[str, Any]:
    fixed = {}
    for name in exercise.hyper:
        value = getattr(obj, name)
        fixed[name] = value if not isinstance(value, list) else tuple(value)
    return fixed


def grade(
    cls_or_obj: Any,
    *,
    max_examples: int = DEFAULT_EXAMPLES,
    seed: int = 0,
    tol: float = DEFAULT_TOL,
    backend_name: str | None = None,
    shrink_budget: int = DEFAULT_SHRINK_BUDGET,
) -> ExerciseResult:
    """Grade an exercise class (or instance) and return the :class:`ExerciseResult` (no printing).

    A class is built afresh for every case with the case's hyper-parameters (its constructor
    takes the library layer's arguments, e.g. ``Dense(in_features, out_features)``). An
    instance keeps its own hyper-parameters: only the batch, sizes and values are drawn,
    and each case works on a copy of it.
    """
    if _HYPOTHESIS_ERROR is not None:
        raise ImportError(f"grading exercises needs hypothesis (a dependency of tinyae): pip install hypothesis "
                          f"({_HYPOTHESIS_ERROR})")
    exercise = exercise_of(cls_or_obj)
    if exercise is None:
        what = cls_or_obj.__name__ if isinstance(cls_or_obj, type) else repr(cls_or_obj)
        raise TypeError(
            f"{what} is not an exercise: give the class an attribute exercise = \"...\" (one of "
            f"{', '.join(EXERCISES)}) or subclass the tinyae layer it implements"
        )
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    try:
        source = os.path.abspath(inspect.getsourcefile(cls) or "")
    except TypeError:
        source = None
    if isinstance(cls_or_obj, type):
        fixed: dict[str, Any] = {}

        def make(case: Case) -> Any:
            return exercise.build(cls, case)
    else:
        fixed = _fixed_hyper(exercise, cls_or_obj)

        def make(case: Case) -> Any:
            return copy.deepcopy(cls_or_obj)

    subject = f"{cls.__qualname__}" + (f" ({_short_path(source)})" if source else "")
    result = ExerciseResult(subject, exercise, tol, max_examples, seed, method=f"{cls.__qualname__}.{exercise.method}")
    name = backend_name or backend.get_backend()
    with backend.use_backend(name), backend.preserved_rng():
        grader = _Grader(exercise, make, exercise.cases(fixed), source=source, seed=seed,
                         max_examples=max_examples, shrink_budget=shrink_budget)
        first = grader.evaluate(grader.simplest())
        if first.not_written is not None:
            result.not_written = first.not_written
            if first.not_written.function and first.not_written.function != "<module>":
                result.method = f"{cls.__qualname__}.{first.not_written.function}"
            return result
        raising = grader.smallest(lambda o: o.raised is not None)
        if raising is not None:
            result.raised = grader.evaluate(raising).raised
            result.raised_case = _describe(exercise, raising)
            result.raised_values = _values(exercise, raising)
        for tensor in exercise.tensors:
            smallest = grader.smallest(lambda o, t=tensor: o.checks is not None and not _passed(o.checks, t))
            ran = [o.checks[tensor] for _, o in grader.cache.values() if o.checks and tensor in o.checks]
            verdict = TensorVerdict(tensor, smallest is None, len(ran),
                                    max((c.error for c in ran if math.isfinite(c.error)), default=0.0))
            if smallest is not None:
                outcome = grader.evaluate(smallest)
                assert outcome.checks is not None
                verdict.failure = outcome.checks.get(tensor) or TensorCheck(tensor, math.inf, tol,
                                                                             note="not computed")
                verdict.failing_case = _describe(exercise, smallest)
                verdict.failing_values = _values(exercise, smallest)
            result.tensors.append(verdict)
    return result


def _passed(checks: dict[str, TensorCheck], tensor: str) -> bool:
    c = checks.get(tensor)
    return c is not None and c.passed


def check(
    cls_or_obj: Any,
    *,
    max_examples: int = DEFAULT_EXAMPLES,
    seed: int = 0,
    backend_name: str | None = None,
    file: Any = None,
) -> bool:
    """Grade an exercise, print the report (to ``file``, default stdout), return True only if all pass.

    ``max_examples`` cases are drawn per search, deterministically for a given ``seed``;
    ``backend_name`` ("numpy", "strict", "cupy") runs the check there (default: the current backend).
    """
    result = grade(cls_or_obj, max_examples=max_examples, seed=seed, backend_name=backend_name)
    print(result, file=file if file is not None else sys.stdout)
    return result.passed


# --------------------------------------------------------------------------- #
# FILE[::ClassName]: the command line's entry point
# --------------------------------------------------------------------------- #
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class _LoadError(Exception):
    pass


def _load(path: Path) -> Any:
    """Import a student's file as a fresh module (its folder on sys.path while it loads)."""
    if not path.is_file():
        raise _LoadError(f"no such file: {path}")
    name = f"_tinyae_exercise_{abs(hash(str(path.resolve())))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _LoadError(f"cannot import {path}: is it a Python file?")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = f"\n    {exc.text.rstrip()}" if exc.text else ""
        raise _LoadError(f"{path} has a syntax error at {where}: {exc.msg}{text}") from None
    except Exception as exc:
        sys.modules.pop(name, None)
        raised = _summarise(exc, str(path.resolve()))
        raise _LoadError(f"{path} failed while loading: {raised}") from None
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
    return module


def _exercise_classes(module: Any) -> list[type]:
    found = []
    for value in vars(module).values():
        if isinstance(value, type) and value.__module__ == module.__name__:
            try:
                if exercise_of(value) is not None:
                    found.append(value)
            except ValueError:
                found.append(value)  # a misspelt exercise name: grade() reports it
    return found


def main_check(target: str, *, max_examples: int = DEFAULT_EXAMPLES, seed: int = 0,
               backend_name: str | None = None, file: Any = None) -> int:
    """Grade ``path/to/file.py`` (every exercise class defined in it) or ``path/to/file.py::ClassName``.

    Prints the report and returns the exit code: 0 when every gradient of every class passes,
    1 when one fails, raises or is not written yet, 2 when nothing could be graded (no such
    file, an import error, no exercise class found).
    """
    out = file if file is not None else sys.stdout

    def say(text: str) -> None:
        print(text, file=out)

    if _HYPOTHESIS_ERROR is not None:
        say("tinyae check needs hypothesis (a dependency of tinyae), which is not installed: pip install hypothesis")
        return EXIT_ERROR
    path_text, _, name = target.partition("::")
    try:
        module = _load(Path(path_text))
    except _LoadError as exc:
        say(f"tinyae check: {exc}")
        return EXIT_ERROR
    if name:
        obj = module
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            known = ", ".join(c.__name__ for c in _exercise_classes(module)) or "none"
            say(f"tinyae check: {path_text} has no class {name!r}; exercise classes in it: {known}")
            return EXIT_ERROR
        targets = [obj]
    else:
        targets = _exercise_classes(module)
        if not targets:
            say(f"tinyae check: found no exercise class in {path_text}: an exercise class has an attribute "
                f"exercise = \"...\" (one of {', '.join(EXERCISES)}) or subclasses the tinyae layer it implements")
            return EXIT_ERROR
    code = EXIT_PASS
    for i, obj in enumerate(targets):
        if i:
            say("")
        try:
            ok = check(obj, max_examples=max_examples, seed=seed, backend_name=backend_name, file=out)
        except (TypeError, ValueError, backend.BackendUnavailable) as exc:
            say(f"tinyae check: {exc}")
            return EXIT_ERROR
        if not ok:
            code = EXIT_FAIL
    return code


def _main(argv: list[str] | None = None) -> int:
    """``python -m tinyae.exercises FILE[::Class] [options]``: the same as ``tinyae check``."""
    from .cli import main

    return main(["check", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(_main())

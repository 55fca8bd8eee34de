"""Grade an exercise class (or instance) in this process: :func:`grade` returns the result, :func:`check` prints it.

How it grades. Hypothesis draws many cases (shapes, hyper-parameters, values). Each case is
checked by the exercise's trial (:mod:`tinyae.exercises.trial`): the numerical gradient from
pristine copies, the student's code on copies, gradients pre-filled and accumulated twice,
inputs and parameters checked for in-place changes. Per tensor,
``error = max|a - n| / max(1, max|a|, max|n|) <= 1e-6`` in float64. Then, for every tensor,
hypothesis's shrinker searches for the *smallest* case where that tensor fails
(``hypothesis.find``), and the report shows it, with a hint when the numbers show a known
mistake. Code that passes on NumPy is run again on a few cases on the strict backend, which
refuses NumPy calls as a GPU would.

This runs the student's code in the caller's process: ``tinyae check`` runs it in a child
process instead (:mod:`tinyae.exercises.isolation`).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import sys
import traceback
from collections.abc import Iterator
from typing import Any

from .. import backend
from ..gradcheck import DEFAULT_TOL, TensorCheck
from . import catalog, hints
from .catalog import EXERCISES, Exercise, exercise_of
from .limits import DEFAULT_EXAMPLES, DEFAULT_SHRINK_BUDGET
from .report import ExerciseResult, TensorVerdict, describe, values_of
from .search import Outcome, Raised, Searcher, short_path

CATALOG_FILE = catalog.__file__  # a TypeError raised here, at the constructor's call, is a wrong signature

OTHER_BACKEND_CASES = 3  # passing NumPy cases run again on the strict backend


def grade(
    cls_or_obj: Any,
    *,
    max_examples: int = DEFAULT_EXAMPLES,
    seed: int = 0,
    tol: float = DEFAULT_TOL,
    backend_name: str | None = None,
    shrink_budget: int = DEFAULT_SHRINK_BUDGET,
    exercise: str | None = None,
    own_method: bool = False,
) -> ExerciseResult:
    """Grade an exercise class (or instance) and return the :class:`ExerciseResult` (no printing).

    A class is built afresh for every case with the case's hyper-parameters (its constructor
    takes the library layer's arguments, e.g. ``Dense(in_features, out_features)``). An
    instance keeps its own hyper-parameters: only the batch, sizes and values are drawn, and
    it is never changed (each case builds a new object of its class). ``exercise`` names the
    check to run when the class does not say (or says another). ``own_method=True`` (what
    ``tinyae check`` asks) counts a method inherited from tinyae's own layer as not written.
    """
    found = EXERCISES.get(exercise) if exercise else exercise_of(cls_or_obj)
    if found is None:
        what = cls_or_obj.__name__ if isinstance(cls_or_obj, type) else repr(cls_or_obj)
        if exercise:
            raise ValueError(f"no exercise named {exercise!r}; known: {', '.join(EXERCISES)}")
        raise TypeError(
            f"{what} is not an exercise: give the class an attribute exercise = \"...\" (one of "
            f"{', '.join(EXERCISES)}) or subclass the tinyae layer it implements"
        )
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    fixed = {} if isinstance(cls_or_obj, type) else _fixed_hyper(found, cls_or_obj)
    try:
        source = os.path.abspath(inspect.getsourcefile(cls) or "")
    except TypeError:
        source = None

    def make(case: dict[str, Any], *args: Any, library: bool = False) -> Any:
        """The student's object for this case; with ``library=True`` tinyae's own (or None if it has none)."""
        target = found.library if library else cls
        if target is None:
            return None
        try:
            return found.build(target, case, *args)
        except TypeError as exc:
            if library or traceback.extract_tb(exc.__traceback__)[-1].filename != CATALOG_FILE:
                raise  # raised inside the constructor: the student's own error, reported as such
            raise TypeError(f"{cls.__qualname__}() does not take the arguments of tinyae's {found.name} exercise "
                            f"({exc}): keep the template's constructor") from None

    subject = f"{cls.__qualname__}" + (f" ({short_path(source)})" if source else "")
    name = backend_name or backend.get_backend()
    result = ExerciseResult(subject, found, tol, max_examples, seed, method=f"{cls.__qualname__}.{found.method}",
                            backend=name)
    inherited = _inherited_from_tinyae(cls, found.method) if own_method else None
    if inherited is not None:
        result.not_written = Raised("inherited", f"{result.method} is tinyae's own {inherited}.{found.method}, "
                                    "inherited: write yours in the class", "", found.method)
        return result
    forbidden = _library_method_refused(found) if own_method else contextlib.nullcontext()
    with backend.preserved_rng(), forbidden:
        with backend.use_backend(name):
            searcher = Searcher(found, make, found.cases(fixed), source=source, seed=seed,
                                max_examples=max_examples, shrink_budget=shrink_budget)
            simplest = searcher.simplest()
            first = searcher.evaluate(simplest)
            if first.not_written is not None:
                result.not_written = first.not_written
                if first.not_written.function and first.not_written.function != "<module>":
                    result.method = f"{cls.__qualname__}.{first.not_written.function}"
                return result
            _search(result, searcher, simplest)
            if result.raised is not None and name != "numpy":
                _explain_by_numpy(result, searcher, source, seed)
        if name == "numpy" and result.passed:
            result.other_backend = _on_strict(searcher, make, source, seed)
    return result


def _search(result: ExerciseResult, searcher: Searcher, simplest: dict[str, Any]) -> None:
    exercise = searcher.exercise
    raising = searcher.smallest(lambda o: o.raised is not None)
    if raising is not None:
        result.raised = searcher.evaluate(raising).raised
        result.raised_case = describe(exercise, raising)
        result.raised_values = values_of(exercise, raising)
    for tensor in exercise.tensors:
        smallest = searcher.smallest(lambda o, t=tensor: o.checks is not None and not _passed(o.checks, t))
        ran = [(case, o.checks[tensor]) for case, o in searcher.cache.values() if o.checks and tensor in o.checks]
        verdict = TensorVerdict(tensor, smallest is None, len(ran),
                                max((c.error for _, c in ran if math.isfinite(c.error)), default=0.0))
        if smallest is not None:
            outcome = searcher.evaluate(smallest)
            assert outcome.checks is not None
            verdict.failure = outcome.checks.get(tensor) or TensorCheck(tensor, math.inf, result.tol,
                                                                         note="not computed")
            verdict.failing_case = describe(exercise, smallest)
            verdict.failing_values = values_of(exercise, smallest)
            verdict.hint = verdict.failure.hint or hints.from_cases(
                exercise.config, simplest, [case for case, c in ran if not c.passed],
                [case for case, c in ran if c.passed])
        result.tensors.append(verdict)
    outcomes = [o for _, o in searcher.cache.values()]
    result.cases = len(outcomes)
    result.raised_cases = sum(o.raised is not None for o in outcomes)
    result.warnings = sorted({w for o in outcomes if o.trial for w in o.trial.warnings})
    if result.raised is not None and result.raised.kind != "SystemExit":
        raised = [case for case, o in searcher.cache.values() if o.raised is not None]
        ran = [case for case, o in searcher.cache.values() if o.raised is None]
        # "raises only when stride is not 1" says more than the exception's text
        result.raised.hint = hints.from_cases(exercise.config, simplest, raised, ran) or result.raised.hint


def _passed(checks: dict[str, TensorCheck], tensor: str) -> bool:
    c = checks.get(tensor)
    return c is not None and c.passed


def _on_strict(searcher: Searcher, make: Any, source: str | None, seed: int) -> Any:
    """Run a few cases that passed on NumPy on the strict backend; what went wrong there, or None."""
    cases = [case for case, o in searcher.cache.values() if o.trial is not None][:OTHER_BACKEND_CASES]
    try:
        with backend.use_backend("strict"):
            strict = Searcher(searcher.exercise, make, searcher.strategy, source=source, seed=seed,
                              max_examples=0, shrink_budget=0)
            for case in cases:
                outcome = strict.evaluate(case)
                problem = _problem(outcome)
                if problem is not None:
                    problem.hint = problem.hint if problem.hint == hints.DEVICE_HINT else hints.GPU_HINT
                    return problem
    except backend.BackendUnavailable:  # array_api_strict not installed: nothing to compare
        return None
    return None


def _problem(outcome: Outcome) -> Any:
    if outcome.raised is not None:
        return outcome.raised
    if outcome.trial is not None:
        wrong = [c for c in outcome.trial.checks if not c.passed]
        if wrong:
            return Raised("wrong gradient", f"the {wrong[0].name} gradient is wrong there (error {wrong[0].error:.1e})",
                          "")
    return None


def _explain_by_numpy(result: ExerciseResult, searcher: Searcher, source: str | None, seed: int) -> None:
    """On another backend the code raised: if the smallest raising case passes on NumPy, say why it differs."""
    assert result.raised is not None
    case = next(c for c, o in searcher.cache.values() if o.raised is not None)
    with backend.use_backend("numpy"):
        numpy = Searcher(searcher.exercise, searcher.make, searcher.strategy, source=source, seed=seed,
                         max_examples=0, shrink_budget=0).evaluate(case)
    if numpy.trial is not None and all(c.passed for c in numpy.trial.checks):
        result.raised.hint = hints.GPU_HINT


def _inherited_from_tinyae(cls: type, method: str) -> str | None:
    """The tinyae class ``cls`` takes ``method`` from (the student did not write it), or None."""
    for klass in cls.__mro__:
        if method in vars(klass):
            return klass.__qualname__ if klass.__module__.split(".")[0] == "tinyae" else None
    return None


class LibraryMethodCalled(RuntimeError):
    """The student's method handed the work to tinyae's own (``super().backward(...)``)."""


@contextlib.contextmanager
def _library_method_refused(exercise: Exercise) -> Iterator[None]:
    """While a submission is graded, tinyae's own method of the exercise raises instead of answering.

    ``return super().backward(grad_out)`` (or ``ae.Dense.backward(self, grad_out)``) would
    otherwise pass without a line of the student's own; the grader never calls that method
    itself while the stub is in place (Adam's reference step was taken before).
    """
    library, method = exercise.library, exercise.method
    if library is None or method not in vars(library):
        yield
        return
    original = vars(library)[method]

    def refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise LibraryMethodCalled(f"your {method} calls tinyae's own {library.__name__}.{method} "
                                  f"(super().{method} or ae.{library.__name__}.{method}): write it yourself")

    setattr(library, method, refused)
    try:
        yield
    finally:
        setattr(library, method, original)


def _fixed_hyper(exercise: Exercise, obj: Any) -> dict[str, Any]:
    fixed = {}
    for name in exercise.hyper:
        value = getattr(obj, name)
        fixed[name] = value if not isinstance(value, list) else tuple(value)
    return fixed


def check(
    cls_or_obj: Any,
    *,
    max_examples: int = DEFAULT_EXAMPLES,
    seed: int = 0,
    backend_name: str | None = None,
    exercise: str | None = None,
    file: Any = None,
) -> bool:
    """Grade an exercise, print the report (to ``file``, default stdout), return True only if all pass.

    ``max_examples`` cases are drawn per search, deterministically for a given ``seed``;
    ``backend_name`` ("numpy", "strict", "cupy") runs the check there (default: the current backend).
    """
    result = grade(cls_or_obj, max_examples=max_examples, seed=seed, backend_name=backend_name, exercise=exercise)
    print(result, file=file if file is not None else sys.stdout)
    return result.passed

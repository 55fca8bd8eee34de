"""The search: evaluate the student's code on cases (each once), and let hypothesis shrink failures.

Everything is derandomized (the same cases for the same ``seed``) and bounded: at most
``max_examples`` generated cases and ``shrink_budget`` further evaluations per search, every case
evaluated once (results are cached), so the verdict does not depend on the machine's speed.
"""

from __future__ import annotations

import contextlib
import os
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from random import Random
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import NoSuchExample

from . import hints
from .catalog import Case, Exercise
from .trial import Trial


@dataclass
class Raised:
    """An exception from the student's code (or the case), summarised for the report."""

    kind: str
    message: str
    where: str  # "file.py:12 in backward: <the line>", the deepest frame in the student's file
    function: str = ""  # that frame's function, e.g. "backward"
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.kind}: {self.message}" if self.message else self.kind
        return text + (f"\n      at {self.where}" if self.where else "")


@dataclass
class Outcome:
    """One case's result: the trial's verdicts, or what the student's code raised."""

    trial: Trial | None = None
    raised: Raised | None = None
    not_written: Raised | None = None

    @property
    def checks(self) -> dict[str, Any] | None:
        return None if self.trial is None else {c.name: c for c in self.trial.checks}


def summarise(exc: BaseException, source: str | None) -> Raised:
    """The exception's type, first message line, and the deepest frame in ``source`` (else the last)."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if source and os.path.abspath(f.filename) == source]
    if not mine:  # the source is unknown: the deepest frame outside tinyae and installed libraries
        mine = [f for f in frames if not _is_library(f.filename)]
    frame = (mine or [None])[-1]  # only library frames: no line of the student's to show
    where, function = "", ""
    if frame is not None:
        function = frame.name
        where = f"{short_path(frame.filename)}:{frame.lineno} in {frame.name}"
        if frame.line:
            line = frame.line.strip()
            where += f":  {line if len(line) <= 100 else line[:97] + '...'}"
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else ""
    kind = type(exc).__name__
    if isinstance(exc, SystemExit):
        message = f"sys.exit({exc.code!r}) was called"
    return Raised(kind, message[:300], where, function, hints.from_exception(kind, message))


DISPLAY_ROOT: str | None = None  # paths in reports are relative to this folder (default: the working directory)


_TINYAE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _is_library(path: str) -> bool:
    path = os.path.abspath(path)
    return path.startswith(_TINYAE + os.sep) or f"{os.sep}site-packages{os.sep}" in path or "<frozen" in path


def short_path(path: str) -> str:
    try:
        rel = os.path.relpath(path, DISPLAY_ROOT)
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


@contextlib.contextmanager
def _without_local_constants() -> Iterator[None]:
    """Keep hypothesis's draws independent of what the process has imported.

    Recent hypothesis versions mix literals found in every loaded "local" module (the student's
    file, a test-suite, tinyae itself when installed in editable mode) into the values they draw,
    so the same seed could give other cases after another import. The grader promises the same
    cases for the same seed, so inside its searches that pool is empty.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants

        original, cache = providers._get_local_constants, providers.CONSTANTS_CACHE
    except (ImportError, AttributeError):  # another hypothesis: nothing to pin
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


class Searcher:
    """Evaluates cases once each (cached) and runs hypothesis searches over them."""

    def __init__(self, exercise: Exercise, make: Callable[..., Any], strategy: Any, *, source: str | None,
                 seed: int, max_examples: int, shrink_budget: int) -> None:
        self.exercise, self.make, self.strategy, self.source = exercise, make, strategy, source
        self.seed, self.max_examples, self.shrink_budget = seed, max_examples, shrink_budget
        self.cache: dict[tuple, tuple[Case, Outcome]] = {}

    def evaluate(self, case: Case) -> Outcome:
        key = _key(case)
        if key not in self.cache:
            self.cache[key] = (case, self._run(case))
        return self.cache[key][1]

    def _run(self, case: Case) -> Outcome:
        try:
            # a wrong answer may divide by zero: its inf/NaN fails the verdict, NumPy's warning is noise
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                trial = self.exercise.run(lambda *args, **kw: self.make(case, *args, **kw), case, self.seed)
        except NotImplementedError as exc:
            raised = summarise(exc, self.source)
            return Outcome(not_written=raised, raised=raised)
        except KeyboardInterrupt:  # the teacher's Ctrl-C, in this process
            raise
        except BaseException as exc:  # noqa: BLE001  (the student's code may raise anything: report it, with the case)
            return Outcome(raised=summarise(exc, self.source))
        return Outcome(trial=trial)

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

    def smallest(self, failing: Callable[[Outcome], bool]) -> Case | None:
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
            with _without_local_constants():
                return find(self.strategy, condition, settings=self.settings(), random=Random(self.seed))
        except NoSuchExample:
            return None

    def simplest(self) -> Case:
        """The simplest case of the strategy (hypothesis's minimal example)."""
        with _without_local_constants():
            return find(self.strategy, lambda case: True, settings=self.settings(), random=Random(self.seed))



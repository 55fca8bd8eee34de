r"""Gradient-check exercises: grade a student's backward pass against finite differences.

The templates in ``exercises/`` give a layer's forward pass and leave its backward pass to
the student. This package grades one:

    tinyae check exercises/dense.py::Dense          (the command line: a child process per file)
    tinyae check submissions/*.py --json out.json   (a whole class, in parallel, with a summary)
    python -m tinyae.exercises exercises/dense.py   (the same, without the tinyae command)
    tinyae.exercises.check(Dense)                   (from Python or a notebook, in this process)

How a class says what it is: a class attribute ``exercise = "dense"`` names its check (one of
:data:`EXERCISES`). A class without one that subclasses a tinyae layer or loss gets that
layer's check.

One job per module:

* :mod:`~tinyae.exercises.catalog`: the exercises, what each draws and how it checks a case
  (:mod:`~tinyae.exercises.adam_step` and :mod:`~tinyae.exercises.vae_steps`: the two that are
  not a layer's gradient check);
* :mod:`~tinyae.exercises.trial`: one case run honestly (copies in, pristine numerical gradients,
  accumulation, in-place changes); :mod:`~tinyae.exercises.hints`: the one-line hints;
* :mod:`~tinyae.exercises.search`: hypothesis's search for the smallest failing case;
* :mod:`~tinyae.exercises.grading` and :mod:`~tinyae.exercises.report`: the result and its report;
* :mod:`~tinyae.exercises.loading`, :mod:`~tinyae.exercises.child`, :mod:`~tinyae.exercises.isolation`,
  :mod:`~tinyae.exercises.batch`: files, the child process, its limits, batch results and JSON.

Names are imported on first use, so ``tinyae demo`` and ``tinyae --version`` never load hypothesis.
"""

from __future__ import annotations

import importlib
from typing import Any

from .limits import DEFAULT_EXAMPLES, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, EXIT_ERROR, EXIT_FAIL, EXIT_PASS

__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "EXERCISES", "EXIT_ERROR", "EXIT_FAIL",
           "EXIT_PASS", "Exercise", "ExerciseResult", "check", "exercise_of", "grade", "main_check"]

_LAZY = {
    "EXERCISES": "catalog", "Exercise": "catalog", "exercise_of": "catalog",
    "ExerciseResult": "report", "check": "grading", "grade": "grading", "main_check": "batch",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

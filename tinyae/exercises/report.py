"""The result of grading one exercise class, as data (:class:`ExerciseResult`) and as the printed report."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..gradcheck import TensorCheck
from .catalog import Case, Exercise
from .search import Raised


def describe(exercise: Exercise, case: Case) -> str:
    return ", ".join(f"{k}={case[k]}" for k in exercise.config)


MAX_SHOWN_VALUES = 16  # a failing case's arrays are printed when they hold at most this many numbers in all


def values_of(exercise: Exercise, case: Case) -> str:
    """The case's arrays, compactly, when they are small: x=[[0.5]], weight=[[-1.2]], ..."""
    arrays = {k: v for k, v in case.items() if isinstance(v, np.ndarray)}
    if sum(v.size for v in arrays.values()) > MAX_SHOWN_VALUES:
        return ""
    return ", ".join(f"{k}={_compact(v)}" for k, v in arrays.items())


def _compact(a: np.ndarray) -> str:
    """[[0.5, -1.25], [0, 2]]: an array on one line, 4 significant digits, no alignment padding."""
    text = np.array2string(a + 0.0, precision=4, separator=", ", floatmode="maxprec", max_line_width=10**6)
    return re.sub(r"\[\s+", "[", re.sub(r"\s+", " ", text))


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
    hint: str = ""  # the likely mistake: from the failing values, or from which cases fail

    def to_dict(self) -> dict[str, Any]:
        f = self.failure
        return {
            "tensor": self.name, "passed": self.passed, "cases": self.cases,
            "largest_error": _finite(self.largest_error),
            "error": None if f is None else _finite(f.error),
            "note": "" if f is None else f.note,
            "failing_case": self.failing_case, "hint": self.hint,
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None  # JSON has no inf


@dataclass
class ExerciseResult:
    """Everything :func:`~tinyae.exercises.check` prints, as data; ``str(result)`` is the report."""

    subject: str
    exercise: Exercise
    tol: float
    max_examples: int
    seed: int
    method: str = ""
    backend: str = "numpy"
    not_written: Raised | None = None
    raised: Raised | None = None
    raised_case: str = ""
    raised_values: str = ""
    raised_cases: int = 0  # cases in which the student's code raised
    cases: int = 0  # cases evaluated in all
    tensors: list[TensorVerdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    other_backend: Raised | None = None  # passed on NumPy, failed on the strict (GPU-like) backend

    @property
    def passed(self) -> bool:
        return (self.not_written is None and self.raised is None and self.other_backend is None
                and all(t.passed for t in self.tensors))

    @property
    def failed_tensors(self) -> list[str]:
        return [t.name for t in self.tensors if not t.passed]

    @property
    def status(self) -> str:
        """One word: "pass", "fail", "raised" (the code raised, no tensor wrong), or "not done"."""
        if self.not_written is not None:
            return "not done"
        if self.passed:
            return "pass"
        return "fail" if self.failed_tensors or self.other_backend is not None else "raised"

    def first_wrong_step(self) -> str:
        """For an objective checked step by step: 'd/dz, step 5 (decoder affine)', or ""."""
        wrong = self.failed_tensors
        steps = self.exercise.steps
        return f"d/d{wrong[0]}, {steps[wrong[0]]}" if steps and wrong else ""

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (the report's text included, as ``"report"``)."""
        raised = self.raised or self.not_written
        return {
            "class": self.subject.split(" ")[0], "exercise": self.exercise.name, "status": self.status,
            "passed": self.passed, "backend": self.backend, "cases": self.cases,
            "tensors": [t.to_dict() for t in self.tensors],
            "raised": None if raised is None else {"kind": raised.kind, "message": raised.message,
                                                   "where": raised.where, "case": self.raised_case,
                                                   "hint": raised.hint},
            "other_backend": None if self.other_backend is None else str(self.other_backend),
            "first_wrong_step": self.first_wrong_step(),
            "warnings": list(self.warnings), "report": str(self),
        }

    def __str__(self) -> str:
        lines = [f"Checking {self.subject}: {self.exercise.title}"]
        if self.not_written is not None and self.not_written.kind == "inherited":
            lines.append(f"  {self.not_written.message}.")
            lines.append("NOT DONE")
            return "\n".join(lines)
        if self.not_written is not None:
            where = self.not_written.where.split(" in ", 1)[0] if self.not_written.where else ""
            lines.append(f"  {self.method} is not written yet: write it where it says `# YOUR CODE HERE`"
                         + (f" ({where})" if where else "") + " and remove the `raise NotImplementedError`.")
            lines.append("NOT DONE")
            return "\n".join(lines)
        lines.append(f"  {self.max_examples} cases per search, drawn by hypothesis (seed {self.seed}), against central "
                     f"differences in float64{'' if self.backend == 'numpy' else f' (backend {self.backend})'};")
        lines.append("  a gradient passes when max|yours - numerical| / max(1, max|yours|, max|numerical|) "
                     f"<= {self.tol:.0e}")
        if self.raised is not None:
            lines.append(f"  your code raised {self.raised}")
            lines.append(f"      in {self.raised_cases} of {self.cases} cases; smallest case that raises: "
                         f"{self.raised_case}")
            if self.raised_values:
                lines.append(f"      values: {self.raised_values}")
            if self.raised.hint:
                lines.append(f"      hint: {self.raised.hint}")
        for t in self.tensors:
            lines.extend(self._tensor_lines(t))
        if self.other_backend is not None:
            hint = self.other_backend.hint or "works on NumPy but not on the GPU backend"
            lines.append(f"  GPU backend: FAIL  {hint}")
            lines.append(f"      on the strict backend your code raised {self.other_backend}")
        for warning in self.warnings:
            lines.append(f"  note: {warning}")
        lines.append(self._verdict())
        return "\n".join(lines)

    def _tensor_lines(self, t: TensorVerdict) -> list[str]:
        label = f"{t.name} gradient:"
        if t.passed and self.raised is not None:  # never a PASS line above a student error
            if not t.cases:
                return [f"  {label} NOT CHECKED  your code raised in every case (see above)"]
            return [f"  {label} NOT GRADED  right in the {t.cases} cases that ran, but your code raised in "
                    f"{self.raised_cases} others (see above)"]
        if t.passed:
            return [f"  {label} PASS  largest error {t.largest_error:.1e} in {t.cases} cases"]
        f = t.failure
        assert f is not None
        if f.note:
            lines = [f"  {label} FAIL  {f.note}"]
        else:
            where = "[" + ", ".join(map(str, f.index)) + "]"
            lines = [f"  {label} FAIL  error {f.error:.1e}",
                     f"      worst element {where}: numerical {f.numerical + 0.0:.6g}, "
                     f"yours {f.analytic + 0.0:.6g} (relative error {f.relative_error:.1e})"]
        lines.append(f"      smallest failing case: {t.failing_case}")
        if t.failing_values:
            lines.append(f"      values: {t.failing_values}")
        if t.hint:
            lines.append(f"      hint: {t.hint}")
        return lines

    def _verdict(self) -> str:
        if self.passed:
            what = "the gradient matches" if len(self.tensors) == 1 else f"all {len(self.tensors)} gradients match"
            return f"PASS: {what} the numerical one{'' if len(self.tensors) == 1 else 's'}."
        wrong = self.failed_tensors
        parts = []
        if self.exercise.steps and wrong:  # tensors are in backward order
            parts.append(f"the first wrong gradient in backward order is {self.first_wrong_step()}"
                         + (f" ({len(wrong)} wrong in all: the ones after it are computed from it, fix it first)"
                            if len(wrong) > 1 else ""))
        elif len(wrong) == 1:
            parts.append(f"the {wrong[0]} gradient is wrong")
        elif wrong:
            parts.append(f"{len(wrong)} of {len(self.tensors)} gradients are wrong ({', '.join(wrong)})")
        if self.raised is not None:
            parts.append("your code raised an exception")
        if self.other_backend is not None:
            parts.append("your code does not run on the GPU backend")
        start = " Start from the smallest failing case." if wrong or self.raised is not None else ""
        return f"FAIL: {'; '.join(parts)}.{start}"

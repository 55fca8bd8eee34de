"""The child process that grades one submission: ``python -m tinyae.exercises.child`` (the request on stdin).

It sets its memory and output limits, imports the student's file, grades every exercise class in
it (:func:`grade_target`), writes the result as JSON to the path the request names (atomically,
with the parent's secret), and ends at once with ``os._exit``. While it runs it appends
"Class<TAB>phase" lines to a status file whenever the student's code enters another method, and
:mod:`faulthandler` dumps its stack to a file shortly before the wall-clock limit, so the parent
can say where a submission hung, exited or crashed (:mod:`tinyae.exercises.isolation`).
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ..backend import BackendUnavailable
from . import search, trial
from .catalog import exercise_of
from .grading import grade
from .loading import ExitedWhileLoading, LoadError, resolve

OUTPUT_LIMIT = 64 * 2**20  # bytes any file of the child may reach, its captured output included


def grade_target(target: str, *, exercise: str | None, max_examples: int, seed: int,
                 backend_name: str | None, status: Any = None) -> dict[str, Any]:
    """Grade ``FILE.py[::Class]`` in this process: the file's result as JSON-ready data."""
    start = time.perf_counter()
    result: dict[str, Any] = {"target": target, "file": target.partition("::")[0], "classes": [], "message": ""}
    mark = status or (lambda line: None)
    try:
        mark("\timport")
        _, classes = resolve(target, exercise)
    except ExitedWhileLoading as exc:
        result.update(status="exited", message=str(exc))
    except LoadError as exc:
        result.update(status="error", message=str(exc))
    else:
        for cls in classes:
            name = getattr(cls, "__qualname__", repr(cls))
            try:
                if exercise is None:
                    exercise_of(cls)  # a misspelt `exercise = ...` cannot be graded
            except ValueError as exc:
                result.update(status="error", message=str(exc))
                break
            trial.watch_phases(lambda phase, name=name: mark(f"{name}\t{phase}"))
            try:
                graded = grade(cls, max_examples=max_examples, seed=seed, backend_name=backend_name,
                               exercise=exercise, own_method=True)
            except BackendUnavailable as exc:
                result.update(status="error", message=str(exc))
                break
            finally:
                trial.watch_phases(None)
            result["classes"].append(graded.to_dict())
        else:
            statuses = {c["status"] for c in result["classes"]}
            result["status"] = ("pass" if statuses == {"pass"} else "fail" if statuses & {"fail", "raised"}
                                else "not done")
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def main() -> None:
    """Read the request from stdin, set the limits, grade, write the result, and end at once."""
    request = json.loads(sys.stdin.read())
    _limit_resources(request)
    search.DISPLAY_ROOT = request["display_root"]
    status_file = open(request["status_path"], "a", buffering=1)  # noqa: SIM115  (open while grading)
    stack = open(request["stack_path"], "w")  # noqa: SIM115

    def mark(line: str) -> None:
        status_file.write(line + "\n")

    # A stack dump at the limit, so the parent can say where the code hung.
    faulthandler.dump_traceback_later(request["timeout"], exit=True, file=stack)
    try:
        result = grade_target(request["target"], exercise=request["exercise"], max_examples=request["max_examples"],
                              seed=request["seed"], backend_name=request["backend"], status=mark)
    except BaseException as exc:  # noqa: BLE001  (a bug of the grader: say so, never "your code exited")
        result = {"target": request["target"], "file": request["target"].partition("::")[0], "classes": [],
                  "status": "error", "message": "the grader itself failed (a bug in tinyae: please report it): "
                  + "".join(traceback.format_exception_only(type(exc), exc)).strip()}
    faulthandler.cancel_dump_traceback_later()
    result["nonce"] = request["nonce"]  # the parent takes only a result that carries its secret
    out = Path(request["result_path"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, out)  # the parent never reads a half-written result
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # now: no atexit handler or thread of the student's runs after the result


def _limit_resources(request: dict[str, Any]) -> None:
    """The memory and output limits, set here rather than in a preexec_fn (unsafe with the parent's threads)."""
    try:
        import resource
    except ImportError:  # not POSIX: only the wall-clock limit applies
        return
    memory = request.get("memory_mb")
    if memory and request.get("backend") != "cupy":  # CUDA reserves far more address space than it uses
        resource.setrlimit(resource.RLIMIT_AS, (memory * 2**20, memory * 2**20))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))  # printing without end
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


if __name__ == "__main__":
    main()

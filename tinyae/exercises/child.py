"""The child process that grades one submission: ``python -m tinyae.exercises.child REQUEST.json``.

It imports the student's file, grades every exercise class in it (:func:`grade_target`), and
writes the result as JSON to the path the request names, atomically. While it runs it appends
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
from pathlib import Path
from typing import Any

from . import search, trial
from .grading import grade
from .loading import ExitedWhileLoading, LoadError, resolve


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
            trial.watch_phases(lambda phase, name=name: mark(f"{name}\t{phase}"))
            try:
                graded = grade(cls, max_examples=max_examples, seed=seed, backend_name=backend_name,
                               exercise=exercise)
            except (TypeError, ValueError) as exc:
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


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text())
    search.DISPLAY_ROOT = request["display_root"]
    status_file = open(request["status_path"], "a", buffering=1)  # noqa: SIM115  (open while grading)

    def mark(line: str) -> None:
        status_file.write(line + "\n")

    with open(request["stack_path"], "w") as stack:
        # A stack dump just before the parent's limit, so it can say where the code hung.
        faulthandler.dump_traceback_later(request["timeout"], exit=True, file=stack)
        result = grade_target(request["target"], exercise=request["exercise"], max_examples=request["max_examples"],
                              seed=request["seed"], backend_name=request["backend"], status=mark)
        faulthandler.cancel_dump_traceback_later()
    out = Path(request["result_path"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, out)  # the parent never reads a half-written result
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

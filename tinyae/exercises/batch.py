"""``tinyae check FILES...``: grade submissions (each in its own child process), report, write JSON.

One file: its full report. Several: one line per file as they finish (in the order given), then a
class summary: how many pass, which tensor fails most, and the most common hint. ``--json OUT``
writes every file's per-class, per-tensor results; ``--format gradescope`` writes Gradescope's
``results.json`` for one submission instead.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..threads import cores
from .isolation import grade_in_child
from .limits import DEFAULT_EXAMPLES, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, EXIT_ERROR, EXIT_FAIL, EXIT_PASS

FORMATS = ("tinyae", "gradescope")


def main_check(targets: Sequence[str] | str, *, exercise: str | None = None, max_examples: int = DEFAULT_EXAMPLES,
               seed: int = 0, backend_name: str | None = None, timeout: float = DEFAULT_TIMEOUT,
               memory_mb: int | None = DEFAULT_MEMORY_MB, jobs: int | None = None, json_out: str | None = None,
               fmt: str = "tinyae", file: Any = None) -> int:
    """Grade every target (``FILE.py`` or ``FILE.py::ClassName``), print, write JSON; return the exit code.

    0 when every gradient of every file passes; 2 when nothing could be graded (every file
    missing, unimportable, or without an exercise class) or the options are wrong; 1 otherwise.
    """
    out = file if file is not None else sys.stdout
    targets = list(dict.fromkeys([targets] if isinstance(targets, str) else targets))  # each file once, in order

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    problem = _check_options(targets, exercise, max_examples, timeout, json_out, fmt)
    if problem:
        print(f"tinyae check: {problem}", file=sys.stderr)
        return EXIT_ERROR
    workers = max(1, min(jobs or cores(), len(targets)))

    def run(target: str) -> dict[str, Any]:
        return grade_in_child(target, exercise=exercise, max_examples=max_examples, seed=seed,
                              backend_name=backend_name, timeout=timeout, memory_mb=memory_mb)

    results = []
    with ThreadPoolExecutor(workers) as pool:
        for result in pool.map(run, targets):  # in the order given, each as soon as it and those before are done
            results.append(result)
            say(full_report(result) if len(targets) == 1 else one_line(result))
    if len(targets) > 1:
        say()
        say(summary(results))
    if json_out:
        data = gradescope(results[0]) if fmt == "gradescope" else {"files": results, "summary": summary(results)}
        _write_json(Path(json_out), data)
    if all(r["status"] == "pass" for r in results):
        return EXIT_PASS
    if all(r["status"] == "error" for r in results):
        return EXIT_ERROR
    return EXIT_FAIL


def _check_options(targets: list[str], exercise: str | None, max_examples: int, timeout: float,
                   json_out: str | None, fmt: str) -> str:
    """What is wrong with the options, or "": checked before grading, so no result is lost at the end."""
    if not targets:
        return "name at least one FILE.py"
    if fmt not in FORMATS:
        return f"unknown --format {fmt!r}: expected one of {', '.join(FORMATS)}"
    if fmt == "gradescope" and (len(targets) != 1 or not json_out):
        return ("--format gradescope writes the results.json of ONE submission (Gradescope runs the autograder "
                f"once per student): give one file and --json results.json (got {len(targets)} file(s))")
    if exercise is not None:
        from .catalog import EXERCISES

        if exercise not in EXERCISES:
            return f"unknown --exercise {exercise!r}: expected one of {', '.join(EXERCISES)}"
    if not (isinstance(max_examples, int) and max_examples >= 1):
        return f"--max-examples must be at least 1, got {max_examples!r}"
    if not (math.isfinite(timeout) and timeout > 0):
        return f"--timeout must be a positive number of seconds, got {timeout:g}"
    if json_out is not None:
        if not json_out:
            return "--json needs a file name"
        if Path(json_out).is_dir():
            return f"cannot write --json {json_out}: it is a folder"
        try:  # make the folder and try a file there now, rather than lose the results at the end
            folder = Path(os.path.abspath(json_out)).parent
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            return f"cannot write --json {json_out}: {exc.strerror or exc}"
    return ""


def full_report(result: dict[str, Any]) -> str:
    """One file's reports (every class's), after what the student's code printed, if anything."""
    printed = result.get("output", "").strip()
    head = f"your code printed (the last {len(printed)} characters):\n{printed}\n\n" if printed else ""
    if result["classes"] and result["status"] not in ("error", "exited"):
        return head + "\n\n".join(c["report"] for c in result["classes"])
    return head + f"tinyae check: {result['message']}"


def one_line(result: dict[str, Any]) -> str:
    """``mine.py  FAIL  Dense: bias wrong (hint: ...)``: one file's verdict on one line."""
    name = result["target"]
    status = result["status"]
    if status in ("error", "timeout", "exited", "crashed"):
        return f"{name}  {status.upper()}  {result['message'].splitlines()[0]}"
    parts = []
    for c in result["classes"]:
        if c["status"] == "pass":
            parts.append(f"{c['class']}: all {len(c['tensors'])} gradients pass")
        elif c["status"] == "not done":
            parts.append(f"{c['class']}: not written yet")
        else:
            wrong = [t["tensor"] for t in c["tensors"] if not t["passed"]]
            what = ", ".join(wrong) + " wrong" if wrong else ""
            if c.get("first_wrong_step"):
                what = f"{len(wrong)} wrong, the first in backward order {c['first_wrong_step']}"
            if c["raised"]:
                what = ", ".join(filter(None, [what, f"raised {c['raised']['kind']}"]))
            if c["other_backend"]:
                what = ", ".join(filter(None, [what, "works on NumPy but fails on the GPU backend (use "
                                                         "xp = ae.array_module(...), not numpy)"]))
            hint = next(iter(_hints(c)), "")
            parts.append(f"{c['class']}: {what}" + (f" (hint: {hint})" if hint else ""))
    return f"{name}  {status.upper()}  " + "; ".join(parts)


def _hints(c: dict[str, Any]) -> list[str]:
    found = [t["hint"] for t in c["tensors"] if not t["passed"] and t["hint"]]
    if c["raised"] and c["raised"]["hint"]:
        found.append(c["raised"]["hint"])
    return found


def summary(results: list[dict[str, Any]]) -> str:
    """How many files pass; the tensor that fails in the most files, with the most common hint."""
    n = len(results)
    statuses = Counter(r["status"] for r in results)
    passed = statuses.pop("pass", 0)
    lines = [f"Class summary: {passed} of {n} file{'s' if n != 1 else ''} pass"
             + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) + ")" if statuses else "")]
    tensors: Counter[str] = Counter()
    hints_of: dict[str, Counter[str]] = {}
    for r in results:
        for c in r["classes"]:
            for t in c["tensors"]:
                if not t["passed"]:
                    key = f"{c['exercise']} {t['tensor']}"
                    tensors[key] += 1
                    if t["hint"]:
                        hints_of.setdefault(key, Counter())[t["hint"]] += 1
    if tensors:
        key, count = tensors.most_common(1)[0]
        line = f"  most failed tensor: {key} gradient, wrong in {count} file{'s' if count != 1 else ''}"
        if key in hints_of:
            hint, times = hints_of[key].most_common(1)[0]
            line += f"; most common hint ({times}): {hint}"
        lines.append(line)
        others = ", ".join(f"{k} ({v})" for k, v in tensors.most_common()[1:4])
        if others:
            lines.append(f"  then: {others}")
    seconds = sum(r.get("seconds", 0.0) for r in results)
    lines.append(f"  grading time: {seconds:.0f} s of child processes")
    return "\n".join(lines)


def gradescope(result: dict[str, Any]) -> dict[str, Any]:
    """Gradescope's results.json for one submission: a test (one point) per tensor, the report as output."""
    tests = []
    for c in result["classes"]:
        clean = c["raised"] is None and c["status"] != "not done"
        for t in c["tensors"]:
            ok = t["passed"] and clean
            tests.append({"name": f"{c['class']}: {t['tensor']} gradient", "score": 1.0 if ok else 0.0,
                          "max_score": 1.0, "status": "passed" if ok else "failed",
                          "output": _tensor_feedback(c, t)})
        if c["backend"] == "numpy":
            ok = c["status"] == "pass"
            tests.append({"name": f"{c['class']}: runs on the GPU backend (strict)", "score": 1.0 if ok else 0.0,
                          "max_score": 1.0, "status": "passed" if ok else "failed",
                          "output": c["other_backend"] or ("" if ok else "checked once every gradient passes")})
    score = sum(t["score"] for t in tests)
    return {"score": score, "output": full_report(result), "tests": tests, "visibility": "visible",
            "stdout_visibility": "hidden"}


def _tensor_feedback(c: dict[str, Any], t: dict[str, Any]) -> str:
    if c["status"] == "not done":
        return "not written yet"
    if t["passed"] and c["raised"] is None:
        return f"PASS: largest error {t['largest_error']:.1e} in {t['cases']} cases"
    if t["passed"]:
        return f"not graded: your code raised {c['raised']['kind']}: {c['raised']['message']}"
    what = t["note"] or f"error {t['error'] or float('inf'):.1e}"
    text = f"FAIL: {what}; smallest failing case: {t['failing_case']}"
    return text + (f"; hint: {t['hint']}" if t["hint"] else "")


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)

"""Grade one submission in a child process, with a wall-clock and a memory limit.

The child (:mod:`tinyae.exercises.child`) runs in a fresh temporary working directory, with
one BLAS thread, an address-space limit (``RLIMIT_AS``) and a wall-clock limit. Whatever the
student's code does, the parent gets a verdict: ``sys.exit`` at import is "exited", ``os._exit``
or a crash ends the child without a result and is reported with the method it was in (the
status file), an endless loop is "timeout" with the line it was stuck on (faulthandler's stack
dump).

This is NOT a security sandbox: the child runs with the rights of the user who runs
``tinyae check`` and can read, write or delete their files, use the network, or start
processes. Grade untrusted code inside a container or as a throwaway user (exercises/README.md).
"""

from __future__ import annotations

import json
import linecache
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .limits import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT

OUTPUT_KEPT = 4000  # characters of the student's own printing kept in the result
KILL_GRACE = 5.0  # seconds after the limit before the parent kills a child that did not stop itself


def grade_in_child(target: str, *, exercise: str | None = None, max_examples: int, seed: int = 0,
                   backend_name: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                   memory_mb: int | None = DEFAULT_MEMORY_MB) -> dict[str, Any]:
    """The result of grading ``FILE.py[::Class]`` in a child process (see :func:`child.grade_target`)."""
    shown = target
    path_text, sep, name = target.partition("::")
    target = str(Path(path_text).resolve()) + sep + name
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tinyae-check-") as scratch:
        folder = Path(scratch)
        paths = {k: folder / f"{k}.txt" for k in ("request", "result", "status", "stack")}
        paths["status"].touch()
        paths["request"].write_text(json.dumps({
            "target": target, "exercise": exercise, "max_examples": max_examples, "seed": seed,
            "backend": backend_name, "timeout": timeout, "result_path": str(paths["result"]),
            "status_path": str(paths["status"]), "stack_path": str(paths["stack"]), "display_root": os.getcwd(),
        }))
        work = folder / "work"
        work.mkdir()
        process = subprocess.Popen(
            [sys.executable, "-m", "tinyae.exercises.child", str(paths["request"])],
            cwd=work, env=_child_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_limits(memory_mb) if os.name == "posix" else None,
        )
        try:
            output, _ = process.communicate(timeout=timeout + KILL_GRACE)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill(process)
            output, _ = process.communicate()
            timed_out = True
        seconds = time.perf_counter() - start
        text = output.decode(errors="replace")
        if paths["result"].exists() and not timed_out:
            result = json.loads(paths["result"].read_text())
        else:
            result = _no_result(target, process.returncode, timed_out, timeout, paths, text)
    result.update(target=shown, file=path_text, seconds=round(seconds, 3), output=text[-OUTPUT_KEPT:])
    return result


def _child_environment() -> dict[str, str]:
    import tinyae

    env = dict(os.environ)
    package_root = str(Path(tinyae.__file__).resolve().parent.parent)  # tinyae importable from any cwd
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[name] = "1"  # submissions are graded side by side, one core each
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONFAULTHANDLER"] = "1"  # a crash prints the stack into the output
    return env


def _limits(memory_mb: int | None) -> Any:
    def apply() -> None:
        import resource

        if memory_mb:
            limit = int(memory_mb) * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the child's own session: its children go too
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()


def _no_result(target: str, returncode: int | None, timed_out: bool, timeout: float, paths: dict[str, Path],
               output: str) -> dict[str, Any]:
    """The verdict for a child that ended without writing a result."""
    where = _last_phase(paths["status"])
    stack = paths["stack"].read_text(errors="replace") if paths["stack"].exists() else ""
    line = _student_line(stack or output, target.partition("::")[0])
    in_what = f" in {where}" if where else ""
    at = f" (at {line})" if line else ""
    if timed_out or "Timeout (" in stack:
        status, message = "timeout", (f"your code timed out{in_what}{at}: no verdict within {timeout:g} s "
                                      "(an endless loop? raise the limit with --timeout)")
    elif returncode is not None and returncode < 0:
        sig = _signal_name(-returncode)
        status, message = "crashed", f"your code crashed{in_what}{at}: the grading process was killed by {sig}"
        if sig == "SIGKILL":
            message += " (out of memory?)"
    elif returncode == 0 or (returncode is not None and returncode > 0 and "MemoryError" not in output):
        status, message = "exited", (f"your code exited{in_what}{at} with status {returncode} before a verdict: "
                                     "a layer returns its result, it never calls os._exit() or sys.exit()")
    else:
        status, message = "crashed", f"your code ran out of memory{in_what}{at}"
    return {"target": target, "file": target.partition("::")[0], "status": status, "message": message,
            "classes": []}


def _last_phase(status: Path) -> str:
    lines = [line for line in status.read_text(errors="replace").splitlines() if line.strip()]
    if not lines:
        return ""
    cls, _, phase = lines[-1].partition("\t")
    if phase == "import":
        return "the import of the file"
    if phase == "__init__":
        return f"{cls}.__init__" if cls else "the constructor"
    return f"{cls}.{phase}" if cls else phase


def _student_line(stack: str, path: str) -> str:
    """'mine.py:12: while True: pass' from a faulthandler or Python stack, the innermost frame in ``path``."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', stack)
    mine = [(f, int(n)) for f, n in frames if os.path.abspath(f) == os.path.abspath(path)]
    if not mine:
        return ""
    # faulthandler lists the most recent call first; a Python traceback lists it last
    file, number = mine[0] if "most recent call first" in stack else mine[-1]
    source = linecache.getline(file, number).strip()
    return f"{os.path.basename(file)}:{number}" + (f": {source}" if source else "")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"

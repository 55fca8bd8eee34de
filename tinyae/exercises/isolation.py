"""Grade one submission in a child process, with a wall-clock and a memory limit.

The child (:mod:`tinyae.exercises.child`) runs in a fresh temporary working directory, with
one BLAS thread, an address-space limit (``RLIMIT_AS``), a 64 MB limit on what it prints or
writes, and a wall-clock limit; its result counts only if it exits cleanly and carries a secret
the parent gave it. Whatever the
student's code does, the parent gets a verdict: ``sys.exit`` at import is "exited", ``os._exit``
or a crash ends the child without a result and is reported with the method it was in (the
status file), an endless loop is "timeout" with the line it was stuck on (faulthandler's stack
dump).

This is NOT a security sandbox, and not tamper-proof: the child runs with the rights of the user
who runs ``tinyae check`` and can read, write or delete their files, use the network, or start
processes, and code that sets out to cheat can change the grader from inside its own process.
It stops accidents (an exit, a hang, a crash, a runaway allocation), not attacks: grade untrusted
code inside a container or as a throwaway user (exercises/README.md).
"""

from __future__ import annotations

import json
import linecache
import os
import re
import secrets
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
    # Two folders: the child works in `work`; its request, result and status files are in `control`.
    with tempfile.TemporaryDirectory(prefix="tinyae-check-") as control, \
            tempfile.TemporaryDirectory(prefix="tinyae-work-") as work:
        paths = {k: Path(control) / f"{k}.txt" for k in ("result", "status", "stack", "output")}
        paths["status"].touch()
        nonce = secrets.token_hex(16)
        request = json.dumps({
            "target": target, "exercise": exercise, "max_examples": max_examples, "seed": seed,
            "backend": backend_name, "timeout": timeout, "memory_mb": memory_mb, "nonce": nonce,
            "result_path": str(paths["result"]), "status_path": str(paths["status"]),
            "stack_path": str(paths["stack"]), "display_root": os.getcwd(),
        })
        with open(paths["output"], "wb") as output:  # a file, not a pipe: nothing the child prints fills memory
            process = subprocess.Popen(
                [sys.executable, "-m", "tinyae.exercises.child"], cwd=work, env=_child_environment(),
                stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
            try:
                process.stdin.write(request.encode())
                process.stdin.close()
            except BrokenPipeError:  # the child died before reading its request
                pass
            try:
                process.wait(timeout=timeout + KILL_GRACE)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill(process)  # its whole session, whatever it started in the background
            process.wait()
        seconds = time.perf_counter() - start
        text = _tail(paths["output"], OUTPUT_KEPT)
        result = _result(paths["result"], nonce) if process.returncode == 0 and not timed_out else None
        if result is None:
            result = _no_result(target, process.returncode, timed_out, timeout, paths, text)
    result.update(target=shown, file=path_text, seconds=round(seconds, 3), output=text)
    return result


def _result(path: Path, nonce: str) -> dict[str, Any] | None:
    """The child's result, if it wrote one that carries this run's secret."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(result, dict) or result.pop("nonce", None) != nonce:
        return None
    return result


def _tail(path: Path, size: int) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - size))
        return f.read().decode(errors="replace")


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


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the child's own session: its children go too
    except (ProcessLookupError, PermissionError, AttributeError):
        if process.poll() is None:
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
    elif "MemoryError" in output:
        status, message = "crashed", f"your code ran out of memory{in_what}{at} (the limit: tinyae check --memory MB)"
    elif returncode is not None and returncode < 0:
        sig = _signal_name(-returncode)
        status, message = "crashed", f"your code crashed{in_what}{at}: the grading process was killed by {sig}"
        if sig == "SIGKILL":
            message += " (out of memory?)"
    else:
        status, message = "exited", (f"your code exited{in_what}{at} with status {returncode} before a verdict: "
                                     "a layer returns its result, it never calls os._exit() or sys.exit()")
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

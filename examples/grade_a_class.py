"""Try `tinyae check`'s batch mode on a generated class: python examples/grade_a_class.py [--students 20].

It writes synthetic submissions of the Dense exercise into a folder, as a class would hand them
in: right answers, the usual mistakes (the bias not summed over the batch, a missing transpose,
`=` for `+=`, numpy calls that fail on the GPU backend, keepdims), and the ones that would hang
or fool a grader (os._exit, an endless loop, a syntax error). Then it grades them all with

    tinyae check FOLDER/*.py --exercise dense --json FOLDER/results.json

and prints the per-file lines, the class summary and the wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HEADER = """\
import numpy as np
import tinyae as ae


class Dense(ae.Dense):
    exercise = "dense"

    def forward(self, x):
        self._x = x
        return x @ self.weight.data + self.bias.data

    def backward(self, grad_out):
        xp = ae.array_module(grad_out)
"""

RIGHT = """
self.weight.grad += self._x.T @ grad_out
self.bias.grad += xp.sum(grad_out, axis=0)
return grad_out @ self.weight.data.T
"""

# kind -> (the body of backward, or a whole file; the status tinyae check should give)
KINDS = {
    "right": (RIGHT, "pass"),
    "bias_not_summed": (RIGHT.replace("xp.sum(grad_out, axis=0)", "grad_out[0, :]"), "fail"),
    "missing_transpose": (RIGHT.replace("self.weight.data.T", "self.weight.data"), "fail"),
    "assigns_instead_of_adding": (RIGHT.replace("grad +=", "grad ="), "fail"),
    "numpy_sum": (RIGHT.replace("xp.sum(", "np.sum("), "fail"),
    "keepdims": (RIGHT.replace("axis=0)", "axis=0, keepdims=True)"), "fail"),
    "os_exit": ("import os\nos._exit(0)", "exited"),
    "endless_loop": ("while True:\n    pass", "timeout"),
    "syntax_error": (None, "error"),
}
# a class of 20: most are right, the usual mistakes a few times each
CLASS_OF_20 = (["right"] * 8 + ["bias_not_summed"] * 3 + ["missing_transpose"] * 2 + ["assigns_instead_of_adding"] * 2
               + ["numpy_sum", "keepdims", "os_exit", "endless_loop", "syntax_error"])


def dense_source(body: str) -> str:
    """A Dense submission whose backward is ``body`` (after the line xp = ae.array_module(grad_out))."""
    return HEADER + textwrap.indent(textwrap.dedent(body).strip(), " " * 8) + "\n"


def submission(kind: str) -> str:
    body, _ = KINDS[kind]
    return "class Dense(:\n" if body is None else dense_source(body)


def write_class(folder: Path, kinds: list[str]) -> dict[str, str]:
    """One file per student, student_01_right.py ...; returns file name -> the expected status."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for i, kind in enumerate(kinds, 1):
        name = f"student_{i:02d}_{kind}.py"
        (folder / name).write_text(submission(kind))
        expected[name] = KINDS[kind][1]
    return expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20, help="class size (default: %(default)s)")
    parser.add_argument("--folder", default=None, help="where to write the submissions (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per file (default: %(default)s)")
    args = parser.parse_args()
    kinds = [CLASS_OF_20[i % len(CLASS_OF_20)] for i in range(args.students)]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.folder or scratch)
        write_class(folder, kinds)
        files = sorted(str(p) for p in folder.glob("student_*.py"))
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tinyae", "check", *files, "--exercise", "dense",
                               "--timeout", str(args.timeout), "--json", str(folder / "results.json")])
        print(f"wall time: {time.perf_counter() - start:.1f} s for {len(files)} submissions")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

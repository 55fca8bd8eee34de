"""The README's tour is the file the main-job command runs, and it runs."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_tour_is_examples_tour():
    tour = (ROOT / "examples" / "tour.py").read_text()
    assert tour in _python_blocks((ROOT / "README.md").read_text())


def test_tour_runs_and_learns():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "tour.py")], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    errors = [float(v) for v in re.findall(r"reconstruction MSE ([0-9.]+)", out)]
    assert len(errors) == 4 and errors[-1] < 0.05 * errors[0], out
    assert "gradient check of Dense(4 -> 3): PASS" in out


def test_readme_main_job_is_the_demos():
    readme = (ROOT / "README.md").read_text()
    assert 'python3 -m pip install -e ".[demos]" && python3 -m tinyae demo all' in readme


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^(python3 -m pip install -e \"\.\[test\]\".*?)\s+#", readme, re.M).group(1).strip()
    assert command in (ROOT / ".ci" / "run").read_text()


def test_every_readme_example_runs(tmp_path, monkeypatch):
    """Each python block in the README runs as written (the GPU one only where CuPy can run)."""
    from tinyae.backend import BackendUnavailable

    monkeypatch.chdir(tmp_path)
    import numpy as np

    import tinyae as ae

    namespace = {"ae": ae, "np": np}
    for block in _python_blocks((ROOT / "README.md").read_text()):
        if "import torch" in block and importlib.util.find_spec("torch") is None:
            continue  # torch is optional: the interop tests skip without it too
        if 'set_backend("cupy")' in block:
            try:  # needs a GPU; without one the backend tests cover the error path
                ae.set_backend("cupy")
            except BackendUnavailable:
                continue
        try:
            exec(compile(block, "README.md", "exec"), namespace)
        finally:
            ae.set_backend("numpy")

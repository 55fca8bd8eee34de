"""The lecture notebooks: one per demo, in the lecture's order, valid and committed without outputs,
each running its own demo. Executing them all is scripts/run_notebooks.py's job (CI runs it before
the tests: too slow for the suite); here one small notebook checks that the runner reports failures."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from tinyae import demos

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
NAME = re.compile(r"(\d\d)_([a-z][a-z0-9_]*)\.ipynb")


def _notebook_names() -> list[str]:
    return [NAME.fullmatch(path.name).group(2) for path in NOTEBOOKS if NAME.fullmatch(path.name)]


def test_tinyae_demos_imports_every_module_that_registers_a_demo():
    """So DEMOS holds every demo, in the order of that import, whatever a test imported first."""
    package = ROOT / "tinyae" / "demos"
    registering = {path.stem for path in package.glob("*.py") if "@demo(" in path.read_text()}
    assert {"lecture", "animation"} <= registering
    imported = [alias.name for node in ast.parse((package / "__init__.py").read_text()).body
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None
                for alias in node.names]
    assert registering <= set(imported), f"tinyae.demos does not import {sorted(registering - set(imported))}"
    modules = [entry.run.__module__.rsplit(".", 1)[1] for entry in demos.DEMOS.values()]
    assert set(modules) == registering
    assert modules == sorted(modules, key=imported.index), "DEMOS is not in tinyae.demos' import order"


def test_every_demo_has_a_notebook_and_every_notebook_a_demo():
    assert NOTEBOOKS, "no notebooks in notebooks/"
    misnamed = [path.name for path in NOTEBOOKS if not NAME.fullmatch(path.name)]
    assert not misnamed, f"notebooks are named NN_<demo>.ipynb: {misnamed}"
    numbers = [int(NAME.fullmatch(path.name).group(1)) for path in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)), f"notebooks are numbered 01, 02, ...: {numbers}"
    names = _notebook_names()
    assert len(set(names)) == len(names), f"a demo has two notebooks: {names}"
    missing, extra = set(demos.DEMOS) - set(names), set(names) - set(demos.DEMOS)
    assert not missing, f"demos without a notebook: {sorted(missing)}"
    assert not extra, f"notebooks of no demo: {sorted(extra)}"


def test_the_notebooks_follow_the_lecture():
    """The nine lecture demos first, then the others: tinyae demo --list's order."""
    lecture = [name for name, entry in demos.DEMOS.items() if entry.run.__module__ == "tinyae.demos.lecture"]
    assert len(lecture) == 9
    assert _notebook_names()[:9] == lecture
    assert _notebook_names() == list(demos.DEMOS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_is_valid_has_no_outputs_and_runs_its_demo(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear its outputs"
    assert sum(cell.cell_type == "markdown" for cell in notebook.cells) >= 3  # the idea, the objective, the figures
    source = "\n".join(cell.source for cell in code)
    name = NAME.fullmatch(path.name).group(2)
    assert re.search(rf'demos\.run\("{name}", data=DATA, epochs=EPOCHS\b', source), f"{path.name} runs no {name!r}"
    assert 'DATA = os.environ.get("TINYAE_NOTEBOOK_DATA", "fashion-mnist-small")' in source
    assert 'EPOCHS = int(os.environ["TINYAE_NOTEBOOK_EPOCHS"]) if os.environ.get("TINYAE_NOTEBOOK_EPOCHS") else None' \
        in source


def test_the_notebooks_are_what_build_notebooks_writes():
    """notebooks/build_notebooks.py is their source: edit it and rerun it, then these files match."""
    spec = importlib.util.spec_from_file_location("build_notebooks", FOLDER / "build_notebooks.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    built = builder.build()
    assert sorted(built) == [path.name for path in NOTEBOOKS]
    stale = [name for name, text in built.items() if (FOLDER / name).read_text() != text]
    assert not stale, f"{stale} differ from what notebooks/build_notebooks.py writes: rerun it"


def test_the_runner_gives_the_kernels_their_settings_and_reports_a_failure(tmp_path, capsys, monkeypatch):
    """scripts/run_notebooks.py: the kernels see TINYAE_NOTEBOOK_DATA/EPOCHS; a failing cell fails
    the run with the error's last line; nothing is written into the notebooks."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbformat.v4 import new_code_cell, new_notebook

    for variable in ("TINYAE_NOTEBOOK_DATA", "TINYAE_NOTEBOOK_EPOCHS"):  # unset now, and again after the test
        monkeypatch.setenv(variable, "")
        monkeypatch.delenv(variable)
    good, bad = tmp_path / "01_good.ipynb", tmp_path / "02_bad.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(
        "import os\nassert os.environ['TINYAE_NOTEBOOK_DATA'] == 'digits'\n"
        "assert os.environ['TINYAE_NOTEBOOK_EPOCHS'] == '1'\nprint('seen')")]), good)
    nbformat.write(new_notebook(cells=[new_code_cell("raise ValueError('no such thing')")]), bad)
    before = {path: path.read_text() for path in (good, bad)}
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))  # while it runs: its workers import it too
    import run_notebooks

    assert run_notebooks.main([str(good), str(bad), "--timeout", "120"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"01_good\.ipynb +[\d.]+ s  ok", out), out
    assert re.search(r"02_bad\.ipynb +[\d.]+ s  FAILED: ValueError: no such thing", out), out
    assert "1 of 2 notebooks ran" in out
    assert {path: path.read_text() for path in (good, bad)} == before

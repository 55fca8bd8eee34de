"""The command line refuses bad options in one line on stderr and exit status 2, before any work starts.

Each case here once gave a Python traceback (an --out that is a file: NotADirectoryError when the
first demo made its folder; an unwritable --out: PermissionError), or was taken for the student's
mistake (``tinyae check --seed -1``: "your code raised ValueError"), or ran on regardless.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinyae import cli

EXERCISE = str(Path(__file__).resolve().parents[1] / "exercises" / "relu.py")


@pytest.fixture
def locked(tmp_path):
    """A folder with mode 0o500 (no writing). Root (os.geteuid() == 0, as in many CI containers) writes
    into it regardless: then the test is skipped, after a probe rather than a guess from the uid."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        (folder / "probe").mkdir()
    except PermissionError:
        yield folder
    else:
        pytest.skip(f"permissions are not enforced for this user (euid {getattr(os, 'geteuid', lambda: '?')()}):"
                    " cannot test an unwritable folder")
    finally:
        folder.chmod(0o700)


def _one_error_line(capsys, *fragments: str) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "figures.txt"
    path.write_text("not a folder\n")
    return path


def test_demo_out_that_is_a_file_is_refused_before_any_demo_runs(a_file, capsys):
    assert cli.main(["demo", "all", "--dataset", "digits", "--epochs", "1", "--no-progress", "--out",
                     str(a_file)]) == 2
    _one_error_line(capsys, "tinyae demo: error: argument --out: expected a writable folder",
                    f"got {str(a_file)!r}, an existing file")
    assert a_file.read_text() == "not a folder\n"


def test_demo_out_inside_a_file_is_refused(a_file, capsys):
    out = a_file / "sub"
    assert cli.main(["demo", "latent", "--dataset", "digits", "--epochs", "1", "--no-progress", "--out",
                     str(out)]) == 2
    _one_error_line(capsys, "argument --out: expected a writable folder", f"inside {str(a_file)!r}, which is a file")


def test_demo_out_empty_is_refused(capsys):
    assert cli.main(["demo", "latent", "--out", ""]) == 2
    _one_error_line(capsys, "argument --out: expected a writable folder, got ''")


@pytest.mark.parametrize("inside", [False, True], ids=["the-folder", "a-new-folder-in-it"])
def test_demo_out_unwritable_is_refused(locked, capsys, inside):
    out = locked / "figures" if inside else locked
    assert cli.main(["demo", "latent", "--dataset", "digits", "--epochs", "1", "--no-progress", "--out",
                     str(out)]) == 2
    _one_error_line(capsys, "argument --out: expected a writable folder", "not writable")
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["demo", "all", "--epochs", "-1"], "argument --epochs: expected a number >= 1, got -1"),
    (["demo", "latent", "--epochs=-1"], "argument --epochs: expected a number >= 1, got -1"),
    (["demo", "latent", "--dataset", "digits", "--epochs", "1", "--seed", "-1"],
     "argument --seed: expected a number >= 0, got -1"),
    (["check", EXERCISE, "--max-examples", "5", "--seed", "-1"], "argument --seed: expected a number >= 0, got -1"),
    (["check", EXERCISE, "--max-examples", "5", "--jobs", "0"], "argument --jobs: expected a number >= 1, got 0"),
    (["check", EXERCISE, "--max-examples", "5", "--memory", "-1"], "argument --memory: expected a number >= 0, got -1"),
    (["check", EXERCISE, "--max-examples", "0"], "argument --max-examples: expected a number >= 1, got 0"),
])
def test_bad_numbers_are_argparse_errors(argv, message, capsys):
    """argparse's own refusal: its usage lines, then one error line, exit status 2."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].endswith(message), err
    assert "Traceback" not in err


def test_check_json_inside_a_file_is_refused_before_grading(a_file, capsys):
    out = a_file / "results.json"
    assert cli.main(["check", EXERCISE, "--max-examples", "5", "--json", str(out)]) == 2
    _one_error_line(capsys, "tinyae check: error: argument --json: expected a file name in a writable folder",
                    f"whose folder is {str(a_file)!r}, an existing file")
    assert capsys.readouterr().out == ""  # nothing graded


def test_check_json_that_is_a_folder_is_refused(tmp_path, capsys):
    assert cli.main(["check", EXERCISE, "--json", str(tmp_path)]) == 2
    _one_error_line(capsys, "argument --json", f"got {str(tmp_path)!r}, a folder")


def test_check_json_in_an_unwritable_folder_is_refused(locked, capsys):
    assert cli.main(["check", EXERCISE, "--json", str(locked / "out" / "results.json")]) == 2
    _one_error_line(capsys, "argument --json: expected a file name in a writable folder", "not writable")
    assert capsys.readouterr().out == ""  # nothing graded

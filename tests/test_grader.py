"""A grader a teacher can trust: right verdicts, hints, isolation, batch results and JSON.

Each failure the grader once got wrong has a test here: an in-place but correct backward (was
FAIL), a backward that zeroes its cache and weights (was PASS), `=` for `+=` (was PASS), NumPy
calls (passed on NumPy, raw error on strict), keepdims, a col2im ignoring the stride (PASS lines
above a FAIL), sys.exit / os._exit / an endless loop (exit 0 or a hang), files deleted from the
grader's folder. Then batch mode on a folder of generated submissions, and both JSON formats.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinyae as ae
from tinyae.exercises import grade, hints, main_check

MAX = 8  # cases per search: enough to find every mistake below, and fast

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from grade_a_class import RIGHT as RIGHT_DENSE  # noqa: E402  (the generated class of examples/grade_a_class.py)
from grade_a_class import dense_source as dense  # noqa: E402
from grade_a_class import write_class  # noqa: E402


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source).lstrip())
    return path


def load_class(folder: Path, name: str, source: str, cls: str):
    import importlib.util

    path = write(folder, name, source)
    spec = importlib.util.spec_from_file_location(f"_grader_test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, cls)


# --------------------------------------------------------------------------- #
# Right verdicts
# --------------------------------------------------------------------------- #
def test_a_correct_backward_written_in_place_passes_with_a_note():
    class InPlaceSigmoid(ae.Sigmoid):
        def backward(self, grad_out):
            grad_out *= self._y * (1.0 - self._y)  # changes the caller's array: right, but risky
            return grad_out

    result = grade(InPlaceSigmoid, max_examples=MAX)
    assert result.passed, str(result)
    assert any("changed grad_out in place" in w for w in result.warnings)
    assert "note: your backward changed grad_out in place" in str(result)


def test_a_backward_that_zeroes_its_cache_and_weights_fails_every_tensor(tmp_path):
    cls = load_class(tmp_path, "zeroing.py", dense("""
        self._x[...] = 0.0               # destroys what forward kept
        self.weight.data[...] = 0.0      # and the parameter itself
        return xp.zeros_like(grad_out @ self.weight.data.T)
    """), "Dense")
    result = grade(cls, max_examples=MAX)
    assert set(result.failed_tensors) == {"input", "weight", "bias"}
    weight = next(t for t in result.tensors if t.name == "weight")
    assert "changed self.weight.data (the parameter itself) in place" in weight.failure.note


def test_a_backward_that_changes_its_input_fails_the_input_gradient():
    class ReLUChangingX(ae.ReLU):
        def forward(self, x):
            self._x = x
            return ae.ReLU.forward(self, x)

        def backward(self, grad_out):
            g = ae.ReLU.backward(self, grad_out)
            self._x[...] = 0.0  # the layer below still needs x
            return g

    result = grade(ReLUChangingX, max_examples=MAX)
    assert result.failed_tensors == ["input"]
    assert "your backward changed its input x in place" in str(result)


def test_assigning_a_gradient_instead_of_adding_fails_with_a_hint(tmp_path):
    cls = load_class(tmp_path, "assign.py", dense("""
        self.weight.grad = self._x.T @ grad_out          # = instead of +=
        self.bias.grad = xp.sum(grad_out, axis=0)
        return grad_out @ self.weight.data.T
    """), "Dense")
    result = grade(cls, max_examples=MAX)
    assert set(result.failed_tensors) == {"weight", "bias"}
    text = str(result)
    assert "the gradient is right, but it replaced what self.weight.grad held" in text
    assert "hint: add it: self.bias.grad += ..." in text


def test_a_second_backward_must_add_the_same_gradient_again(tmp_path):
    cls = load_class(tmp_path, "once.py", dense("""
        self.weight.grad += self._x.T @ grad_out
        self.bias.grad += xp.sum(grad_out, axis=0)
        self._x = self._x * 0.0          # "tidies up": a second backward adds nothing
        return grad_out @ self.weight.data.T
    """), "Dense")
    result = grade(cls, max_examples=MAX)
    assert result.failed_tensors == ["weight"]
    assert "a second backward did not add the same gradient again" in str(result)


def test_numpy_calls_fail_on_the_gpu_backend_with_the_fix_named(tmp_path):
    source = dense(RIGHT_DENSE).replace("xp.sum(grad_out", "np.sum(grad_out")
    cls = load_class(tmp_path, "npsum.py", source, "Dense")
    result = grade(cls, max_examples=MAX)  # the default: NumPy, then a few cases on strict
    assert not result.passed and result.failed_tensors == [] and result.other_backend is not None
    text = str(result)
    assert "GPU backend: FAIL  works on NumPy but not on the GPU backend: use xp = ae.array_module" in text
    assert "np.sum(grad_out, axis=0)" in text
    strict = grade(cls, max_examples=3, backend_name="strict")  # asked for strict: the same hint on the error
    assert strict.raised is not None and strict.raised.hint == hints.GPU_HINT


def test_keepdims_gets_a_hint_not_raw_numpy_text(tmp_path):
    cls = load_class(tmp_path, "keepdims.py", dense(RIGHT_DENSE.replace("axis=0)", "axis=0, keepdims=True)")),
                     "Dense")
    result = grade(cls, max_examples=MAX)
    assert result.raised is not None and "keepdims=True" in result.raised.hint


def test_a_col2im_ignoring_the_stride_is_an_error_with_a_hint_never_pass_lines(tmp_path):
    cls = load_class(tmp_path, "stride.py", """
        import tinyae as ae
        from tinyae.kernels import col2im
        from tinyae.layers.conv import pixel_rows

        class Conv2D(ae.Conv2D):
            exercise = "conv2d"

            def backward(self, grad_out):
                xp = ae.array_module(grad_out)
                cols, x_shape = self._cache
                g = pixel_rows(grad_out)
                self.weight.grad += xp.reshape(g.T @ cols, self.weight.data.shape)
                self.bias.grad += xp.sum(g, axis=0)
                dcols = g @ xp.reshape(self.weight.data, (self.weight.data.shape[0], -1))
                return col2im(dcols, x_shape, self.kernel_size, (1, 1), self.padding)
    """, "Conv2D")
    result = grade(cls, max_examples=20)
    text = str(result)
    assert result.raised is not None and not result.passed
    assert "gradient: PASS" not in text and "NOT GRADED  right in the" in text
    assert "passes whenever stride = 1 and fails only for other values" in result.raised.hint


@pytest.mark.parametrize("analytic, numerical, expected", [
    (np.ones((3, 2)), np.ones((2, 3)), "the transposed shape (3, 2) instead of (2, 3)"),
    (np.ones((1, 3)), np.ones(3), "keepdims=True"),
    (np.ones(4), np.ones(3), "summed over the wrong axis"),
    (-np.arange(1.0, 5.0), np.arange(1.0, 5.0), "the sign is flipped"),
    (2 * np.arange(1.0, 5.0), np.arange(1.0, 5.0), "yours = 2 x the right one"),
    (np.array([[1.0, 3.0], [2.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]), "transposed: a missing"),
    (np.zeros(3), np.ones(3), "all zeros"),
    (np.array([1.0, 5.0, 2.0]), np.array([1.0, 2.0, 3.0]), ""),  # no known pattern: no hint
])
def test_hints_from_the_values(analytic, numerical, expected):
    hint = hints.from_values(analytic, numerical)
    assert (expected in hint) if expected else hint == ""


def test_case_hints_need_passing_simple_cases_and_only_other_failures():
    simplest = {"stride": 1, "batch": 1}
    failing = [{"stride": 2, "batch": 1}, {"stride": 3, "batch": 2}]
    passing = [{"stride": 1, "batch": 2}]
    assert hints.from_cases(["batch", "stride"], simplest, failing, passing).startswith("passes whenever stride = 1")
    assert hints.from_cases(["stride"], simplest, failing + [{"stride": 1}], passing) == ""  # stride 1 fails too
    assert hints.from_cases(["stride"], simplest, failing, []) == ""  # nothing simple ran: no evidence


# --------------------------------------------------------------------------- #
# Isolation: every submission in a child process with limits
# --------------------------------------------------------------------------- #
RELU_BACKWARD = '''
import os
import sys
import tinyae as ae

class ReLU(ae.ReLU):
    exercise = "relu"

    def backward(self, grad_out):
{body}
'''


def relu(folder: Path, name: str, body: str) -> Path:
    return write(folder, name, RELU_BACKWARD.lstrip().format(body=textwrap.indent(body.strip(), " " * 8)))


def checked(capsys, targets, **kw):
    kw.setdefault("max_examples", 5)
    code = main_check([str(t) for t in targets] if isinstance(targets, list) else str(targets), **kw)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_sys_exit_at_import_is_a_failure_with_its_line(capsys, tmp_path):
    path = write(tmp_path, "exits.py", "import sys\nsys.exit(0)\n")
    code, out = checked(capsys, path)
    assert code == 1 and "called sys.exit(0) while loading" in out and "exits.py:2" in out


def test_sys_exit_in_backward_is_reported_as_such(capsys, tmp_path):
    code, out = checked(capsys, relu(tmp_path, "exits.py", "sys.exit(0)"))
    assert code == 1 and "your code raised SystemExit: sys.exit(0) was called" in out
    assert "never calls sys.exit()" in out


def test_os_exit_ends_the_child_and_says_in_which_method(capsys, tmp_path):
    code, out = checked(capsys, relu(tmp_path, "exits.py", "os._exit(0)"))
    assert code == 1 and "your code exited in ReLU.backward with status 0 before a verdict" in out


def test_an_endless_loop_times_out_with_the_line_it_was_on(capsys, tmp_path):
    code, out = checked(capsys, relu(tmp_path, "hangs.py", "while True:\n    pass"), timeout=5)
    assert code == 1 and "your code timed out in ReLU.backward" in out and "no verdict within 5 s" in out
    assert "hangs.py:9" in out or "hangs.py:10" in out  # the loop's lines


def test_a_memory_hog_is_stopped_by_the_limit(capsys, tmp_path):
    path = relu(tmp_path, "hog.py", "big = [0.0] * (2**28)  # 2 GiB of pointers\nreturn grad_out * self._mask")
    code, out = checked(capsys, path, memory_mb=1024)
    assert code == 1 and "MemoryError" in out and "--memory" in out


def test_the_child_works_in_a_scratch_folder(capsys, tmp_path, monkeypatch):
    """Relative paths in student code land in a throwaway folder, not the teacher's (not a sandbox!)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grades.csv").write_text("keep me")
    path = write(tmp_path, "deletes.py", """
        import os
        import tinyae as ae
        if os.path.exists("grades.csv"):
            os.remove("grades.csv")

        class ReLU(ae.ReLU):
            exercise = "relu"

            def backward(self, grad_out):
                return grad_out * self._mask
    """)
    code, _ = checked(capsys, path)
    assert code == 0 and (tmp_path / "grades.csv").read_text() == "keep me"


# --------------------------------------------------------------------------- #
# Batch grading and JSON
# --------------------------------------------------------------------------- #
CLASS = ["right", "bias_not_summed", "bias_not_summed", "missing_transpose", "os_exit", "endless_loop",
         "syntax_error"]


def test_batch_mode_grades_a_class_and_writes_json(capsys, tmp_path):
    expected = write_class(tmp_path, CLASS)
    out_json = tmp_path / "results" / "class.json"
    files = sorted(tmp_path.glob("*.py"))
    code, out = checked(capsys, files, exercise="dense", timeout=6, json_out=str(out_json), jobs=3)
    assert code == 1
    lines = out.splitlines()
    for path, line in zip(files, lines):  # one line per file, in the order given
        assert line.startswith(str(path)) and f"  {expected[path.name].upper()}  " in line
    assert "Class summary: 1 of 7 files pass" in out
    assert "most failed tensor: dense bias gradient, wrong in 2 files" in out
    assert "passes whenever batch = 1" in out  # the most common hint for it

    data = json.loads(out_json.read_text())
    by_name = {Path(f["file"]).name: f for f in data["files"]}
    assert {k: v["status"] for k, v in by_name.items()} == expected
    bob = by_name["student_02_bias_not_summed.py"]["classes"][0]
    assert bob["exercise"] == "dense" and bob["status"] == "fail"
    assert {t["tensor"]: t["passed"] for t in bob["tensors"]} == {"input": True, "weight": True, "bias": False}
    assert "smallest failing case" in bob["report"]
    assert "timed out" in by_name["student_06_endless_loop.py"]["message"]


def test_gradescope_results_for_one_submission(capsys, tmp_path):
    write_class(tmp_path, ["right", "bias_not_summed"])
    bob, alice = tmp_path / "student_02_bias_not_summed.py", tmp_path / "student_01_right.py"
    out_json = tmp_path / "results.json"
    code, _ = checked(capsys, bob, json_out=str(out_json), fmt="gradescope")
    assert code == 1
    data = json.loads(out_json.read_text())
    scores = {t["name"]: t["score"] for t in data["tests"]}
    assert scores == {"Dense: input gradient": 1.0, "Dense: weight gradient": 1.0, "Dense: bias gradient": 0.0,
                      "Dense: runs on the GPU backend (strict)": 0.0}
    assert data["score"] == 2.0 and "bias gradient: FAIL" in data["output"]
    assert all(t["max_score"] == 1.0 and t["status"] in ("passed", "failed") for t in data["tests"])
    assert checked(capsys, alice, json_out=str(out_json), fmt="gradescope")[0] == 0
    assert json.loads(out_json.read_text())["score"] == 4.0  # 3 tensors and the GPU backend
    code, out = checked(capsys, [bob, alice], json_out=str(out_json), fmt="gradescope")
    assert code == 2 and "ONE submission" in out


def test_the_command_line_does_not_load_hypothesis_for_demos_or_the_version():
    code = ("import sys, tinyae.cli; p = tinyae.cli.build_parser(); p.parse_args(['demo', '--list']); "
            "print('hypothesis' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_cases_do_not_depend_on_what_the_process_imported(tmp_path, monkeypatch):
    """Hypothesis mixes literals of loaded local modules (a student's file is one) into its draws:
    the grader's searches see an empty pool, so earlier imports cannot change the cases.

    (Without the pin, the MSE template's planted mistakes passed after the demo tests had run.)"""
    from hypothesis.internal.conjecture import providers

    from tinyae.exercises.search import _without_local_constants

    (tmp_path / "lots_of_constants.py").write_text("VALUES = [0.123456, 1.654321, 3.25, 1234567]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import lots_of_constants  # noqa: F401  (a new local module, full of literals)

    assert 0.123456 in providers._get_local_constants().floats  # what hypothesis would draw from
    with _without_local_constants():
        pool = providers._get_local_constants()
        assert len(pool.floats) == 0 and len(pool.integers) == 0
    assert 0.123456 in providers._get_local_constants().floats  # put back afterwards


# --------------------------------------------------------------------------- #
# What a second look found: the ways around the verdict that are closed now
# --------------------------------------------------------------------------- #
def test_a_method_left_to_tinyae_is_not_written(capsys, tmp_path):
    """Templates subclass tinyae's layer: deleting the method must not pass on the library's own."""
    path = write(tmp_path, "deleted.py", """
        import tinyae as ae

        class Dense(ae.Dense):
            exercise = "dense"
    """)
    code, out = checked(capsys, path)
    assert code == 1 and "Dense.backward is tinyae's own Dense.backward, inherited" in out and "NOT DONE" in out


def test_handing_the_work_to_tinyaes_own_method_fails(capsys, tmp_path):
    path = relu(tmp_path, "super.py", "return super().backward(grad_out)")
    code, out = checked(capsys, path)
    assert code == 1 and "your backward calls tinyae's own ReLU.backward (super().backward" in out
    adam = write(tmp_path, "adam.py", """
        import tinyae as ae

        class Adam(ae.Adam):
            exercise = "adam"

            def step(self):
                ae.Adam.step(self)
    """)
    code, out = checked(capsys, adam)
    assert code == 1 and "your step calls tinyae's own Adam.step" in out
    original = ae.ReLU.backward

    class Super(ae.ReLU):  # in this process too: refused while graded, tinyae's own again afterwards
        def backward(self, grad_out):
            return super().backward(grad_out)

    assert grade(Super, max_examples=3, own_method=True).raised.kind == "LibraryMethodCalled"
    assert ae.ReLU.backward is original and grade(Super, max_examples=3).passed


def test_a_forward_changed_so_that_any_backward_matches_fails(tmp_path):
    cls = load_class(tmp_path, "forward.py", dense("return xp.zeros_like(grad_out @ self.weight.data.T)").replace(
        "return x @ self.weight.data + self.bias.data", "return 0.0 * (x @ self.weight.data + self.bias.data)"),
        "Dense")
    result = grade(cls, max_examples=MAX)
    assert set(result.failed_tensors) == {"input", "weight", "bias"}
    assert "your forward no longer computes what tinyae's Dense does" in str(result)


def test_a_constructor_with_other_arguments_is_named(tmp_path):
    cls = load_class(tmp_path, "init.py", dense(RIGHT_DENSE).replace(
        '    exercise = "dense"\n', '    exercise = "dense"\n\n    def __init__(self, sizes):\n'
        '        super().__init__(*sizes)\n'), "Dense")
    result = grade(cls, max_examples=MAX)
    assert result.raised is not None and "Dense() does not take the arguments of tinyae's dense exercise" in \
        result.raised.message


def test_a_forged_result_file_does_not_count(capsys, tmp_path):
    """An atexit handler that writes 'pass' where the result might be: the child ends with os._exit
    right after its own result, and the parent takes only a result carrying its secret."""
    path = write(tmp_path, "forge.py", """
        import atexit, glob, json, os, tempfile
        import tinyae as ae

        def forge():
            for folder in glob.glob(os.path.join(tempfile.gettempdir(), "tinyae-check-*")):
                with open(os.path.join(folder, "result.txt"), "w") as f:
                    json.dump({"status": "pass", "classes": [], "message": "all good"}, f)

        atexit.register(forge)

        class ReLU(ae.ReLU):
            exercise = "relu"

            def backward(self, grad_out):
                forge()
                os._exit(0)
    """)
    code, out = checked(capsys, path)
    assert code == 1 and "your code exited in ReLU.backward" in out and "all good" not in out


def test_a_background_process_cannot_hold_the_grader(capsys, tmp_path):
    path = relu(tmp_path, "escape.py", "if os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(60)\n"
                "    os._exit(0)\nreturn grad_out * self._mask")
    import time

    start = time.perf_counter()
    code, out = checked(capsys, path, timeout=20)
    assert time.perf_counter() - start < 20  # the grandchild still sleeps: the verdict did not wait for it
    assert code == 0, out


def test_a_flood_of_output_is_cut_off(capsys, tmp_path):
    path = relu(tmp_path, "spam.py", "while True:\n    sys.stdout.write('x' * 2**20)")
    code, out = checked(capsys, path, timeout=30)
    assert code == 1 and "File too large" in out and "more than the grader allows (64 MB)" in out


def test_what_the_student_printed_is_shown_with_the_report(capsys, tmp_path):
    path = relu(tmp_path, "prints.py", "print('shape of grad_out:', grad_out.shape)\n"
                "return grad_out * self._mask")
    code, out = checked(capsys, path)
    assert code == 0 and "your code printed" in out and "shape of grad_out: (" in out


def test_a_base_exception_from_student_code_is_reported_as_raised(capsys, tmp_path):
    path = relu(tmp_path, "base.py", "class Odd(BaseException):\n    pass\nraise Odd('no')")
    code, out = checked(capsys, path)
    assert code == 1 and "your code raised Odd: no" in out


def test_a_new_array_on_the_wrong_device_gets_the_device_hint(tmp_path):
    cls = load_class(tmp_path, "device.py", """
        import tinyae as ae

        class ReLU(ae.ReLU):
            exercise = "relu"

            def backward(self, grad_out):
                xp = ae.array_module(grad_out)
                out = xp.zeros(grad_out.shape, dtype=grad_out.dtype)  # no device=: the CPU, not the GPU
                return out + ae.ReLU.backward(self, grad_out)
    """, "ReLU")
    result = grade(cls, max_examples=MAX)
    assert result.other_backend is not None and "device=" in result.other_backend.hint


@pytest.mark.parametrize("options, message", [
    (dict(json_out=""), "--json needs a file name"),
    (dict(json_out="/proc/no/such/results.json"), "cannot write --json"),
    (dict(timeout=float("inf")), "--timeout must be a positive number of seconds"),
    (dict(max_examples=0), "--max-examples must be at least 1"),
    (dict(exercise="nope"), "unknown --exercise 'nope'"),
])
def test_bad_options_are_refused_before_grading(capsys, tmp_path, options, message):
    path = relu(tmp_path, "ok.py", "return grad_out * self._mask")
    code = main_check([str(path)], **options)
    captured = capsys.readouterr()
    assert code == 2 and message in captured.err


def test_a_folder_and_a_repeated_file(capsys, tmp_path):
    path = relu(tmp_path, "ok.py", "return grad_out * self._mask")
    code, out = checked(capsys, [tmp_path, path, path])
    assert code == 1 and "is a folder: expected a .py file" in out
    assert "Class summary: 1 of 2 files pass" in out  # the repeated file is graded once

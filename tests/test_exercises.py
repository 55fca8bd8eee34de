"""The gradient-check exercises: templates, the grader's verdicts, and `main_check`'s exit codes.

* Every template in exercises/, unfilled, says which method to write (no traceback) and exits 1.
* Every template, filled with the library's own backward (the reference) or with the formulas of
  its docstring written out, passes.
* Typical student mistakes fail, on the right tensor, with the smallest case hypothesis shrank to;
  the planted mistakes of tests/exercise_solutions.py fail exactly their tensors.
* Files that cannot be graded (missing, broken, no exercise in them) exit 2 with a clear message.

The grader is derandomized, so every result here is the same on every run; the searches use
few examples (MAX) to keep the file fast.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinyae as ae
from tinyae import backend
from tinyae.exercises import EXERCISES, check, exercise_of, grade, main_check
from tinyae.kernels import col2im
from tinyae.layers import conv

sys.path.insert(0, str(Path(__file__).resolve().parent))
import exercise_solutions  # noqa: E402  (the solutions and planted mistakes of the newer templates)

ROOT = Path(__file__).resolve().parents[1]
EXERCISE_DIR = ROOT / "exercises"
MAX = 12  # cases per search in these tests (the command's default is 50)

TEMPLATES = {  # file -> (class, exercise)
    "dense.py": ("Dense", "dense"),
    "sigmoid.py": ("Sigmoid", "sigmoid"),
    "relu.py": ("ReLU", "relu"),
    "dropout.py": ("Dropout", "dropout"),
    "conv2d.py": ("Conv2D", "conv2d"),
    "bce.py": ("BCELoss", "bce"),
    "vae.py": ("VAEObjective", "vae"),
    "tanh.py": ("Tanh", "tanh"),
    "leaky_relu.py": ("LeakyReLU", "leaky_relu"),
    "conv_transpose2d.py": ("ConvTranspose2D", "conv_transpose2d"),
    "maxpool2d.py": ("MaxPool2D", "maxpool2d"),
    "mse.py": ("MSELoss", "mse"),
    "gaussian_kl.py": ("GaussianKL", "gaussian_kl"),
    "adam.py": ("Adam", "adam"),
    "vae_steps.py": ("VAESteps", "vae_steps"),
}

# The reference: the library's own backward pass (for the VAE, tinyae.gaussian_kl's gradients).
REFERENCE = {
    "dense.py": "return ae.Dense.backward(self, grad_out)",
    "sigmoid.py": "return ae.Sigmoid.backward(self, grad_out)",
    "relu.py": "return ae.ReLU.backward(self, grad_out)",
    "dropout.py": "return ae.Dropout.backward(self, grad_out)",
    "conv2d.py": "return ae.Conv2D.backward(self, grad_out)",
    "bce.py": "return ae.BCELoss.backward(self)",
    "vae.py": """
        _, dkl_mu, dkl_logvar = ae.gaussian_kl(self.mu, self.logvar)
        return g_z + self.beta * dkl_mu, g_z * self.eps * self.sigma * 0.5 + self.beta * dkl_logvar
    """,
}

# What a student writes from each template's docstring (so the docstrings' formulas and hints are right).
FROM_DOCSTRING = {
    "dense.py": """
        xp = ae.array_module(grad_out)
        self.weight.grad += self._x.T @ grad_out
        self.bias.grad += xp.sum(grad_out, axis=0)
        return grad_out @ self.weight.data.T
    """,
    "sigmoid.py": "return grad_out * self._y * (1.0 - self._y)",
    "relu.py": "return grad_out * self._mask",
    "dropout.py": "return grad_out * self._mask",
    "conv2d.py": """
        xp = ae.array_module(grad_out)
        cols, x_shape = self._cache
        g = pixel_rows(grad_out)
        self.weight.grad += weight_tensor(g.T @ cols, self.weight.data.shape)
        self.bias.grad += xp.sum(g, axis=0)
        dcols = g @ weight_matrix(self.weight.data)
        return col2im(dcols, x_shape, self.kernel_size, self.stride, self.padding)
    """,
    "bce.py": """
        pred, target = self._cache
        grad = (pred - target) / (pred * (1.0 - pred))
        if self.reduction == "mean":
            n = 1
            for size in pred.shape:
                n *= size
            grad = grad / n
        return grad
    """,
    "vae.py": """
        xp = ae.array_module(g_z)
        n = g_z.shape[0]
        dmu = g_z + self.beta * self.mu / n
        dlogvar = g_z * self.eps * self.sigma / 2 + self.beta * (xp.exp(self.logvar) - 1.0) / (2 * n)
        return dmu, dlogvar
    """,
}

VAE_STEPS_SOLUTION = """
    v = self.v
    xp = ae.array_module(v["x"])
    n = v["n"]
    dlogits = (1.0 / (1.0 + xp.exp(-v["logits"])) - v["x"]) / n
    dz = dlogits @ self.Wd.T
    dsigma = dz * v["eps"]
    dmu = dz + self.beta * v["mu"] / n
    dlogvar = dsigma * v["sigma"] / 2 + self.beta * (xp.exp(v["logvar"]) - 1.0) / (2 * n)
    dh = xp.concat([dmu, dlogvar], axis=1)
    return {"logits": dlogits, "Wd": v["z"].T @ dlogits, "bd": xp.sum(dlogits, axis=0), "z": dz,
            "sigma": dsigma, "mu": dmu, "logvar": dlogvar, "h": dh, "We": v["x"].T @ dh,
            "be": xp.sum(dh, axis=0)}
"""
REFERENCE["vae_steps.py"] = FROM_DOCSTRING["vae_steps.py"] = VAE_STEPS_SOLUTION
REFERENCE.update(exercise_solutions.REFERENCE)
FROM_DOCSTRING.update(exercise_solutions.FROM_DOCSTRING)

# Planted mistakes: template -> [(name, code, the tensors that must fail; every other one passes)]
MISTAKES = dict(exercise_solutions.MISTAKES)
MISTAKES["vae_steps.py"] = [
    ("bce-gradient-not-averaged", VAE_STEPS_SOLUTION.replace(') - v["x"]) / n', ') - v["x"])'),
     set(EXERCISES["vae_steps"].tensors)),  # the first step is wrong: everything after it too
    ("reparameterisation-path-missing-from-logvar",
     VAE_STEPS_SOLUTION.replace('dsigma * v["sigma"] / 2 + ', ''), {"logvar", "h", "We", "be"}),
    ("decoder-weight-from-mu-not-z", VAE_STEPS_SOLUTION.replace('"Wd": v["z"].T', '"Wd": v["mu"].T'), {"Wd"}),
]
FIRST_WRONG_STEP = {"bce-gradient-not-averaged": "logits", "reparameterisation-path-missing-from-logvar": "logvar",
                    "decoder-weight-from-mu-not-z": "Wd"}


def fill(template: str, code: str, folder: Path) -> Path:
    """The template with its `raise NotImplementedError(...)` replaced by ``code``, written to ``folder``."""
    source = (EXERCISE_DIR / template).read_text()
    lines = source.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.strip().startswith("raise NotImplementedError")]
    assert lines[at - 1].strip() == "# YOUR CODE HERE"
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    body = textwrap.indent(textwrap.dedent(code).strip(), indent).splitlines()
    path = folder / template
    path.write_text("\n".join(lines[:at] + body + lines[at + 1 :]) + "\n")
    return path


def load(path: Path):
    name = f"_exercise_test_{abs(hash(str(path)))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so inspect finds the class's source file, as the grader's loader does
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def templates():
    """The unfilled templates, imported (student mistakes below subclass them)."""
    return {name: load(EXERCISE_DIR / name) for name in TEMPLATES}


def graded(capsys, target, **kw):
    """(exit code, printed report) of main_check."""
    code = main_check(str(target), max_examples=kw.pop("max_examples", MAX), **kw)
    return code, capsys.readouterr().out


# --------------------------------------------------------------------------- #
# The templates
# --------------------------------------------------------------------------- #
def test_every_exercise_has_a_template():
    assert sorted(e for _, e in TEMPLATES.values()) == sorted(EXERCISES)
    assert sorted(p.name for p in EXERCISE_DIR.glob("*.py")) == sorted(TEMPLATES)


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_unfilled_template_says_which_method_to_write(template):
    cls_name, exercise = TEMPLATES[template]
    source = (EXERCISE_DIR / template).read_text()
    assert "# YOUR CODE HERE" in source and "raise NotImplementedError" in source
    cls = getattr(load(EXERCISE_DIR / template), cls_name)
    assert exercise_of(cls) is EXERCISES[exercise]
    result = grade(cls, max_examples=MAX)
    out = str(result)
    assert result.status == "not done" and not result.passed
    assert f"{cls_name}.{EXERCISES[exercise].method} is not written yet" in out and "# YOUR CODE HERE" in out
    assert re.search(rf"{template}:\d+\)", out)  # the line to edit
    assert "Traceback" not in out and out.rstrip().endswith("NOT DONE")


def test_unfilled_template_through_the_command_exits_1(capsys):
    code, out = graded(capsys, EXERCISE_DIR / "dense.py")  # no ::ClassName: the class is found
    assert code == 1 and "Dense.backward is not written yet" in out and out.rstrip().endswith("NOT DONE")


SOLUTION_SETS = {"reference": REFERENCE, "from-docstring": FROM_DOCSTRING}


@pytest.mark.parametrize(
    "template, solution",
    [pytest.param(t, solution, id=f"{t}-{kind}")
     for kind, solutions in SOLUTION_SETS.items() for t, solution in solutions.items() if solution is not None],
)
def test_filled_template_passes(tmp_path, template, solution):
    cls_name, _ = TEMPLATES[template]
    cls = getattr(load(fill(template, solution, tmp_path)), cls_name)
    result = grade(cls, max_examples=MAX)
    out = str(result)
    assert result.passed, out
    assert "FAIL" not in out and out.rstrip().splitlines()[-1].startswith("PASS")
    errors = [float(e) for e in re.findall(r"gradient: PASS  largest error (\S+)", out)]
    assert errors and max(errors) < 1e-7  # ~1e-9 or better, far below the tolerance


def test_a_filled_template_passes_through_the_command(capsys, tmp_path):
    path = fill("dense.py", FROM_DOCSTRING["dense.py"], tmp_path)
    code, out = graded(capsys, f"{path}::Dense")
    assert code == 0 and out.rstrip().splitlines()[-1].startswith("PASS"), out


@pytest.mark.parametrize(
    "template, name, code, wrong",
    [pytest.param(t, name, code, wrong, id=f"{t}-{name}") for t, planted in MISTAKES.items()
     for name, code, wrong in planted],
)
def test_planted_mistake_fails_exactly_its_tensors(tmp_path, template, name, code, wrong):
    cls_name, exercise = TEMPLATES[template]
    cls = getattr(load(fill(template, code, tmp_path)), cls_name)
    result = grade(cls, max_examples=MAX, shrink_budget=60)  # which tensors fail, not how small the case is
    assert not result.passed
    assert set(result.failed_tensors) == set(wrong), str(result)
    if template == "vae_steps.py":  # the report names the first wrong step
        first = FIRST_WRONG_STEP[name]
        assert f"the first wrong gradient in backward order is d/d{first}, " in str(result)


def test_library_conv2d_passes_the_conv2d_check():
    """The reference for the Conv2D exercise: tinyae's own layer, forward and backward, graded by its check."""
    reference = type("Conv2D", (ae.Conv2D,), {"exercise": "conv2d"})
    result = grade(reference, max_examples=MAX)
    assert result.passed, str(result)


def test_filled_template_passes_on_the_strict_backend(capsys, tmp_path):
    """Student code written with xp = ae.array_module(...) runs on any backend."""
    path = fill("dense.py", FROM_DOCSTRING["dense.py"], tmp_path)
    code, out = graded(capsys, path, max_examples=5, backend_name="strict")
    assert code == 0, out


def test_numpy_only_student_code_fails_on_the_strict_backend(capsys, templates):
    class NumpySum(templates["dense.py"].Dense):
        def backward(self, grad_out):
            self.weight.grad += self._x.T @ grad_out
            self.bias.grad += np.sum(grad_out, axis=0)  # numpy on a non-numpy array
            return grad_out @ self.weight.data.T

    assert not check(NumpySum, max_examples=3, backend_name="strict")
    out = capsys.readouterr().out
    assert "your code raised" in out and "np.sum(grad_out, axis=0)" in out


# --------------------------------------------------------------------------- #
# Typical mistakes: the right tensor fails, and the case is shrunk
# --------------------------------------------------------------------------- #
def failing(result):
    return set(result.failed_tensors)


def report_lines(result, tensor):
    """The report's lines from ``tensor gradient: FAIL`` to the next tensor."""
    text = str(result)
    start = text.index(f"{tensor} gradient:")
    rest = text[start:].splitlines()
    return "\n".join([rest[0]] + [line for line in rest[1:] if line.startswith("      ")][:3])


def bias_not_summed(templates):
    """The Dense template with the classic mistake: the bias gradient of the first sample only."""

    class BiasNotSummed(templates["dense.py"].Dense):
        def backward(self, grad_out):
            self.weight.grad += self._x.T @ grad_out
            self.bias.grad += grad_out[0, :]  # not summed over the batch
            return grad_out @ self.weight.data.T

    return BiasNotSummed


def test_bias_not_summed_over_the_batch(templates):
    result = grade(bias_not_summed(templates), max_examples=MAX)
    assert failing(result) == {"bias"} and result.raised is None
    bias = report_lines(result, "bias")
    assert "bias gradient: FAIL  error" in bias and "worst element [" in bias
    # batch 1 cannot show this bug: the smallest failing case has two samples, one feature each
    assert "smallest failing case: batch=2, in_features=1, out_features=1" in bias


def test_missing_transpose(templates):
    class MissingTranspose(templates["dense.py"].Dense):
        def backward(self, grad_out):
            self.weight.grad += self._x.T @ grad_out
            self.bias.grad += ae.array_module(grad_out).sum(grad_out, axis=0)
            return grad_out @ self.weight.data  # g W, not g W^T

    result = grade(MissingTranspose, max_examples=MAX)
    assert failing(result) == {"input"}
    # square layers run and give wrong values; the smallest is 2 -> 2 (1 -> 1 is its own transpose)
    assert "smallest failing case: batch=1, in_features=2, out_features=2" in report_lines(result, "input")
    # other shapes make the product fail: reported with the student's line and the smallest such case
    assert result.raised is not None and result.raised.kind == "ValueError"
    assert "return grad_out @ self.weight.data" in result.raised.where
    assert result.raised_case == "batch=1, in_features=1, out_features=2"


def test_sigmoid_derivative_written_as_s(templates):
    class SigmoidPrimeAsS(templates["sigmoid.py"].Sigmoid):
        def backward(self, grad_out):
            return grad_out * self._y  # s instead of s (1 - s)

    result = grade(SigmoidPrimeAsS, max_examples=MAX)
    assert failing(result) == {"input"}
    lines = report_lines(result, "input")
    assert "smallest failing case: shape=(1, 1)" in lines and "values: x=[[0.]]" in str(result)


def test_dropout_mask_redrawn_in_backward(templates):
    class MaskRedrawn(templates["dropout.py"].Dropout):
        def backward(self, grad_out):
            if not self.training or self.p == 0.0:
                return grad_out
            keep = backend.uniform(tuple(grad_out.shape), like=grad_out) >= self.p  # a fresh mask
            return grad_out * ae.array_module(grad_out).astype(keep, grad_out.dtype) / (1.0 - self.p)

    result = grade(MaskRedrawn, max_examples=MAX)
    assert failing(result) == {"input"}
    assert re.search(r"smallest failing case: shape=\(\d, \d\), p=0\.\d+, training=True",
                     report_lines(result, "input"))


def _conv_weight_and_bias(layer, grad_out):
    cols, _ = layer._cache
    g = conv.pixel_rows(grad_out)
    layer.weight.grad += np.reshape(g.T @ cols, layer.weight.shape)
    layer.bias.grad += np.sum(g, axis=0)


def test_conv_backward_ignoring_the_stride(templates):
    class StrideIgnored(templates["conv2d.py"].Conv2D):
        """dL/dx by loops over the kernel taps, each tap's window taken at stride 1."""

        def backward(self, grad_out):
            _conv_weight_and_bias(self, grad_out)
            _, (n, c, h, w) = self._cache
            _, _, ho, wo = grad_out.shape
            (kh, kw), (ph, pw) = self.kernel_size, self.padding
            dx = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
            for i in range(kh):
                for j in range(kw):  # should be rows i, i + sh, ..., columns j, j + sw, ...
                    tap = np.einsum("noab,oc->ncab", grad_out, self.weight.data[:, :, i, j])
                    dx[:, :, i : i + ho, j : j + wo] += tap
            return dx[:, :, ph : ph + h, pw : pw + w]

    result = grade(StrideIgnored, max_examples=MAX)
    assert failing(result) == {"input"} and result.raised is None
    assert re.search(r"smallest failing case: batch=1, in_channels=1, .*stride=\(?2", report_lines(result, "input"))


def test_conv_col2im_with_stride_one_raises_and_is_reported(templates):
    class StrideOne(templates["conv2d.py"].Conv2D):
        def backward(self, grad_out):
            _conv_weight_and_bias(self, grad_out)
            cols, x_shape = self._cache
            dcols = conv.pixel_rows(grad_out) @ templates["conv2d.py"].weight_matrix(self.weight.data)
            return col2im(dcols, x_shape, self.kernel_size, (1, 1), self.padding)

    result = grade(StrideOne, max_examples=MAX)
    assert result.raised is not None and not result.passed
    assert "col2im(dcols, x_shape, self.kernel_size, (1, 1), self.padding)" in result.raised.where
    assert "stride=2" in result.raised_case or "stride=(2" in result.raised_case
    text = str(result)
    assert "your code raised ValueError" in text and "smallest case that raises: batch=1" in text
    assert text.rstrip().endswith("your code raised an exception. Start from the smallest failing case.")


def _kl_grads(obj, g_z, sign=1.0, eps=None):
    xp = ae.array_module(g_z)
    n = g_z.shape[0]
    eps = obj.eps if eps is None else eps
    dmu = g_z + sign * obj.beta * obj.mu / n
    dlogvar = g_z * eps * obj.sigma / 2 + sign * obj.beta * (xp.exp(obj.logvar) - 1.0) / (2 * n)
    return dmu, dlogvar


def test_kl_gradient_sign_flipped(templates):
    class SignFlipped(templates["vae.py"].VAEObjective):
        def backward(self, g_z):
            return _kl_grads(self, g_z, sign=-1.0)

    result = grade(SignFlipped, max_examples=MAX)
    assert failing(result) == {"mu", "logvar"}
    for tensor in ("mu", "logvar"):
        assert "smallest failing case: batch=1, latent_dim=1, features=1" in report_lines(result, tensor)


def test_eps_redrawn_in_backward(templates):
    class EpsRedrawn(templates["vae.py"].VAEObjective):
        def backward(self, g_z):
            return _kl_grads(self, g_z, eps=backend.normal(tuple(g_z.shape), like=g_z))

    result = grade(EpsRedrawn, max_examples=MAX)
    assert failing(result) == {"logvar"}  # eps reaches only the path through sigma
    assert "smallest failing case: batch=1, latent_dim=1, features=1" in report_lines(result, "logvar")


def test_a_gradient_of_the_wrong_shape_is_refused_where_it_is_assigned(templates):
    class BiasNotReduced(templates["dense.py"].Dense):
        def backward(self, grad_out):
            self.weight.grad += self._x.T @ grad_out
            self.bias.grad = grad_out  # (N, out), not (out,)
            return grad_out @ self.weight.data.T

    result = grade(BiasNotReduced, max_examples=MAX)  # Parameter.grad refuses another shape, at that line
    assert result.raised is not None and not result.passed
    assert "self.bias.grad = grad_out" in result.raised.where
    text = str(result)
    assert "ValueError: Parameter bias: expected new grad of shape (1,), got (1, 1)" in text
    assert "smallest case that raises: batch=1, in_features=1, out_features=1" in text


def test_the_verdict_is_deterministic(templates):
    first, second = (str(grade(bias_not_summed(templates), max_examples=MAX)) for _ in range(2))
    assert first == second


# --------------------------------------------------------------------------- #
# Classes without the attribute, instances, and the report's words
# --------------------------------------------------------------------------- #
def test_a_library_subclass_is_graded_as_its_base_class(capsys):
    class MyDense(ae.Dense):  # no `exercise` attribute: graded as a Dense layer
        pass

    assert exercise_of(MyDense) is EXERCISES["dense"]
    assert check(MyDense, max_examples=5)
    out = capsys.readouterr().out
    assert out.startswith("Checking ") and "MyDense" in out
    assert re.search(r"input gradient: PASS .*\n.*weight gradient: PASS .*\n.*bias gradient: PASS", out)


def test_an_instance_is_graded_with_its_own_hyper_parameters(templates):
    layer = bias_not_summed(templates)(3, 2)
    before = ae.to_numpy(layer.weight.data).copy()
    result = grade(layer, max_examples=MAX)
    assert failing(result) == {"bias"}
    assert "smallest failing case: batch=2, in_features=3, out_features=2" in report_lines(result, "bias")
    np.testing.assert_array_equal(ae.to_numpy(layer.weight.data), before)  # graded on copies


def test_not_an_exercise():
    with pytest.raises(TypeError, match="is not an exercise"):
        grade(int)

    class Misspelt:
        exercise = "dense_layer"

    with pytest.raises(ValueError, match="names no exercise; known: dense, "):
        grade(Misspelt)


# --------------------------------------------------------------------------- #
# main_check: targets and exit codes
# --------------------------------------------------------------------------- #
def test_main_check_every_class_of_a_file_and_one_by_name(capsys, tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent("""
        import tinyae as ae

        class Good(ae.Sigmoid):
            exercise = "sigmoid"

            def backward(self, grad_out):
                return grad_out * self._y * (1.0 - self._y)

        class Bad(ae.Sigmoid):
            exercise = "sigmoid"

            def backward(self, grad_out):
                return grad_out * self._y

        class Helper:  # not an exercise: ignored
            pass
    """))
    code, out = graded(capsys, path)
    assert code == 1 and "Checking Good" in out and "Checking Bad" in out and "Helper" not in out
    assert graded(capsys, f"{path}::Good")[0] == 0
    code, out = graded(capsys, f"{path}::Bad")
    assert code == 1 and "input gradient: FAIL" in out and "Checking Good" not in out


@pytest.mark.parametrize(
    "source, message",
    [
        ("class Broken(\n", r"mine\.py has a syntax error at line 1"),
        ("import tinyae\nx = 1 / 0\n", r"failed while loading: ZeroDivisionError: division by zero\n.*mine\.py:2"),
        ("import no_such_module_here\n", r"failed while loading: ModuleNotFoundError: No module named"),
        ("x = 1\n", r"found no exercise class in .*mine\.py"),
    ],
    ids=["syntax-error", "raises-on-import", "import-error", "no-exercise"],
)
def test_main_check_files_it_cannot_grade(capsys, tmp_path, source, message):
    path = tmp_path / "mine.py"
    path.write_text(source)
    code, out = graded(capsys, path)
    assert code == 2 and re.search(message, out) and "Traceback" not in out


def test_main_check_missing_file_and_class(capsys, tmp_path):
    code, out = graded(capsys, tmp_path / "nowhere.py")
    assert code == 2 and "no such file" in out
    code, out = graded(capsys, f"{EXERCISE_DIR / 'dense.py'}::Dens")
    assert code == 2 and "has no class 'Dens'; exercise classes in it: Dense" in out


def test_python_dash_m_runs_the_checker():
    done = subprocess.run(
        [sys.executable, "-m", "tinyae.exercises", str(EXERCISE_DIR / "relu.py") + "::ReLU"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 1 and "ReLU.backward is not written yet" in done.stdout


def test_tinyae_check_command_grades_and_returns_the_exit_code(capsys):
    """`tinyae check FILE::Class` is main_check: an unfilled template says what to write, exit 1."""
    from tinyae import cli

    template = EXERCISE_DIR / "relu.py"
    assert cli.main(["check", f"{template}::ReLU", "--max-examples", "5"]) == 1
    assert "ReLU.backward is not written yet" in capsys.readouterr().out

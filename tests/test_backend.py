"""The NumPy / CuPy / strict switch: selection, movement, seeding, and clear failures."""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import tinyae as ae
from tinyae import backend


def test_default_is_numpy_and_use_backend_restores():
    assert ae.get_backend() == "numpy"
    with ae.use_backend("strict"):
        assert ae.get_backend() == "strict"
        assert ae.backend.backend_of(ae.Dense(2, 3).weight.data) == "strict"
    assert ae.get_backend() == "numpy"
    assert isinstance(ae.Dense(2, 3).weight.data, np.ndarray)


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown backend 'torch'.*'numpy', 'cupy', 'strict'"):
        ae.set_backend("torch")
    assert ae.get_backend() == "numpy"


def _fake_cupy(is_available):
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(is_available=is_available)
    return fake


def test_cupy_not_installed_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(ae.BackendUnavailable, match=r'not installed.*pip install "tinyae\[gpu\]"'):
        ae.set_backend("cupy")
    assert ae.get_backend() == "numpy"


def test_cupy_without_gpu_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(lambda: False))
    with pytest.raises(ae.BackendUnavailable, match="no NVIDIA driver or device"):
        ae.set_backend("cupy")


def test_cupy_with_broken_driver_is_not_a_cuda_traceback(monkeypatch):
    def broken():
        raise OSError("libcuda.so.1: cannot open shared object file")

    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(broken))
    with pytest.raises(ae.BackendUnavailable, match="probing the GPU failed: OSError: libcuda"):
        ae.set_backend("cupy")


def test_real_cupy_here_is_unavailable_or_works():
    """On this machine (no GPU) the real request must end in BackendUnavailable, never a CUDA error."""
    try:
        with ae.use_backend("cupy"):
            layer = ae.Dense(3, 2)
            assert ae.backend.backend_of(layer.weight.data) == "cupy"
    except ae.BackendUnavailable as exc:
        assert "cupy" in str(exc)


def test_strict_refuses_numpy_like_a_gpu():
    """The stand-in really is strict: no silent conversion, no mixing with NumPy."""
    with ae.use_backend("strict"):
        a = ae.to_backend(np.ones((2, 2), dtype=np.float32))
    with pytest.raises(RuntimeError, match="(?i)convert"):
        np.asarray(a)
    with pytest.raises(TypeError):
        a + np.ones((2, 2), dtype=np.float32)


def test_to_backend_and_to_numpy_round_trip():
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    strict = ae.to_backend(host, "strict")
    assert backend.backend_of(strict) == "strict"
    back = ae.to_numpy(strict)
    assert isinstance(back, np.ndarray) and back.dtype == np.float32
    np.testing.assert_array_equal(back, host)
    as64 = ae.to_backend(strict, "strict", dtype=np.float64)
    assert backend.numpy_dtype(as64) == np.float64


def test_backend_of_rejects_non_arrays():
    with pytest.raises(TypeError, match="expected a NumPy, CuPy or array_api_strict array, got builtins.str"):
        backend.backend_of("not an array")


def test_same_seed_gives_same_weights_on_every_backend():
    ae.seed(7)
    w_numpy = ae.to_numpy(ae.Dense(5, 4).weight.data)
    ae.seed(7)
    with ae.use_backend("strict"):
        w_strict = ae.to_numpy(ae.Dense(5, 4).weight.data)
    np.testing.assert_array_equal(w_numpy, w_strict)


def _small_net():
    return ae.Sequential(ae.Dense(6, 5), ae.Tanh(), ae.Dropout(0.3), ae.Dense(5, 4), ae.LeakyReLU(0.1),
                         ae.Dense(4, 6), ae.Sigmoid())


def test_small_network_identical_on_numpy_and_strict(rng):
    x = rng.standard_normal((8, 6)).astype(np.float32)
    g = rng.standard_normal((8, 6)).astype(np.float32)
    results = {}
    for name in ("numpy", "strict"):
        with ae.use_backend(name):
            ae.seed(3)
            net = _small_net()
            y = net(ae.to_backend(x))
            dx = net.backward(ae.to_backend(g))
            results[name] = [ae.to_numpy(y), ae.to_numpy(dx)] + [ae.to_numpy(p.grad) for p in net.parameters()]
    for a, b in zip(results["numpy"], results["strict"]):
        np.testing.assert_array_equal(a, b)


def test_mixing_backends_raises_a_clear_type_error():
    layer = ae.Dense(3, 2)  # numpy parameters
    with ae.use_backend("strict"):
        x = ae.to_backend(np.ones((1, 3), dtype=np.float32))
    with pytest.raises(TypeError, match=r"Dense\(3 -> 2\): backends differ: the input is on 'strict', "
                                        r"the parameters on 'numpy'"):
        layer(x)
    with pytest.raises(TypeError, match=r"gaussian_kl: backends differ: logvar is on 'numpy', mu on 'strict'"):
        ae.gaussian_kl(x, np.zeros((1, 3), dtype=np.float32))


def test_float64_input_to_float32_layer_is_refused(backend_name):
    """NumPy would mix them silently and round the float64 gradient into float32; CuPy would fail later."""
    with pytest.raises(TypeError, match=r"Dense\(3 -> 2\): the input is .*float64 but the parameters are .*float32"
                                        r".*model\(x.astype\(np.float32\)\).*fit and map_batches convert"):
        ae.Dense(3, 2)(ae.to_backend(np.ones((1, 3))))


def test_fit_and_map_batches_take_float64_numpy_data(backend_name):
    """The policy the error message promises: np.random.rand's float64 goes straight into fit and
    map_batches, which convert each batch to the model's dtype and backend."""
    x = np.random.default_rng(0).random((16, 4))  # float64, on the host
    model = ae.mlp_autoencoder([4, 2], loss="mse").to(backend_name)
    history = ae.fit(model, ae.Adam(model.parameters()), x, epochs=1, batch_size=8, progress=False)
    assert np.isfinite(history["loss"][0])
    codes = ae.map_batches(model.encode, x, like=model)
    assert codes.shape == (16, 2) and codes.dtype == np.float32


def test_module_to_moves_parameters_and_gradients():
    net = _small_net()
    net.to("strict")
    for p in net.parameters():
        assert backend.backend_of(p.data) == "strict" and backend.backend_of(p.grad) == "strict"
    net.to("numpy")
    assert all(isinstance(p.data, np.ndarray) for p in net.parameters())


def test_seed_makes_noise_reproducible_and_separate_from_init():
    like = np.zeros(3, dtype=np.float32)
    ae.seed(1)
    a = backend.uniform((4,), like=like)
    ae.seed(1)
    ae.Dense(3, 3)  # an init between the draws must not shift the noise stream
    b = backend.uniform((4,), like=like)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and backend.normal((2, 2), like=like).dtype == np.float32


def test_only_backend_imports_cupy():
    """DESIGN: no file but backend.py imports cupy (or reaches for it by name)."""
    package = Path(ae.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "backend.py" and re.search(r"^\s*(import|from)\s+cupy", path.read_text(), re.M)
    ]
    assert offenders == []


def test_layer_math_does_not_import_numpy():
    """DESIGN: layers, losses and optimizers reach array functions only through xp = array_module(x)."""
    package = Path(ae.__file__).parent
    files = [*package.joinpath("layers").glob("*.py"), package / "losses.py", package / "optim.py"]
    offenders = [p.name for p in files if re.search(r"^\s*(import|from)\s+numpy", p.read_text(), re.M)]
    assert offenders == []


def test_every_xp_function_the_library_calls_exists_in_cupy():
    """CuPy imports without a GPU, so its namespace can be checked here."""
    cupy_ns = pytest.importorskip("array_api_compat.cupy", exc_type=ImportError)
    package = Path(ae.__file__).parent
    called = set()
    for path in package.rglob("*.py"):
        text = path.read_text()
        called |= set(re.findall(r"\bxp\.([A-Za-z_][A-Za-z0-9_]*)", text))
        called |= set(re.findall(r"array_module\([^()]*\)\.([A-Za-z_][A-Za-z0-9_]*)", text))
    assert called, "found no xp.<name> calls: the scan is broken"
    missing = sorted(name for name in called if not hasattr(cupy_ns, name))
    assert missing == [], f"functions missing from CuPy's array-API namespace: {missing}"


# --------------------------------------------------------------------------- #
# "cupy" must be usable, not only present: the self-test of NVRTC, cuBLAS and cuRAND
# --------------------------------------------------------------------------- #
ROOT = Path(__file__).resolve().parents[1]


def test_gpu_extra_installs_cupy_with_the_cuda_runtime():
    """Without [ctk] pip installs CuPy alone, and a machine with only the driver fails at the first kernel.
    CuPy's ctk extra exists from 14.0 on (13.x has none)."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["gpu"] == ["cupy-cuda12x[ctk]>=14"]


class CompileException(Exception):
    """Named like cupy.cuda.compiler.CompileException (NVRTC missing or failing)."""


class CUBLASError(RuntimeError):
    """Named like cupy_backends.cuda.libs.cublas.CUBLASError."""


class CURANDError(RuntimeError):
    """Named like cupy_backends.cuda.libs.curand.CURANDError."""


class _FakeGPUArray:
    """Just enough of a cupy.ndarray for the self-test, computed by NumPy."""

    def __init__(self, host, fake):
        self.host, self.fake = np.asarray(host), fake

    def __mul__(self, k):
        if self.fake.broken == "NVRTC":
            raise CompileException("nvrtc: error: failed to open libnvrtc-builtins.so.12.\nmore lines")
        return _FakeGPUArray(self.host * k, self.fake)

    def __add__(self, k):
        return _FakeGPUArray(self.host + k, self.fake)

    def __matmul__(self, other):
        if self.fake.broken == "cuBLAS":
            raise CUBLASError("CUBLAS_STATUS_NOT_INITIALIZED")
        product = self.host @ other.host
        return _FakeGPUArray(product + 1 if self.fake.wrong else product, self.fake)


class _FakeGenerator:
    def __init__(self, seed, fake):
        self.rng, self.fake = np.random.default_rng(seed), fake

    def standard_normal(self, size, dtype=np.float64):
        if self.fake.broken == "cuRAND":
            raise CURANDError("CURAND_STATUS_INITIALIZATION_FAILED")
        self.fake.draws += 1
        return _FakeGPUArray(self.rng.standard_normal(size, dtype=dtype), self.fake)


def _fake_gpu(broken=None, wrong=False):
    """A CuPy whose driver and device are there, with one library broken (or a wrong product)."""
    fake = types.ModuleType("cupy")
    fake.broken, fake.wrong, fake.draws = broken, wrong, 0
    fake.float32 = np.float32
    fake.cuda = types.SimpleNamespace(is_available=lambda: True)
    fake.asarray = lambda a, dtype=None: _FakeGPUArray(np.asarray(a, dtype=dtype), fake)
    fake.asnumpy = lambda a: a.host
    fake.random = types.SimpleNamespace(default_rng=lambda seed: _FakeGenerator(seed, fake))
    return fake


@pytest.fixture
def fresh_self_test():
    """The self-test's verdict is kept per process (and per CuPy module): forget it around each test."""
    cache = getattr(backend, "_self_test", None)  # (getattr: so that on code without one, the tests fail, not error)
    if cache is not None:
        cache.reset()
    yield
    if cache is not None:
        cache.reset()
    backend.set_backend("numpy")


@pytest.mark.parametrize("library, error", [("NVRTC", "CompileException: nvrtc: error: failed to open "
                                             "libnvrtc-builtins.so.12."),
                                            ("cuBLAS", "CUBLASError: CUBLAS_STATUS_NOT_INITIALIZED"),
                                            ("cuRAND", "CURANDError: CURAND_STATUS_INITIALIZATION_FAILED")],
                         ids=["NVRTC", "cuBLAS", "cuRAND"])
def test_cupy_with_a_missing_cuda_library_names_it(monkeypatch, fresh_self_test, library, error):
    """A driver but no NVRTC / cuBLAS / cuRAND used to pass set_backend and fail in the first training step
    with a raw CuPy error; now set_backend names the library, the error and the fix, and changes nothing."""
    monkeypatch.setitem(sys.modules, "cupy", _fake_gpu(broken=library))
    with ae.use_backend("strict"):
        with pytest.raises(ae.BackendUnavailable) as info:
            ae.set_backend("cupy")
        assert ae.get_backend() == "strict"  # unchanged
    message = str(info.value)
    assert f"so {library} is missing or broken ({error})" in message
    assert 'pip install "cupy-cuda12x[ctk]"' in message and "CUDA Toolkit" in message
    assert "\n" not in message  # the kernel source a CompileException carries stays out
    assert ae.get_backend() == "numpy"
    with pytest.raises(ae.BackendUnavailable, match=f"so {library} is missing"):  # the cached verdict
        ae.to_backend(np.ones(2), "cupy")


def test_cupy_computing_a_wrong_result_is_unavailable(monkeypatch, fresh_self_test):
    monkeypatch.setitem(sys.modules, "cupy", _fake_gpu(wrong=True))
    with pytest.raises(ae.BackendUnavailable, match=r"self-test computed a wrong result on the GPU: .*\(cuBLAS\) gave "
                                                    r"\[\[20.0, 23.0\], \[44.0, 51.0\]\]"):
        ae.set_backend("cupy")
    assert ae.get_backend() == "numpy"


def test_a_working_cupy_passes_the_self_test_once(monkeypatch, fresh_self_test):
    fake = _fake_gpu()
    monkeypatch.setitem(sys.modules, "cupy", fake)
    ae.set_backend("cupy")
    assert ae.get_backend() == "cupy"
    ae.set_backend("numpy")
    with ae.use_backend("cupy"):
        assert ae.get_backend() == "cupy"
    assert fake.draws == 2  # one self-test (its draw, twice, for reproducibility), not one per request
    monkeypatch.setitem(sys.modules, "cupy", _fake_gpu(broken="cuBLAS"))  # another module: tested afresh
    with pytest.raises(ae.BackendUnavailable, match="cuBLAS"):
        ae.set_backend("cupy")
    assert ae.get_backend() == "numpy"


# --------------------------------------------------------------------------- #
# python -m benchmarks.gpu, without a GPU
# --------------------------------------------------------------------------- #
def test_gpu_benchmark_without_a_gpu_exits_with_one_line():
    """No device visible (CUDA_VISIBLE_DEVICES=""; here there is none anyway): exit status 2 and one line
    saying what is missing, nothing on stdout, no traceback."""
    import subprocess

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-m", "benchmarks.gpu"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("benchmarks.gpu: cannot run: the 'cupy' backend needs"), lines
    assert "CuPy" in lines[0]


def test_gpu_benchmark_model_comparison_on_strict(monkeypatch):
    """The model-comparison part, strict standing in for cupy: every family, fixed and own noise, agree."""
    monkeypatch.syspath_prepend(str(ROOT))  # the repository root holds benchmarks/
    from benchmarks import gpu

    rows = gpu.compare_models("strict", steps=2)
    assert {r["model"] for r in rows} == {case.name for case in gpu.model_cases()}
    modes = {(r["model"], r["noise"]) for r in rows}
    assert ("mlp_vae", "fixed") in modes and ("mlp_vae", "own") in modes and ("mlp_autoencoder", "none") in modes
    assert ("autoencoder with Dropout(0.2)", "own") in modes
    failed = [r for r in rows if not r["passed"]]
    assert failed == []
    # strict draws NumPy's noise stream, so even the own-noise rows agree to float32 round-off
    assert max(max(r["loss_rel_diff"], r["weight_rel_diff"]) for r in rows) < 1e-5
    table = gpu.format_models(rows, "strict")
    assert "denoising (masking)" in table and f"{len(rows)} of {len(rows)} agree" in table


def test_gpu_benchmark_timing_loop_on_strict(monkeypatch):
    """The timing part's loop and table, strict standing in for cupy and without torch (a plain clock)."""
    import time

    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import gpu

    row, config = gpu._time_batch(4, None, time.perf_counter, repeats=1, rounds=2, warmup=1, backend_name="strict")
    assert row["batch"] == 4 and row["tinyae_steps_per_s"] > 0 and "ratio" not in row and config == ""
    table = gpu.format_speed({"model": "m", "torch": None, "torch_skipped": "torch is not installed",
                              "torch_config": "", "rows": [row]})
    assert "torch: skipped (torch is not installed)" in table

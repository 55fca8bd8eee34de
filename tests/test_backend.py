"""The NumPy / CuPy / strict switch: selection, movement, seeding, and clear failures."""

from __future__ import annotations

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
    with pytest.raises(TypeError, match=r"gaussian_kl: backends differ: the input is on 'numpy', mu on 'strict'"):
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

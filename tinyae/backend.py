"""The NumPy / CuPy switch: the one file that imports numpy-as-math or cupy.

Three backends share the layer code:

``"numpy"``
    The default. Arrays are ``numpy.ndarray``.
``"cupy"``
    The GPU. CuPy is imported lazily, on the first request, and only if a usable
    CUDA device is present; otherwise :class:`BackendUnavailable` says what is missing.
``"strict"``
    CI's stand-in for a GPU: ``array_api_strict`` arrays on its non-CPU test device.
    Like CuPy on a GPU, they refuse silent conversion to NumPy and refuse mixing
    with NumPy arrays, so code that would break on a GPU breaks in CI.

Layer math never asks which backend is current: it takes its namespace from its
input, ``xp = array_module(x)``, the way SciPy and scikit-learn do. The current
backend decides only where *new* arrays are made (parameter init, data batches).

Random numbers come from two places (see :func:`seed`):

* the host generator, a NumPy ``Generator`` used for parameter init and for
  shuffling, so every backend starts from identical weights for the same seed;
* the per-backend noise generator used for dropout masks, denoising noise and VAE
  eps (:func:`uniform`, :func:`normal`). For ``"strict"`` it is a host generator
  seeded like NumPy's, so NumPy and strict draw identical noise for a seed.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

_NUMPY_NAMESPACE = array_api_compat.array_namespace(np.empty(0))

__all__ = [
    "BACKENDS",
    "BackendUnavailable",
    "array_module",
    "backend_of",
    "device_of",
    "infinities_allowed",
    "get_backend",
    "host_rng",
    "init_array",
    "normal",
    "numpy_dtype",
    "preserved_rng",
    "seed",
    "set_backend",
    "to_backend",
    "to_numpy",
    "uniform",
    "use_backend",
]

BACKENDS = ("numpy", "cupy", "strict")
_GPU_INSTALL_HINT = 'pip install "tinyae[gpu]"'
_STRICT_DEVICE_NAME = "device1"


class BackendUnavailable(RuntimeError):
    """Raised when a backend is requested that this machine cannot provide."""


class _State:
    """Process-wide backend state: the current backend and the generators."""

    def __init__(self) -> None:
        self.name = "numpy"
        self.seed_value = 0
        self.host = np.random.default_rng(0)
        self.noise: dict[str, Any] = {}


_state = _State()


# --------------------------------------------------------------------------- #
# Lazy imports of the optional backends
# --------------------------------------------------------------------------- #
def _import_cupy() -> ModuleType:
    """Import CuPy and make sure a GPU is usable, or raise BackendUnavailable.

    Usable means more than ``cupy.cuda.is_available()`` (a driver and a device): the first
    training step also needs NVRTC (CuPy compiles its element-wise kernels at run time),
    cuBLAS (matrix products) and cuRAND (noise). :func:`_cupy_self_test` runs one of each,
    once per process and CuPy module, so a missing library is named here rather than
    surfacing as a raw CuPy error inside the first step.
    """
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as exc:
        raise BackendUnavailable(
            f"the 'cupy' backend needs CuPy, which is not installed ({exc}). "
            f"Install it with: {_GPU_INSTALL_HINT}"
        ) from None
    if _self_test.get(cupy) == _PASSED:
        return cupy  # checked before in this process: the common path of every to_backend(..., "cupy")
    try:
        available = bool(cupy.cuda.is_available())
    except Exception as exc:  # a broken driver or toolkit raises all sorts of things
        raise BackendUnavailable(
            f"the 'cupy' backend needs a usable CUDA GPU; CuPy is installed but probing "
            f"the GPU failed: {type(exc).__name__}: {_first_line(exc)}"
        ) from None
    if not available:
        raise BackendUnavailable(
            "the 'cupy' backend needs a usable CUDA GPU; CuPy is installed but found none "
            "(no NVIDIA driver or device). Use set_backend('numpy') on this machine."
        )
    problem = _self_test.get(cupy)
    if problem is None:
        problem = _cupy_self_test(cupy)
        _self_test.remember(cupy, problem)
    if problem != _PASSED:
        raise BackendUnavailable(problem)
    return cupy


_PASSED = ""  # the self-test's verdict when every step worked; otherwise the message to raise
_CUDA_FIX = ('install the CUDA runtime libraries with: pip install "cupy-cuda12x[ctk]" (what '
             f'{_GPU_INSTALL_HINT} installs), or install the CUDA Toolkit 12 and set CUDA_PATH')


class _SelfTestCache:
    """The self-test's verdict for one CuPy module object (a test's fake is another module, so a
    verdict never leaks from one to the other); :meth:`reset` forgets it."""

    def __init__(self) -> None:
        self.module: Any = None  # held, so that its id cannot be reused by another object
        self.verdict: str | None = None

    def get(self, module: Any) -> str | None:
        return self.verdict if module is self.module else None

    def remember(self, module: Any, verdict: str) -> None:
        self.module, self.verdict = module, verdict

    def reset(self) -> None:
        self.module, self.verdict = None, None


_self_test = _SelfTestCache()


def _first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line (a CompileException carries the whole kernel source)."""
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cupy_self_test(cupy: Any) -> str:
    """One element-wise kernel (NVRTC), one matrix product (cuBLAS) and one random draw (cuRAND)
    on the GPU, each checked on the host. Returns "" when all three work, else the message."""
    expected_elementwise = np.array([3.0, 5.0], dtype=np.float32)
    expected_matmul = np.array([[19.0, 22.0], [43.0, 50.0]], dtype=np.float32)

    def elementwise() -> np.ndarray:
        return cupy.asnumpy(cupy.asarray([1.0, 2.0], dtype=cupy.float32) * 2 + 1)

    def matmul() -> np.ndarray:
        a = cupy.asarray([[1.0, 2.0], [3.0, 4.0]], dtype=cupy.float32)
        b = cupy.asarray([[5.0, 6.0], [7.0, 8.0]], dtype=cupy.float32)
        return cupy.asnumpy(a @ b)

    def draw() -> np.ndarray:
        first, again = (cupy.asnumpy(cupy.random.default_rng(0).standard_normal(2, dtype=cupy.float32))
                        for _ in range(2))
        return np.stack([first, again])  # the same seed must give the same numbers

    steps = (
        ("NVRTC", "compiling an element-wise kernel (x * 2 + 1)", elementwise),
        ("cuBLAS", "a 2x2 matrix product", matmul),
        ("cuRAND", "a random draw (default_rng(0).standard_normal)", draw),
    )
    results = {}
    for library, what, step in steps:
        try:
            results[library] = np.asarray(step())
        except Exception as exc:  # CompileException, CUBLASError, CURANDError, a missing .so, ...
            return (f"the 'cupy' backend found a GPU, but CuPy cannot use it: {what} failed, so {library} "
                    f"is missing or broken ({type(exc).__name__}: {_first_line(exc)}). To fix it, {_CUDA_FIX}.")
    wrong = ""
    if not np.array_equal(results["NVRTC"], expected_elementwise):
        wrong = f"x * 2 + 1 for x = [1, 2] (NVRTC) gave {results['NVRTC'].tolist()} instead of [3.0, 5.0]"
    elif not np.array_equal(results["cuBLAS"], expected_matmul):
        wrong = (f"[[1, 2], [3, 4]] @ [[5, 6], [7, 8]] (cuBLAS) gave {results['cuBLAS'].tolist()} "
                 "instead of [[19.0, 22.0], [43.0, 50.0]]")
    else:
        z = results["cuRAND"]  # no host oracle for cuRAND's numbers: finite, plausible, distinct, reproducible
        plausible = z.shape == (2, 2) and bool(np.all(np.isfinite(z)) and np.all(np.abs(z) < 10))
        if not (plausible and z[0, 0] != z[0, 1] and np.array_equal(z[0], z[1])):
            wrong = f"2 standard normal draws from seed 0, twice (cuRAND), gave {z.tolist()}"
    if wrong:
        return (f"the 'cupy' backend's self-test computed a wrong result on the GPU: {wrong}; the driver and "
                f"the CUDA libraries may not match (see nvidia-smi). To fix it, {_CUDA_FIX}.")
    return _PASSED


def _import_strict() -> ModuleType:
    try:
        return importlib.import_module("array_api_strict")
    except ImportError:
        raise BackendUnavailable(
            "the 'strict' backend needs array-api-strict, which is not installed. "
            'Install it with: pip install "tinyae[test]"'
        ) from None


def _strict_device() -> Any:
    return _import_strict().Device(_STRICT_DEVICE_NAME)


def _check_name(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: expected one of {', '.join(map(repr, BACKENDS))}")
    return name


# --------------------------------------------------------------------------- #
# The switch
# --------------------------------------------------------------------------- #
def set_backend(name: str) -> None:
    """Make ``name`` ("numpy", "cupy" or "strict") the backend for new arrays.

    Raises :class:`BackendUnavailable` when the backend cannot run here, and
    leaves the current backend unchanged in that case.
    """
    _check_name(name)
    if name == "cupy":
        _import_cupy()
    elif name == "strict":
        _import_strict()
    _state.name = name


def get_backend() -> str:
    """The name of the current backend: "numpy", "cupy" or "strict"."""
    return _state.name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Context manager: ``with use_backend("strict"): ...`` then restore the previous one."""
    previous = _state.name
    set_backend(name)
    try:
        yield name
    finally:
        _state.name = previous


# --------------------------------------------------------------------------- #
# Arrays: which backend, and moving between them
# --------------------------------------------------------------------------- #
def array_module(*arrays: Any) -> ModuleType:
    """The array-API namespace of ``arrays`` (NumPy, CuPy or array_api_strict).

    Layers call ``xp = array_module(x)`` and then use only functions of the
    common array-API subset, so the same code runs on every backend.
    """
    if len(arrays) == 1 and type(arrays[0]) is np.ndarray:
        return _NUMPY_NAMESPACE  # the common case, without array_namespace's checks (~4 us a call)
    return array_api_compat.array_namespace(*arrays)


def infinities_allowed() -> contextlib.AbstractContextManager:
    """A context in which an infinite result raises no warning (overflow, log(0)), for code where
    inf is the intended value: the sigmoid's exp(-x), a log floored right after. NumPy's error
    state also governs array_api_strict, which computes with NumPy; CuPy never warns."""
    return np.errstate(over="ignore", divide="ignore")


def device_of(array: Any) -> Any:
    """The device an array lives on, to create new arrays beside it: ``xp.zeros(..., device=device_of(x))``."""
    return array_api_compat.device(array)


def backend_of(array: Any) -> str:
    """The backend name an array lives on: "numpy", "cupy" or "strict"."""
    if isinstance(array, np.ndarray) or isinstance(array, np.generic):
        return "numpy"
    if array_api_compat.is_cupy_array(array):
        return "cupy"
    if type(array).__module__.startswith("array_api_strict"):
        return "strict"
    raise TypeError(
        f"expected a NumPy, CuPy or array_api_strict array, got {type(array).__module__}."
        f"{type(array).__name__}"
    )


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy array (a view where possible) from any backend's array, or from a list or scalar."""
    if isinstance(array, (int, float, list, tuple)):
        return np.asarray(array)
    kind = backend_of(array)
    if kind == "numpy":
        return np.asarray(array)
    if kind == "cupy":
        return array.get()
    return np.asarray(array.to_device(_import_strict().Device("CPU_DEVICE")))


def numpy_dtype(array: Any) -> np.dtype:
    """The NumPy dtype matching an array's dtype on any backend."""
    # NumPy and CuPy dtypes print as "float32", array_api_strict's as "array_api_strict.float32".
    return np.dtype(str(array.dtype).rsplit(".", 1)[-1])


def to_backend(array: Any, name: str | None = None, dtype: Any = None) -> Any:
    """Move ``array`` (from any backend, or a list) to backend ``name``, converting to ``dtype``.

    ``name`` defaults to the current backend; ``dtype`` is a NumPy dtype
    (``np.float32``) or None to keep the array's own. An array already where it
    should be, with the right dtype, is returned as it is (no copy).
    """
    name = _check_name(name or _state.name)
    is_array = not isinstance(array, (int, float, list, tuple))
    if is_array and backend_of(array) == name and (dtype is None or numpy_dtype(array) == np.dtype(dtype)):
        return array
    host = to_numpy(array)
    if dtype is not None:
        host = host.astype(dtype, copy=False)
    if name == "numpy":
        return host
    if name == "cupy":
        return _import_cupy().asarray(host)
    # copy=True: like CuPy, the strict array must not share memory with the NumPy source.
    return _import_strict().asarray(host, device=_strict_device(), copy=True)


def init_array(shape: tuple[int, ...], *, std: float | None = None, bound: float | None = None) -> Any:
    """A float32 parameter array on the current backend, drawn from the host generator.

    N(0, std^2) when ``std`` is given, U(-bound, bound) when ``bound`` is given,
    zeros otherwise. Drawing on the host makes every backend start from identical
    weights for the same seed.
    """
    if std is not None:
        host = _state.host.standard_normal(shape) * std
    elif bound is not None:
        host = _state.host.uniform(-bound, bound, size=shape)
    else:
        host = np.zeros(shape)
    return to_backend(host, dtype=np.float32)


# --------------------------------------------------------------------------- #
# Random numbers
# --------------------------------------------------------------------------- #
def seed(n: int) -> None:
    """Seed every generator tinyae uses: the host one and each backend's noise one."""
    _state.seed_value = int(n)
    _state.host = np.random.default_rng(n)
    _state.noise.clear()  # recreated, seeded with n, on next use


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Run a block that may reseed (a gradient check does), then put every generator back
    as it was, so the caller's random stream is unaffected."""
    saved = (_state.seed_value, _state.host, dict(_state.noise))
    try:
        yield
    finally:
        _state.seed_value, _state.host, _state.noise = saved[0], saved[1], saved[2]


def host_rng() -> np.random.Generator:
    """The host generator: parameter init and minibatch shuffling draw from it."""
    return _state.host


def _noise_rng(name: str) -> Any:
    rng = _state.noise.get(name)
    if rng is None:
        # A separate stream from the host one, so that drawing noise does not
        # change the next parameter init. NumPy and strict use the same stream.
        stream = [_state.seed_value, 1]
        if name == "cupy":
            rng = _import_cupy().random.default_rng(_state.seed_value)
        else:
            rng = np.random.default_rng(stream)
        _state.noise[name] = rng
    return rng


def _draw(method: str, shape: tuple[int, ...], like: Any, dtype: Any) -> Any:
    name = backend_of(like)
    xp = array_module(like)
    dtype = like.dtype if dtype is None else dtype
    if name == "cupy":
        return getattr(_noise_rng(name), method)(shape, dtype=dtype)
    host_dtype = np.float64 if xp.isdtype(dtype, xp.float64) else np.float32
    host = getattr(_noise_rng(name), method)(shape, dtype=host_dtype)
    if name == "numpy":
        return host
    return xp.asarray(host, device=device_of(like))


def uniform(shape: tuple[int, ...], like: Any, dtype: Any = None) -> Any:
    """Uniform [0, 1) noise of ``shape`` on the backend and device of ``like``."""
    return _draw("random", tuple(shape), like, dtype)


def normal(shape: tuple[int, ...], like: Any, dtype: Any = None) -> Any:
    """Standard normal noise of ``shape`` on the backend and device of ``like``."""
    return _draw("standard_normal", tuple(shape), like, dtype)

"""What the benchmarks share: thread pinning, alternating timed blocks, SGEMM peak, machine facts.

Only the standard library is imported at the top, so that :func:`pin_threads_early` can set
the BLAS/OpenMP thread counts before NumPy (or torch) is first imported; NumPy is imported
inside the functions that need it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

# OpenBLAS's threads keep spinning for ~0.1 s after NumPy's last matrix product (and OpenMP's
# after torch's), and on 2 cores they halve the speed of whatever runs next: every timed block
# starts after this pause.
QUIET_PAUSE_S = 0.25


def cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pin_threads_early(argv: list[str]) -> int:
    """Read ``--threads`` (default: the cores) and export it to the BLAS/OpenMP pools.

    Call before NumPy or torch is imported: the pools read these variables once, at load.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--threads", type=int, default=cores())
    threads = parser.parse_known_args(argv)[0].threads
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    return threads


def limit_blas_threads(threads: int) -> Any:
    """Also pin NumPy's BLAS at run time with threadpoolctl, when it is installed (it comes with
    scikit-learn). Returns the limiter (keep it alive) or None; ``blas_info()`` says what holds."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def blas_info() -> list[dict]:
    """NumPy's BLAS libraries and their thread counts (threadpoolctl), or [] without it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "architecture", "num_threads")
    return [{k: lib.get(k) for k in keys} for lib in threadpool_info() if lib.get("user_api") == "blas"]


def time_block(step: Callable[[], Any], repeats: int, clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Seconds per call for ``repeats`` back-to-back calls of ``step``, after the quiet pause."""
    time.sleep(QUIET_PAUSE_S)
    times = []
    for _ in range(repeats):
        start = clock()
        step()
        times.append(clock() - start)
    return times


def alternate(
    steps: dict[str, Callable[[], Any]], repeats: int, rounds: int, warmup: int,
    clock: Callable[[], float] | None = None,
) -> dict[str, list[float]]:
    """Warm each step up, then time ``rounds`` blocks of ``repeats`` calls of each, alternating
    between them (a, b, c, a, b, c, ...) so that slow phases of a noisy machine hit all alike.
    ``clock`` replaces time.perf_counter (on a GPU: one that synchronises first)."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name] += time_block(step, repeats, clock or time.perf_counter)
    return times


def summary(times: list[float]) -> dict[str, float]:
    """Median and spread of a list of seconds, in milliseconds: the quartiles and the extremes."""
    ms = sorted(1e3 * t for t in times)
    q1, _, q3 = statistics.quantiles(ms, n=4) if len(ms) > 1 else (ms[0], ms[0], ms[0])
    return {"median_ms": statistics.median(ms), "q1_ms": q1, "q3_ms": q3, "min_ms": ms[0], "max_ms": ms[-1]}


def sgemm_gflops(size: int = 2048, repeats: int = 7, backend_name: str = "numpy") -> float:
    """The machine's float32 matrix-product speed: GFLOP/s of a size^3 product (2 size^3 flops)
    with NumPy, or with CuPy on the GPU; the best of ``repeats`` (other work only slows it)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    clock = time.perf_counter
    if backend_name == "cupy":
        import tinyae

        a, b = tinyae.to_backend(a, "cupy"), tinyae.to_backend(b, "cupy")
        clock = gpu_clock()
    a @ b  # warm-up: thread pool and buffers
    best = min(time_block(lambda: a @ b, repeats, clock))
    return 2.0 * size**3 / best / 1e9


def minor_page_faults() -> int:
    """Minor page faults of this process so far (fresh memory the OS maps on first touch);
    0 where the resource module is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def gpu_clock(also: Callable[[], Any] | None = None) -> Callable[[], float]:
    """time.perf_counter after waiting for the GPU's queued work (CuPy's, and ``also``'s):
    a GPU runs asynchronously, so an unsynchronised clock would time only the launches."""
    import cupy

    def clock() -> float:
        cupy.cuda.Device().synchronize()
        if also is not None:
            also()
        return time.perf_counter()

    return clock


def machine() -> dict[str, Any]:
    """Facts to print with the numbers: CPU, Python, NumPy and its BLAS."""
    import numpy as np

    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cores": cores(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
    }

"""How many threads NumPy's BLAS may use for tinyae's matrix products.

The demos' models are small (784 inputs, a few hundred units, batches of 64): on a 2-core
machine a second BLAS thread bought 0-17% on a quiet machine, and made training 2-6x
slower as soon as one other CPU-bound process ran beside it (OpenBLAS's threads spin and wait
for each other; measured with ``python -m benchmarks.threads [--load 1]``, numbers in
docs/performance.md). So the demos use :data:`DEMO_THREADS` = 1 unless told otherwise; the library
itself changes nothing until asked (``set_threads`` or ``with limit_threads(n):``), since the
thread pool belongs to the whole process, not to tinyae.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["DEMO_JOBS", "DEMO_THREADS", "cores", "get_threads", "limit_threads", "set_threads"]

DEMO_THREADS = 1


def _load_blas_libraries() -> None:
    """threadpoolctl limits only the BLAS libraries already loaded. SciPy (which scikit-learn
    imports) brings its own OpenBLAS; loaded later, it would run on every core. Load it first."""
    with contextlib.suppress(ImportError):
        import scipy.linalg  # noqa: F401


def cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# `tinyae demo` runs this many demos at once, each in a process of its own on DEMO_THREADS: two on
# a machine of two cores or more. Two processes of one thread use two cores without the waiting of
# a second BLAS thread, which made training 2-6x slower beside a busy program (docs/performance.md).
DEMO_JOBS = min(2, cores())


def _check(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"the thread count must be a whole number >= 1, got {threads!r}")
    return min(threads, cores())  # more threads than cores only ever hurts


def get_threads() -> int | None:
    """The BLAS thread count in force now (the largest, if several BLAS libraries are loaded, as
    NumPy's and SciPy's are); None if threadpoolctl finds no BLAS library."""
    from threadpoolctl import threadpool_info

    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(counts, default=None)


def set_threads(threads: int) -> int:
    """Limit NumPy's BLAS (and SciPy's, if installed) to ``threads`` threads (at most the cores) for
    the rest of the process; return the count set. A BLAS library loaded afterwards by something
    else keeps its own count. CuPy's work runs on the GPU and is not affected."""
    from threadpoolctl import threadpool_limits

    threads = _check(threads)
    _load_blas_libraries()
    threadpool_limits(limits=threads, user_api="blas")
    return threads


@contextmanager
def limit_threads(threads: int) -> Iterator[int]:
    """``with limit_threads(1): fit(...)``: the BLAS thread count inside the block, restored after."""
    from threadpoolctl import threadpool_limits

    threads = _check(threads)
    _load_blas_libraries()
    with threadpool_limits(limits=threads, user_api="blas"):
        yield threads

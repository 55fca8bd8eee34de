"""tinyae.threads: the BLAS thread count, set deliberately and restored."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tinyae import threads


def test_limit_threads_holds_inside_the_block_and_restores_after():
    before = threads.get_threads()
    with threads.limit_threads(1) as count:
        assert count == 1 and threads.get_threads() == 1
        a = np.ones((64, 64), np.float32)
        assert float((a @ a)[0, 0]) == 64.0  # BLAS still works at one thread
    assert threads.get_threads() == before


def test_set_threads_caps_at_the_cores_and_lasts():
    before = threads.get_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        assert threads.set_threads(1) == 1 and threads.get_threads() == 1
        assert threads.set_threads(10_000) == cores and threads.get_threads() == cores
    finally:
        threads.set_threads(before)
    assert threads.get_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, None])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match=f"the thread count must be a whole number >= 1, got {bad!r}"):
        threads.set_threads(bad)


def test_the_demos_run_on_one_blas_thread_every_blas_library_included():
    """run_all limits every BLAS library to DEMO_THREADS while the demos train, also SciPy's own
    OpenBLAS that scikit-learn brings (loaded late, it would escape the limit), and gives the setting
    back. In a fresh process, so that nothing was imported before."""
    script = textwrap.dedent("""
        from threadpoolctl import threadpool_info
        from tinyae import demos, threads

        def probe(ctx):
            import sklearn.decomposition  # what the demos import while they run
            print("inside", sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}))
            return {}

        demos.DEMOS["probe"] = demos.Demo("probe", "probe", probe)
        demos.run_all(["probe"], "fashion-mnist-small", %r, progress=False)  # the dataset needs no scikit-learn
        print("after", threads.get_threads())
    """)
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run([sys.executable, "-c", script % out], capture_output=True, text=True, timeout=120,
                                env={**os.environ, "OPENBLAS_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr
    assert f"inside [{threads.DEMO_THREADS}]" in result.stdout
    assert "after 2" in result.stdout


def test_set_threads_also_holds_for_scipy_loaded_afterwards():
    """ae.set_threads(1) in a user's script, then scikit-learn: SciPy's OpenBLAS is limited too."""
    script = ("import tinyae as ae\nae.set_threads(1)\nimport sklearn.decomposition\n"
              "from threadpoolctl import threadpool_info\n"
              "print(sorted({lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas'}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1]"

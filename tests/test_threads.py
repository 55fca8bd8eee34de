"""tinyae.threads: the BLAS thread count, set deliberately and restored."""

from __future__ import annotations

import numpy as np
import pytest

from tinyae import demos, threads


def test_limit_threads_holds_inside_the_block_and_restores_after():
    before = threads.get_threads()
    with threads.limit_threads(1) as count:
        assert count == 1 and threads.get_threads() == 1
        a = np.ones((64, 64), np.float32)
        assert float((a @ a)[0, 0]) == 64.0  # BLAS still works at one thread
    assert threads.get_threads() == before


def test_set_threads_caps_at_the_cores_and_lasts():
    before = threads.get_threads()
    try:
        assert threads.set_threads(1) == 1 and threads.get_threads() == 1
        assert threads.set_threads(10_000) <= threads._check(10_000) <= 10_000
    finally:
        threads.set_threads(before)
    assert threads.get_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, None])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match=f"the thread count must be a whole number >= 1, got {bad!r}"):
        threads.set_threads(bad)


def test_the_demos_run_on_one_blas_thread(tmp_path, monkeypatch):
    """run_all limits BLAS to DEMO_THREADS while the demos train, and gives the setting back."""
    seen = []
    monkeypatch.setitem(demos.DEMOS, "probe", demos.Demo("probe", "probe", lambda ctx: seen.append(
        threads.get_threads()) or {}))
    before = threads.get_threads()
    demos.run_all(["probe"], "digits", tmp_path, progress=False)
    assert seen == [threads.DEMO_THREADS] and threads.get_threads() == before

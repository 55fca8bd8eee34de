"""The init benchmark (python -m benchmarks.init): a smoke run has every variant, finite numbers, a table."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root holds benchmarks/

from benchmarks import init  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("init") / "init.json"
    # in a process of its own (which trains every variant in turn): the run seeds tinyae and torch and
    # pins their threads, which must not leak into the tests that share this worker
    subprocess.run([sys.executable, "-m", "benchmarks.init", "--smoke", "--quiet", "--json", str(path)],
                   cwd=ROOT, check=True, timeout=300)
    return json.loads(path.read_text())


def test_the_smoke_run_trains_every_variant_of_every_model(smoke):
    assert smoke["smoke"] and smoke["epochs"] == 1 and smoke["seeds"] == [0]
    got = {(r["model"], r["variant"]) for r in smoke["runs"]}
    assert got == {(m, v) for m in init.MODELS for v in init.VARIANTS}
    for r in smoke["runs"]:
        assert len(r["test"]) == 2 and len(r["train_loss"]) == 1  # before training, after epoch 1
        assert all(math.isfinite(t) and t > 0 for t in [*r["test"], *r["train_loss"], *r["test_own"]])
        # the shared float64 metric agrees with each library's own loss on the same outputs
        assert r["test"][-1] == pytest.approx(r["test_own"][-1], rel=1e-3)


def test_the_summary_has_epoch_1_every_variant_and_the_gaps(smoke, capsys):
    for model in init.MODELS:
        row = smoke["summary"][model]["epochs"]["1"]
        for v in init.VARIANTS:
            assert math.isfinite(row[v]["mean"]) and row[v]["min"] <= row[v]["mean"] <= row[v]["max"]
        for v in init.VARIANTS[:-1]:
            assert row[f"{v}_gap_pct"]["of_means"] == pytest.approx(100 * (row[v]["mean"] / row["torch"]["mean"] - 1))
    table = init.format_tables(smoke)
    for v in init.VARIANTS:
        assert v in table
    assert table.count("| 1 |") == len(init.MODELS) and "nan" not in table.lower()


def test_the_old_variant_is_he_everywhere_whatever_the_builders_do(smoke):
    for r in smoke["runs"]:
        if r["variant"] == "tinyae-old":
            assert r["rule"] == "he-he-he-he"
            assert all(layer["bias_abs_max"] == 0 for layer in r["layers"])
        if r["variant"] == "torch":
            assert all(layer["bias_abs_max"] > 0 for layer in r["layers"])  # torch draws its biases too


def test_a_seed_fixes_the_data_order_and_the_test_noise():
    assert np.array_equal(init.epoch_order(1, 2, 50), init.epoch_order(1, 2, 50))
    assert not np.array_equal(init.epoch_order(1, 2, 50), init.epoch_order(1, 3, 50))
    assert np.array_equal(init.test_eps(7), init.test_eps(7))


def test_the_shared_metrics_are_bce_and_the_negative_elbo():
    x = np.array([[0.0, 1.0, 0.25]], dtype=np.float32)
    logits = np.array([[-2.0, 3.0, 0.5]], dtype=np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    assert init.mlp_metric(logits, x) == pytest.approx(bce.mean())
    mu, logvar = np.array([[0.5, -1.0]]), np.array([[0.0, np.log(0.25)]])
    rec, kl = init.vae_metric(mu, logvar, logits, x)
    assert rec == pytest.approx(bce.sum())
    assert kl == pytest.approx(0.5 * (0.25 + 1.0 + 1.0 + 0.25 - 2 - np.log(0.25)))

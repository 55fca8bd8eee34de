"""The recommender demo: the synthetic ratings, the split, and AutoRec against the baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinyae.demos.recommender as recommender  # registers the demo
from tinyae import demos
from tinyae.threads import limit_threads


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    with pytest.MonkeyPatch.context() as monkeypatch, limit_threads(1):  # as `tinyae demo` runs it
        monkeypatch.delenv(recommender.MOVIELENS_ENV, raising=False)
        return demos.run("recommender", "digits", out=out, epochs=20, progress=False), out


def test_the_synthetic_ratings_are_stars_with_95_percent_missing():
    ratings = recommender.synthetic_ratings()
    assert ratings.shape == (recommender.USERS, recommender.ITEMS) and ratings.dtype == np.float32
    assert np.mean(ratings == 0) == pytest.approx(0.95, abs=1e-12)
    rated = ratings[ratings != 0]
    assert set(np.unique(rated).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    np.testing.assert_array_equal(ratings, recommender.synthetic_ratings())  # deterministic
    assert not np.array_equal(ratings, recommender.synthetic_ratings(seed=1))


def test_the_split_holds_out_ratings_the_training_matrix_lacks():
    ratings = recommender.synthetic_ratings(users=50, items=40, missing=0.8)
    split = recommender.split_ratings(ratings)
    n = np.count_nonzero(ratings)
    assert (len(split.test[2]), len(split.val[2])) == (round(0.1 * n), round(0.05 * n))
    assert np.count_nonzero(split.train) == n - len(split.test[2]) - len(split.val[2])
    for users, items, values in (split.val, split.test):
        assert not np.any(split.train[users, items])
        np.testing.assert_array_equal(ratings[users, items], values)
    with pytest.raises(ValueError, match="too few to hold out"):
        recommender.split_ratings(np.eye(3, dtype=np.float32))


def test_autorec_beats_the_item_mean_and_the_figures_are_written(result):
    run, out = result
    rmse = run.metrics["test_rmse"]
    # measured at 20 epochs: AutoRec 0.84, item mean 0.97, global mean 1.07, SVD impute 0.60
    assert rmse["autorec"] < rmse["item_mean"] - 0.08
    assert rmse["item_mean"] < rmse["global_mean"]
    assert run.metrics["synthetic"] and run.metrics["missing_fraction"] == pytest.approx(0.95)
    # the synthetic ratings are of rank 5 plus noise: the validation ratings pick k = 5 of (2, 5, 10),
    # and the SVD wins by far (validation RMSE 0.89, 0.59 and 0.73)
    assert run.metrics["svd"]["rank"] == recommender.RANK
    assert rmse["svd"] < rmse["autorec"] - 0.1 and run.metrics["winner"] == "SVD impute (k=5)"
    assert run.metrics["autorec_beats_item_mean"] is True
    assert run.metrics["split"] == {"train": 25_500, "val": 1_500, "test": 3_000}
    written = json.loads((out / "recommender" / "metrics.json").read_text())
    assert written["test_rmse"] == rmse and written["autorec"]["epochs"] == 20
    for name in ("recommender_rmse", "recommender_training"):
        assert (out / "recommender" / f"{name}.png").stat().st_size > 0


def test_movielens_from_the_environment(tmp_path, monkeypatch):
    ratings = recommender.synthetic_ratings(users=40, items=30, missing=0.7, seed=1)
    users, items = np.nonzero(ratings)
    lines = [f"{u + 1}\t{i + 1}\t{int(ratings[u, i])}\t0" for u, i in zip(users, items)]
    (tmp_path / "u.data").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv(recommender.MOVIELENS_ENV, str(tmp_path))
    metrics = demos.run("recommender", "digits", epochs=2, progress=False).metrics
    assert not metrics["synthetic"] and metrics["dataset"].startswith("MovieLens")
    assert (metrics["users"], metrics["items"], metrics["ratings"]) == (40, 30, len(lines))

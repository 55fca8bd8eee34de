"""The tabular anomaly demo: breast cancer, an autoencoder against PCA and an isolation forest."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinyae.demos.tabular as tabular
from tinyae import demos
from tinyae.demos import core
from tinyae.threads import limit_threads

datasets = pytest.importorskip("sklearn.datasets")
cdist = pytest.importorskip("scipy.spatial.distance").cdist  # scipy: a dependency of scikit-learn


def _rows_of(split: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Which raw case each row of x_train, then x_test is, found from the data alone.

    Standardising is, per feature, an increasing affine map, so the sorted standardised values of
    all the split's rows line up with the sorted raw values: a straight-line fit gives each
    feature's map, its inverse gives the raw rows back, and each is matched to its nearest case."""
    z = np.concatenate([split["x_train"], split["x_test"]]).astype(np.float64)
    assert z.shape == x.shape, f"the split has {z.shape[0]} rows, the data {x.shape[0]}"
    slope, intercept = np.array([np.polyfit(raw, std, 1) for raw, std in zip(np.sort(x, 0).T, np.sort(z, 0).T)]).T
    assert np.all(slope > 0)
    raw = (z - intercept) / slope
    distance = cdist(raw * slope, x * slope, "sqeuclidean")  # in standardised units
    rows = distance.argmin(axis=1)
    assert distance[np.arange(len(rows)), rows].max() < 1e-8  # an exact match (float32's precision) ...
    assert np.sort(distance, axis=1)[:, 1].min() > 1.0  # ... and no other case near it
    return rows


def test_the_split_fits_on_benign_cases_only_and_tests_on_the_rest():
    """Every case is in one part only; the training part is benign cases alone, 70% of them; the
    standardiser is the mean and standard deviation of those cases, not of any test case."""
    x, y = datasets.load_breast_cancer(return_X_y=True)  # y: 0 = malignant, 1 = benign
    split = tabular.breast_cancer_split()
    assert split["x_train"].dtype == split["x_test"].dtype == np.float32
    rows = _rows_of(split, x)
    n_train = len(split["x_train"])
    train, test = rows[:n_train], rows[n_train:]
    assert sorted(rows) == list(range(len(x)))  # disjoint parts, together every case
    assert n_train == round(0.7 * np.sum(y == 1)) == 250
    assert np.all(y[train] == 1), "a malignant case is in the training part"
    np.testing.assert_array_equal(split["malignant"], y[test] == 0)
    assert split["malignant"].sum() == np.sum(y == 0) == 212  # every malignant case is a test case
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    np.testing.assert_allclose(split["x_train"], (x[train] - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(split["x_test"], (x[test] - mean) / std, rtol=1e-5, atol=1e-5)
    # the check tells the training cases' statistics from those of every benign case (0.065 std apart at most)
    benign = x[y == 1]
    assert not np.allclose(split["x_train"], (x[train] - benign.mean(axis=0)) / benign.std(axis=0), atol=1e-3)
    # another seed, another split of the benign cases; the malignant ones are all tested still
    other = _rows_of(tabular.breast_cancer_split(seed=1), x)
    assert set(other[:n_train]) != set(train) and np.all(y[other[:n_train]] == 1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The demo at 30 epochs, as `tinyae demo` runs it, recording what each method was fitted on:
    (the demo's result, its output folder, {method: [(fitted on, validated on), ...]})."""
    from sklearn.ensemble import IsolationForest

    seen: dict[str, list] = {"autoencoder": [], "pca": [], "isolation_forest": []}
    train, pca_fit, forest_fit = core.Context.train, core.PCA.fit.__func__, IsolationForest.fit

    def spied_train(self, model, x_train, x_val, *args, **kw):
        seen["autoencoder"].append((x_train, x_val))
        return train(self, model, x_train, x_val, *args, **kw)

    def spied_pca(cls, x_train, k):
        seen["pca"].append((x_train, None))
        return pca_fit(cls, x_train, k)

    def spied_fit(self, x, *args, **kw):
        seen["isolation_forest"].append((x, None))
        return forest_fit(self, x, *args, **kw)

    out = tmp_path_factory.mktemp("figures")
    with pytest.MonkeyPatch.context() as monkeypatch, limit_threads(1):
        monkeypatch.setattr(core.Context, "train", spied_train)
        monkeypatch.setattr(core.PCA, "fit", classmethod(spied_pca))
        monkeypatch.setattr(IsolationForest, "fit", spied_fit)
        result = demos.run("tabular", "digits", out=out, epochs=30, progress=False)
    return result, out, seen


def test_every_method_is_fitted_on_the_training_part_only(run):
    """The autoencoder, PCA and the isolation forest each see x_train, and no validation data."""
    _, _, seen = run
    x_train = tabular.breast_cancer_split()["x_train"]
    for name, calls in seen.items():
        assert len(calls) == 1, f"{name} was fitted {len(calls)} times"
        (fitted_on, validated_on), = calls
        np.testing.assert_array_equal(np.asarray(fitted_on), x_train, err_msg=name)
        assert validated_on is None, name


def test_the_demo_writes_its_roc_and_its_aucs(run):
    result, out, _ = run
    auc = result.metrics["roc_auc"]
    # measured at 30 epochs: autoencoder 0.918, PCA 0.940, isolation forest 0.959 (chance: 0.5); PCA
    # and the forest do not depend on the epochs (nor on the autoencoder's seed)
    assert auc["autoencoder"] > 0.85
    assert auc["pca"] == pytest.approx(0.940, abs=0.005)
    assert auc["isolation_forest"] == pytest.approx(0.959, abs=0.005)
    assert result.metrics["best"] == "isolation_forest"
    assert result.metrics["split"] == {"train_benign": 250, "test_benign": 107, "test_malignant": 212}
    assert result.metrics["features"] == 30 and result.metrics["epochs"] == 30
    assert (out / "tabular" / "tabular_roc.png").stat().st_size > 0
    assert json.loads((out / "tabular" / "metrics.json").read_text())["roc_auc"] == auc
    assert list(result.figures) == ["tabular_roc"]

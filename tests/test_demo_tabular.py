"""The tabular anomaly demo: breast cancer, an autoencoder against PCA and an isolation forest."""

from __future__ import annotations

import json

import numpy as np

import tinyae.demos.tabular as tabular  # registers the demo
from tinyae import demos
from tinyae.threads import limit_threads


def test_the_split_fits_on_benign_cases_only():
    split = tabular.breast_cancer_split()
    assert split["x_train"].shape == (250, 30) and split["x_test"].shape == (107 + 212, 30)
    assert split["malignant"].sum() == 212  # every malignant case is a test case
    np.testing.assert_allclose(split["x_train"].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(split["x_train"].std(axis=0), 1.0, atol=1e-5)


def test_the_demo_writes_its_roc_and_its_aucs(tmp_path):
    with limit_threads(1):  # as `tinyae demo` runs it
        result = demos.run("tabular", "digits", out=tmp_path, epochs=30, progress=False)
    auc = result.metrics["roc_auc"]
    # measured at 30 epochs: autoencoder 0.92, PCA 0.94, isolation forest 0.96
    assert auc["autoencoder"] > 0.85 and auc["pca"] > 0.85 and auc["isolation_forest"] > 0.85
    assert result.metrics["best"] == max(auc, key=auc.get)
    assert result.metrics["split"] == {"train_benign": 250, "test_benign": 107, "test_malignant": 212}
    assert (tmp_path / "tabular" / "tabular_roc.png").stat().st_size > 0
    assert json.loads((tmp_path / "tabular" / "metrics.json").read_text())["roc_auc"] == auc
    assert list(result.figures) == ["tabular_roc"]

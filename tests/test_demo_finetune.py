"""The 'finetune' demo on the 8x8 digits (a small epoch budget), and its label budgets."""

from __future__ import annotations

import importlib
import json
import math

import numpy as np
import pytest
from PIL import Image  # matplotlib depends on pillow

from tinyae.demos import core

METHODS = {"raw_pixels", "pca", "frozen_encoder", "fine_tuned", "scratch"}


@pytest.fixture(scope="module")
def finetune_module():
    return importlib.import_module("tinyae.demos.finetune")


@pytest.fixture(scope="module")
def digits_run(finetune_module, tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    # run_all, as the command line does: one BLAS thread (several fight over a small model's matmuls)
    result = core.run_all(["finetune"], "digits", out, epochs=2, progress=False)["finetune"]
    return result, out / "finetune"


def test_the_demo_writes_its_figure_and_metrics_on_digits(digits_run):
    result, folder = digits_run
    path = folder / "finetune_accuracy.png"
    assert path.exists() and result.files == [path]
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 400 and image.size[1] > 300
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["demo"] == "finetune" and metrics["dataset"] == "digits"
    assert metrics["labels_per_class"] == ["10", "50", "all"]
    assert metrics["labelled_images"] == [100, 500, 1197]
    assert metrics["pretrain_epochs"] == 2 and metrics["passes_per_configuration"] == 2
    assert set(metrics["accuracy"]) == METHODS
    for method, by_budget in metrics["accuracy"].items():
        assert list(by_budget) == ["10", "50", "all"], method
        assert all(0.0 <= value <= 1.0 and math.isfinite(value) for value in by_budget.values()), method
    assert set(metrics["pretraining_gain"]) == {"10", "50", "all"}
    # even two passes of a softmax head over the digits' pixels beat chance (0.1) by far
    assert metrics["accuracy"]["raw_pixels"]["all"] > 0.5
    assert result.metrics["seconds"] < 30  # about 2 s; the bound only catches a runaway epoch budget


@pytest.mark.parametrize("counts, expected", [
    ([5923, 6742, 5958, 5421], [100, 1000, None]),  # MNIST's 60,000
    ([1093, 1109, 1077], [10, 100, None]),  # the embedded Fashion-MNIST subset: 1000 would be nearly all
    ([127, 117, 110], [10, 50, None]),  # the 8x8 digits
    ([40, 60], [4, 10, None]),
])
def test_label_budgets_follow_the_smallest_class(finetune_module, counts, expected):
    assert finetune_module._label_budgets(np.array(counts)) == expected


def test_label_subsets_are_balanced_and_nested(finetune_module):
    labels = np.random.default_rng(0).integers(0, 4, size=200)
    order = np.random.default_rng(1).permutation(200)
    few, more = (finetune_module._balanced_subset(labels, k, order) for k in (5, 20))
    assert np.bincount(labels[few]).tolist() == [5] * 4 and np.bincount(labels[more]).tolist() == [20] * 4
    assert set(few) <= set(more)
    assert sorted(finetune_module._balanced_subset(labels, None, order)) == list(range(200))

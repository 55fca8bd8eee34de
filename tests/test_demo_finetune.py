"""The 'finetune' demo on the 8x8 digits (a small epoch budget): its metrics over the seeds, the
frozen stage (a head on precomputed codes is a head on the frozen encoder), fine-tuning, the label
budgets and subsets, PCA, and the figure."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image  # matplotlib depends on pillow

from tinyae import backend, plot
from tinyae.data import load_digits
from tinyae.demos import core
from tinyae.demos import finetune as ft
from tinyae.models import mlp_autoencoder
from tinyae.models.classifier import Classifier
from tinyae.module import Sequential
from tinyae.optim import Adam
from tinyae.train import fit

METHODS = {"raw_pixels", "pca", "frozen_encoder", "fine_tuned", "scratch"}
BUDGETS = ["10", "50", "all"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    # run_all, as the command line does: one BLAS thread (several fight over a small model's matmuls)
    result = core.run_all(["finetune"], "digits", out, epochs=2, progress=False)["finetune"]
    return result, out / "finetune"


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def pretrained(digits):
    """A small autoencoder pretrained on the digits (no labels), and its codes of the training images."""
    backend.seed(0)
    model = mlp_autoencoder([digits.n_features, 32, 16], loss="bce")
    x = digits.flat("train")
    fit(model, Adam(model.parameters(), lr=3e-3), x, None, epochs=3, progress=False)
    return model, core.apply_model(model, model.encode, x)


def _weights(module):
    return [p.data.copy() for p in module.parameters()]


# --------------------------------------------------------------------------- #
# The demo's run
# --------------------------------------------------------------------------- #
def test_the_demo_writes_its_figure_and_metrics_on_digits(digits_run):
    result, folder = digits_run
    path = folder / "finetune_accuracy.png"
    assert path.exists() and result.files == [path]
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 800 and image.size[1] > 300
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["demo"] == "finetune" and metrics["dataset"] == "digits"
    assert metrics["labels_per_class"] == BUDGETS
    assert metrics["labelled_images"] == [100, 500, 1197]
    assert metrics["pretrain_epochs"] == 2 and metrics["passes_per_configuration"] == 2
    # at least MIN_STEPS steps: 10 a class are one batch (60 epochs), 50 a class four, all ten (6 epochs)
    assert metrics["head_epochs"] == [60, 15, 6]
    assert metrics["seeds"] == list(ft.SEEDS) and len(ft.SEEDS) >= 3
    assert result.metrics["seconds"] < 30  # a few seconds; the bound only catches a runaway epoch budget


def test_the_metrics_are_the_seeds_summarised(digits_run):
    metrics = digits_run[0].metrics
    seeds = len(metrics["seeds"])
    for key in ("accuracy", "accuracy_per_seed", "accuracy_range"):
        assert set(metrics[key]) == METHODS, key
    for method in METHODS:
        for budget in BUDGETS:
            runs = metrics["accuracy_per_seed"][method][budget]
            assert len(runs) == seeds and all(0.0 <= v <= 1.0 and math.isfinite(v) for v in runs), (method, budget)
            assert metrics["accuracy"][method][budget] == pytest.approx(np.mean(runs))
            assert metrics["accuracy_range"][method][budget] == [min(runs), max(runs)]
    for budget in BUDGETS:  # paired: the same seed's labels and start, fine-tuned minus scratch
        gains = metrics["pretraining_gain_per_seed"][budget]
        expected = np.subtract(metrics["accuracy_per_seed"]["fine_tuned"][budget],
                               metrics["accuracy_per_seed"]["scratch"][budget])
        assert gains == pytest.approx(expected.tolist())
        assert metrics["pretraining_gain"][budget] == pytest.approx(np.mean(gains))
        assert metrics["fine_tuned_ahead_in_seeds"][budget] == int(np.sum(expected > 0))


def test_every_classifier_beats_chance_by_far_on_digits(digits_run):
    accuracy = digits_run[0].metrics["accuracy_per_seed"]
    # chance is 0.1; even two epochs of pretraining give codes a head can read, in every seed
    for method in ("frozen_encoder", "fine_tuned", "scratch", "raw_pixels"):
        for budget in BUDGETS:
            assert min(accuracy[method][budget]) > 0.6, (method, budget, accuracy[method][budget])
    # and more labels help: all of them against 10 a class, on average over the seeds
    for method in METHODS:
        assert np.mean(accuracy[method]["all"]) > np.mean(accuracy[method]["10"]), method


# --------------------------------------------------------------------------- #
# The frozen stage and fine-tuning
# --------------------------------------------------------------------------- #
def _frozen_stage(digits, pretrained, seed: int):
    """The demo's frozen stage on the first 300 labelled digits: (context, x, y, the classifier)."""
    model, codes = pretrained
    x, y = digits.flat("train")[:300], digits.y_train[:300]
    ctx = core.Context(digits, None, progress=False)
    backend.seed(seed)
    return ctx, x, y, ft.frozen_classifier(ctx, model.encoder, codes[:300], y, 10, epochs=20, lr=2e-2)


def test_a_head_on_precomputed_codes_is_a_head_on_the_frozen_encoder(digits, pretrained):
    """Training the head on encode(x), computed once, takes the same steps as training it behind the
    frozen encoder: the same start, the same batches, the same weights at the end."""
    model, codes = pretrained
    before = _weights(model.encoder)
    ctx, x, y, frozen = _frozen_stage(digits, pretrained, seed=7)
    backend.seed(7)  # the same draws: the head's initial weights, then every epoch's shuffle
    behind = Classifier(copy.deepcopy(model.encoder).freeze(), ft._head(codes.shape[1], 10), 10)
    fit(behind, Adam(behind.parameters(), lr=2e-2), x, None, epochs=20, batch_size=ft.BATCH, labels=y, progress=False)
    for mine, theirs in zip(frozen.head.parameters(), behind.head.parameters()):
        np.testing.assert_allclose(mine.data, theirs.data, rtol=1e-4, atol=1e-5)
    # the classifier returned is encoder + head: a frozen copy of the encoder, its weights the pretrained ones
    assert frozen.encoder is not model.encoder and not any(p.trainable for p in frozen.encoder.parameters())
    for now, then, copied in zip(_weights(model.encoder), before, _weights(frozen.encoder)):
        np.testing.assert_array_equal(now, then)
        np.testing.assert_array_equal(copied, then)
    x_test, y_test = digits.flat("test"), digits.y_test
    test_codes = core.apply_model(model, model.encode, x_test)
    on_codes = Classifier(Sequential(), frozen.head, 10).accuracy(test_codes, y_test)
    assert frozen.accuracy(x_test, y_test) == pytest.approx(on_codes, abs=1 / len(y_test))
    assert on_codes > 0.5  # 300 labels, 60 steps: far above chance (0.1)


def test_fine_tuning_moves_the_encoder_and_leaves_the_pretrained_one_alone(digits, pretrained):
    model, _ = pretrained
    pretrained_weights = _weights(model.encoder)
    ctx, x, y, classifier = _frozen_stage(digits, pretrained, seed=3)
    frozen_encoder, frozen_head = _weights(classifier.encoder), _weights(classifier.head)
    x_test, y_test = digits.flat("test"), digits.y_test
    frozen_accuracy = classifier.accuracy(x_test, y_test)
    ft.fine_tune(ctx, classifier, x, y, epochs=5, lr=2e-3)
    assert all(p.trainable for p in classifier.encoder.parameters())
    for after, before in zip(_weights(classifier.encoder), frozen_encoder):
        assert not np.array_equal(after, before)  # every encoder tensor trained
    for after, before in zip(_weights(classifier.head), frozen_head):
        assert not np.array_equal(after, before)
    for now, then in zip(_weights(model.encoder), pretrained_weights):
        np.testing.assert_array_equal(now, then)  # the pretrained autoencoder is not the fine-tuned copy
    assert classifier.accuracy(x_test, y_test) > max(0.5, frozen_accuracy - 0.05)


# --------------------------------------------------------------------------- #
# Budgets, subsets, epochs, PCA
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("counts, expected", [
    ([5923, 6742, 5958, 5421], [100, 1000, None]),  # MNIST's 60,000
    ([1093, 1109, 1077], [10, 100, None]),  # the embedded Fashion-MNIST subset: 1000 would be nearly all
    ([127, 117, 110], [10, 50, None]),  # the 8x8 digits
    ([40, 60], [4, 10, None]),
])
def test_label_budgets_follow_the_smallest_class(counts, expected):
    assert ft._label_budgets(np.array(counts)) == expected


def test_label_subsets_are_balanced_and_nested():
    labels = np.random.default_rng(0).integers(0, 4, size=200)
    order = np.random.default_rng(1).permutation(200)
    few, more = (ft._balanced_subset(labels, k, order) for k in (5, 20))
    assert np.bincount(labels[few]).tolist() == [5] * 4 and np.bincount(labels[more]).tolist() == [20] * 4
    assert set(few) <= set(more)
    assert sorted(ft._balanced_subset(labels, None, order)) == list(range(200))
    other = ft._balanced_subset(labels, 5, np.random.default_rng(2).permutation(200))  # another seed's draw
    assert np.bincount(labels[other]).tolist() == [5] * 4 and set(other) != set(few)


def test_the_digits_subsets_the_demo_draws_are_balanced_and_nested(digits):
    y = digits.y_train
    for seed in ft.SEEDS:
        order = np.random.default_rng(seed).permutation(len(y))
        ten, fifty = ft._balanced_subset(y, 10, order), ft._balanced_subset(y, 50, order)
        assert np.bincount(y[ten], minlength=10).tolist() == [10] * 10
        assert np.bincount(y[fifty], minlength=10).tolist() == [50] * 10
        assert set(ten) <= set(fifty) and len(set(fifty)) == 500


@pytest.mark.parametrize("images, passes, expected", [
    (100, 2, 60),  # 10 a class: one batch, so one step an epoch
    (1000, 2, 8),  # 100 a class: 8 batches
    (11000, 2, 2),  # all of the default's: 86 batches an epoch, the passes decide
    (1197, 8, 8),
])
def test_epochs_give_every_budget_its_minimum_of_steps(images, passes, expected):
    epochs = ft._epochs(images, passes)
    assert epochs == expected
    assert epochs * math.ceil(images / ft.BATCH) >= ft.MIN_STEPS and epochs >= passes


# --------------------------------------------------------------------------- #
# The figure
# --------------------------------------------------------------------------- #
def test_the_figure_states_the_seeds_and_shows_every_one():
    runs = {key: [[0.80, 0.82, 0.85], [0.90, 0.91, 0.93], [0.95, 0.95, 0.96]] for key in METHODS}
    gains = [[0.02, 0.01, 0.0], [-0.003, 0.004, 0.01], [0.0, 0.0, 0.0]]
    fig = plot.accuracy_by_labels([10, 50, 120], BUDGETS, runs, gains, title="digits (3 seeds)", note="n")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    text = " ".join([fig.get_suptitle(), *(t.get_text() for t in fig.texts),
                     *(ax.get_title() for ax in fig.axes)])
    assert "3 seeds" in text
    gain_axis = fig.axes[1]
    dots = sum(len(c.get_offsets()) for c in gain_axis.collections)
    assert dots == 9  # every seed's gain at every budget
    labels = [t.get_text() for t in gain_axis.texts]
    assert any("2/3 ahead" in s for s in labels) and not any("-0.0" in s for s in labels)


def test_the_verdict_names_the_budgets_where_every_seed_came_out_ahead():
    assert ft._verdict(["10", "100", "all"], [[0.01, 0.02, 0.005], [0.01, -0.01, 0.02], [0.0, 0.01, 0.01]]) == (
        "Fine-tuned beat scratch in all 3 seeds at 10 a class (with 3 seeds a hint, not proof); at the other "
        "budgets it is within the seeds' noise.")
    assert "did not beat scratch in all 3 seeds at any budget" in ft._verdict(["10", "all"], [[0.01, -0.01, 0.0]] * 2)
    assert ft._verdict(["10", "all"], [[0.01, 0.02, 0.03]] * 2).endswith("at 10 a class and all labels (with 3 seeds "
                                                                           "a hint, not proof).")

"""The demo 'finetune': feature learning as the notes do it. An autoencoder is pretrained on every
training image without labels; then, with few or many labels per class, a softmax head is trained
on raw pixels, on PCA codes, on the frozen encoder's codes, and the pretrained network is
fine-tuned; the same network trained from scratch says how much of that is the pretraining."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import plot
from ..layers import Dense
from ..models import mlp_autoencoder
from ..models.classifier import Classifier
from ..module import Module, Sequential
from .core import Context, _pca, demo

METHODS = {  # metrics key: legend
    "raw_pixels": "softmax on raw pixels",
    "pca": "softmax on PCA codes",
    "frozen_encoder": "softmax on the frozen encoder",
    "fine_tuned": "pretrained, fine-tuned",
    "scratch": "same network from scratch",
}


def _label_budgets(counts: np.ndarray) -> list[int | None]:
    """Labels per class to train with (None: every labelled image). 100 and 1000 as in the
    semi-supervised literature (MNIST's 6000 a class), where the smallest class has at least twice
    the larger: "all" must stand apart from it on a log axis, and the embedded Fashion-MNIST subset's
    1100 a class would put 1000 on top of "all", so it gets 10 and 100; the 8x8 digits (about 120 a
    class) get 10 and 50; smaller classes a tenth and a quarter of the smallest."""
    smallest = int(counts.min())
    for few, more in ((100, 1000), (10, 100), (10, 50)):
        if 2 * more <= smallest:
            return [few, more, None]
    return [max(1, smallest // 10), max(2, smallest // 4), None]


def _balanced_subset(labels: np.ndarray, per_class: int | None, order: np.ndarray) -> np.ndarray:
    """The first ``per_class`` images of every class in a fixed random ``order``, so the subsets are
    nested (the 100 of a class are among its 1000); None: all of them."""
    if per_class is None:
        return order
    return np.concatenate([order[labels[order] == c][:per_class] for c in np.unique(labels)])


def _head(inputs: int, classes: int) -> Dense:
    return Dense(inputs, classes, init="xavier")  # the logits: a linear output


@demo("finetune", "Feature learning as the notes do it: frozen codes, a softmax head, fine-tuning")
def finetune(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    x_train, x_test, y_train, y_test = data.flat("train"), data.flat("test"), data.y_train, data.y_test
    classes = len(data.class_names)
    sizes, code_dim = [ctx.d, 256, 32], 32
    # A softmax head is convex in its weights and trains fast (1e-2 converges within two passes
    # over the data, where 3e-3 stops 3 points short on frozen codes); fine-tuning moves pretrained
    # weights, gently; the network from scratch trains at the autoencoder's rate.
    head_lr, tune_lr, scratch_lr = 1e-2, 1e-3, 3e-3
    pretrain_epochs = ctx.epochs_for(3)
    # Every configuration sees as many samples, `passes` times the training set: few labels get many
    # epochs (on the embedded subset, 220 with 10 a class against 2 with all), so no head stops short
    # for want of steps.
    passes = ctx.epochs_for(2)

    pretrained = mlp_autoencoder(sizes, loss="bce")  # unsupervised: every training image, no labels
    ctx.train(pretrained, x_train, data.flat("val"), pretrain_epochs, label="pretraining, no labels")
    pca = _pca(code_dim, x_train)  # also fitted on every training image, without labels
    pca_train, pca_test = (pca.transform(x).astype(np.float32) for x in (x_train, x_test))

    budgets = _label_budgets(np.bincount(y_train, minlength=classes))
    order = np.random.default_rng(0).permutation(len(x_train))
    accuracy: dict[str, list[float]] = {key: [] for key in METHODS}
    images, epochs_used = [], []
    for per_class in budgets:
        idx = _balanced_subset(y_train, per_class, order)
        x, y = x_train[idx], y_train[idx]
        epochs = max(1, math.ceil(passes * len(x_train) / len(idx)))
        name = "all" if per_class is None else f"{per_class}"
        images.append(len(idx))
        epochs_used.append(epochs)
        def train(model: Module, inputs: np.ndarray, lr: float, label: str, y=y, epochs=epochs, name=name) -> None:
            ctx.train(model, inputs, None, epochs, lr=lr, label=f"{label}, {name} a class", labels=y)

        # (a) the head alone on the pixels: an empty encoder passes its input through
        raw = Classifier(Sequential(), _head(ctx.d, classes), classes)
        train(raw, x, head_lr, "raw pixels")
        accuracy["raw_pixels"].append(raw.accuracy(x_test, y_test))
        # (b) the head on PCA codes of the code's size
        on_pca = Classifier(Sequential(), _head(code_dim, classes), classes)
        train(on_pca, pca_train[idx], head_lr, "PCA codes")
        accuracy["pca"].append(on_pca.accuracy(pca_test, y_test))
        # (c) the head on the pretrained encoder, frozen: the optimizer leaves it as it is
        tuned = Classifier(copy.deepcopy(pretrained.encoder).freeze(), _head(code_dim, classes), classes)
        train(tuned, x, head_lr, "frozen encoder")
        accuracy["frozen_encoder"].append(tuned.accuracy(x_test, y_test))
        # (d) from (c)'s weights, everything trains, with a lower learning rate
        tuned.encoder.unfreeze()
        train(tuned, x, tune_lr, "fine-tuning")
        accuracy["fine_tuned"].append(tuned.accuracy(x_test, y_test))
        # the control: (d)'s network and its fine-tuning epochs, from a random start
        scratch = Classifier(mlp_autoencoder(sizes, loss="bce").encoder, _head(code_dim, classes), classes)
        train(scratch, x, scratch_lr, "from scratch")
        accuracy["scratch"].append(scratch.accuracy(x_test, y_test))

    per_class = [round(n / classes) if b is None else b for b, n in zip(budgets, images)]
    ctx.save(_accuracy_figure(per_class, budgets, accuracy, data.name, sizes, pretrain_epochs, passes),
             "finetune_accuracy")
    names = ["all" if b is None else str(b) for b in budgets]
    return {
        "sizes": sizes, "code_dim": code_dim, "pretrain_epochs": pretrain_epochs,
        "labels_per_class": names, "labelled_images": images, "head_epochs": epochs_used,
        "passes_per_configuration": passes, "head_lr": head_lr, "fine_tune_lr": tune_lr, "scratch_lr": scratch_lr,
        "accuracy": {key: dict(zip(names, values)) for key, values in accuracy.items()},
        "pretraining_gain": dict(zip(names, np.subtract(accuracy["fine_tuned"], accuracy["scratch"]).tolist())),
    }


def _accuracy_figure(per_class: list[int], budgets: list[int | None], accuracy: dict[str, list[float]],
                     dataset: str, sizes: list[int], pretrain_epochs: int, passes: int) -> Figure:
    """Test accuracy against labels per class (log axis), one line per method."""
    fig, ax = plot._subplots(figsize=(7.2, 4.6))
    styles = {"raw_pixels": ("tab:gray", "o", "-"), "pca": ("tab:blue", "s", "-"),
              "frozen_encoder": ("tab:orange", "^", "-"), "fine_tuned": ("tab:green", "D", "-"),
              "scratch": ("tab:red", "v", "--")}
    for key, values in accuracy.items():
        color, marker, line = styles[key]
        ax.plot(per_class, values, label=METHODS[key], color=color, marker=marker, linestyle=line)
    ax.set_xscale("log")
    ax.set_xticks(per_class, [f"all (~{n})" if b is None else str(n) for n, b in zip(per_class, budgets)])
    ax.minorticks_off()
    ax.set_xlabel("labelled training images per class (log scale)")
    ax.set_ylabel("test accuracy")
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{dataset}: pretraining a {'-'.join(map(str, sizes))} autoencoder, then a softmax head")
    ax.legend(fontsize=8, loc="lower right")
    ax.text(0.0, -0.14, f"pretraining: {pretrain_epochs} epochs on every training image, no labels. Each classifier "
            f"sees {passes}x the training set's size in samples\n(more epochs for fewer labels); fine-tuning starts "
            f"from the frozen-encoder classifier. One seed: differences of a point or two are noise.",
            transform=ax.transAxes, fontsize=7.5, va="top", color="0.3")
    return fig

"""The recommender demo: item-based AutoRec (Sedhain et al. 2015) on a rating matrix with 95% missing.

The data are not images: the demo ignores the dataset it is run with (``ctx.data``) and makes its
own rating matrix. No rating dataset ships with tinyae (MovieLens' licence forbids redistributing
it), so by default the ratings are **synthetic**: :func:`synthetic_ratings` draws a low-rank matrix
from Gaussian factors, adds noise, rounds it to the stars 1-5 and hides 95% of the entries at random.
With the environment variable ``TINYAE_MOVIELENS`` set to a MovieLens ratings file or folder
(ml-100k's u.data, ml-1m's ratings.dat, ml-latest-small's ratings.csv; downloaded from GroupLens by
the user), the demo runs on those ratings instead, with the same settings, tuned on the synthetic
data only. It is slower: a matrix of ml-100k's size (943 x 1682, 100,000 ratings) took 23 s on one
thread, and ml-1m (6040 x 3706) takes minutes.

The observed ratings are split at random: 85% train, 5% validation, 10% test. The four predictors
see the training ratings only and are scored by RMSE on the test ratings, their predictions clipped
to the rating scale ([1, 5]):

- the global mean rating;
- each item's mean rating (the global mean for an item with no training rating);
- iterative SVD imputation ("hard impute"): fill the missing entries with the item means, then
  repeat: the rank-k approximation of the item-centred matrix, whose values refill the missing
  entries (one subspace iteration per step, warm-started); k is chosen on the validation ratings;
- AutoRec: each item is the vector of its ratings by all users (0 = unrated), reconstructed through
  one hidden sigmoid layer, users -> k -> users, trained with the masked MSE (only the observed
  ratings count, :class:`tinyae.losses.MaskedMSELoss`) and AdamW's weight decay. An item's
  predicted ratings are its reconstruction from its training ratings. The epoch with the best
  validation RMSE is kept. 100 hidden units, not the paper's 500: on these 25,500 training ratings
  200 and 500 did worse on the validation ratings (the settings were picked by hand on them).

What it shows, on the synthetic data (40 epochs, about 4 s): test RMSE 1.07 for the global mean,
0.97 for the item means, 0.78 for AutoRec and 0.60 for SVD imputation (k = 5). AutoRec beats the
means by far, and loses to the SVD: the data were drawn from the very model SVD imputation fits (a
low-rank matrix plus noise), and AutoRec overfits them (training RMSE 0.28). The paper reports
I-AutoRec ahead of matrix factorisation on real MovieLens; tinyae has not measured that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend, plot
from ..data import load_movielens
from ..models import mlp_autoencoder
from ..optim import Adam, CosineAnnealingLR
from ..train import fit
from .core import Context, apply_model, demo

MOVIELENS_ENV = "TINYAE_MOVIELENS"

# The synthetic matrix: 1000 users x 600 items, 5% of it observed (30,000 ratings, 50 per item and
# 30 per user). At 600 x 400 (30 ratings per item, 20 per user) AutoRec beat the item mean by less
# than half as much: each item is one training sample, and its weights per user learn from that
# user's ratings only.
USERS, ITEMS, RANK, MISSING = 1000, 600, 5, 0.95
HIDDEN, WEIGHT_DECAY, LR, BATCH = 100, 1.0, 2e-2, 32
SVD_RANKS, SVD_ITERATIONS = (2, 5, 10), 150


def synthetic_ratings(users: int = USERS, items: int = ITEMS, rank: int = RANK, missing: float = MISSING,
                      noise: float = 0.3, seed: int = 0) -> np.ndarray:
    """A (users x items) float32 rating matrix in stars 1-5, 0 where not rated (``missing`` of the
    entries exactly, at random): round(3 + b_i + P Q^T / sqrt(rank) + noise), clipped to [1, 5], with
    Gaussian factors P (users x rank) and Q (items x rank), N(0, 1), item biases b_i ~ N(0, 0.5^2)
    and noise N(0, ``noise``^2). Deterministic given ``seed``."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(users, rank)), rng.normal(size=(items, rank))
    scores = 3.0 + 0.5 * rng.normal(size=(1, items)) + p @ q.T / np.sqrt(rank) + noise * rng.normal(size=(users, items))
    stars = np.clip(np.rint(scores), 1, 5).astype(np.float32)
    observed = np.zeros(users * items, dtype=bool)
    observed[rng.choice(users * items, round((1.0 - missing) * users * items), replace=False)] = True
    return np.where(observed.reshape(users, items), stars, np.float32(0.0))


@dataclass
class RatingSplit:
    """The training matrix (users x items, 0 = unrated or held out) and the held-out ratings, each
    as (user rows, item columns, ratings)."""

    train: np.ndarray
    val: tuple[np.ndarray, np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def scale(self) -> tuple[float, float]:
        """The rating scale, from the training ratings (predictions are clipped to it)."""
        rated = self.train[self.train != 0]
        return float(rated.min()), float(rated.max())


def split_ratings(ratings: np.ndarray, val: float = 0.05, test: float = 0.1, seed: int = 0) -> RatingSplit:
    """Hold out ``test`` and ``val`` of the observed ratings, drawn at random (``seed``)."""
    users, items = np.nonzero(ratings)
    order = np.random.default_rng(seed).permutation(len(users))
    n_test, n_val = round(test * len(order)), round(val * len(order))
    if n_test < 1 or n_val < 1 or n_test + n_val >= len(order):
        raise ValueError(f"split_ratings: {len(order)} ratings are too few to hold out {test:g} for test and {val:g} "
                         f"for validation with one at least in each and some left to train on")
    held = {"test": order[:n_test], "val": order[n_test:n_test + n_val]}
    train = ratings.copy()
    for idx in held.values():
        train[users[idx], items[idx]] = 0.0
    picked = {name: (users[idx], items[idx], ratings[users[idx], items[idx]]) for name, idx in held.items()}
    return RatingSplit(train, picked["val"], picked["test"])


def rmse(prediction: np.ndarray, held: tuple[np.ndarray, np.ndarray, np.ndarray], scale: tuple[float, float]) -> float:
    """RMSE of a (users x items) prediction, clipped to the rating scale, on the held-out ratings."""
    users, items, ratings = held
    clipped = np.clip(prediction[users, items], *scale)
    return float(np.sqrt(np.mean((clipped - ratings) ** 2)))


def item_means(train: np.ndarray) -> tuple[float, np.ndarray]:
    """(the global mean rating, each item's mean rating: the global mean for an item with none)."""
    rated = train != 0
    global_mean = float(train[rated].mean())
    counts = rated.sum(axis=0)
    return global_mean, np.where(counts > 0, train.sum(axis=0) / np.maximum(counts, 1), global_mean)


def svd_impute(train: np.ndarray, rank: int, iterations: int, seed: int = 0) -> np.ndarray:
    """Iterative SVD imputation (hard impute) of the item-centred matrix A (missing entries start at 0,
    the item's mean): repeat A_k = the rank-k approximation of A, A[missing] = A_k[missing]. Each step
    is one subspace iteration, V <- orth(A^T orth(A V)), warm-started from the last step's V, so a
    step costs a few (users x items x k) products instead of a full SVD. Returns A_k + item means."""
    _, means = item_means(train)
    rated = np.flatnonzero(train)  # flat indices of the observed entries (5% of them)
    known = (train - means.astype(np.float32)).flat[rated]
    a = np.zeros(train.shape, dtype=np.float32)
    a.flat[rated] = known
    v = np.linalg.qr(np.random.default_rng(seed).normal(size=(a.shape[1], rank)))[0].astype(np.float32)
    for _ in range(iterations):
        q = np.linalg.qr(a @ v)[0]  # orthonormal basis of A's column space, users x k
        b = q.T @ a  # k x items: A_k = q b
        v = np.linalg.qr(b.T)[0]
        a = q @ b  # the missing entries take A_k's values ...
        a.flat[rated] = known  # ... and the observed ones stay (a scatter of 5%, not a pass over 95%)
    return q @ b + means


def _real_or_synthetic() -> tuple[np.ndarray, str, bool]:
    """(the rating matrix, where it came from, whether it is synthetic)."""
    path = os.environ.get(MOVIELENS_ENV)
    if path:
        return load_movielens(path).ratings, f"MovieLens ({path})", False
    return synthetic_ratings(), f"synthetic: rank {RANK}, Gaussian factors + noise, rounded to 1-5", True


@demo("recommender", "A recommender: AutoRec on ratings with 95% missing", uses_dataset=False)
def recommender(ctx: Context) -> dict[str, Any]:
    ratings, source, synthetic = _real_or_synthetic()
    split = split_ratings(ratings)
    scale = split.scale
    n_users, n_items = ratings.shape
    global_mean, means = item_means(split.train)

    # the SVD's rank, chosen on the validation ratings
    ranks = [k for k in SVD_RANKS if k < min(ratings.shape)] or [1]
    svd = {k: svd_impute(split.train, k, SVD_ITERATIONS) for k in ranks}
    svd_val = {k: rmse(prediction, split.val, scale) for k, prediction in svd.items()}
    svd_rank = min(svd_val, key=svd_val.get)
    svd_prediction = svd[svd_rank]

    # AutoRec: one sample per item, its ratings by all users; items with no training rating are left
    # out of training (they add nothing to the masked loss, and a batch of them alone would be 0/0)
    items = np.ascontiguousarray(split.train.T)  # (items, users)
    rated = np.flatnonzero(np.any(items != 0, axis=1))
    epochs = ctx.epochs if ctx.epochs is not None else 40  # not epochs_for: that scales with ctx.data
    model = mlp_autoencoder([n_users, HIDDEN], loss="masked_mse", code_activation="sigmoid")
    optimizer = Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    curves: dict[str, list[float]] = {"train": [], "validation": []}
    best: dict[str, Any] = {"rmse": np.inf}

    def predict() -> np.ndarray:
        return apply_model(model, model.forward, items).T  # (users, items)

    train_users, train_items = np.nonzero(split.train)
    train_ratings = (train_users, train_items, split.train[train_users, train_items])

    def track(epoch: int, history: Any, model: Any) -> None:
        prediction = predict()
        curves["train"].append(rmse(prediction, train_ratings, scale))
        curves["validation"].append(rmse(prediction, split.val, scale))
        if curves["validation"][-1] < best["rmse"]:
            best.update(rmse=curves["validation"][-1], epoch=epoch, state=model.state_dict())

    fit(model, optimizer, items[rated], epochs=epochs, batch_size=BATCH, scheduler=CosineAnnealingLR(optimizer, epochs),
        callbacks=[track], progress=ctx.bar(f"AutoRec {n_users}-{HIDDEN}-{n_users}"))
    model.load_state_dict(best["state"])

    test = {"global mean": rmse(np.full(ratings.shape, global_mean), split.test, scale),
            "item mean": rmse(np.broadcast_to(means, ratings.shape), split.test, scale),
            f"SVD impute (k={svd_rank})": rmse(svd_prediction, split.test, scale),
            "AutoRec": rmse(predict(), split.test, scale)}
    winner = min(test, key=test.get)
    what = "synthetic ratings" if synthetic else "MovieLens ratings"
    missing = 1.0 - np.count_nonzero(ratings) / ratings.size
    ctx.save(plot.bar_chart(test, f"Held-out RMSE on {what} ({n_users} users x {n_items} items, "
                                  f"{100 * missing:.0f}% missing)", "test RMSE (lower is better)"),
             "recommender_rmse")
    levels = {f"SVD impute k={svd_rank}, validation": svd_val[svd_rank],
              "item mean, validation": rmse(np.broadcast_to(means, ratings.shape), split.val, scale)}
    ctx.save(plot.compare_curves({f"AutoRec {name}": values for name, values in curves.items()},
                                 f"AutoRec ({n_users}-{HIDDEN}-{n_users}, sigmoid) on {what}", "RMSE", levels=levels,
                                 mark=(best["epoch"] + 1, f"epoch kept (best validation, {best['epoch'] + 1})")),
             "recommender_training")
    return {
        "dataset": source, "synthetic": synthetic, "users": n_users, "items": n_items,
        "ratings": int(np.count_nonzero(ratings)), "missing_fraction": float(missing),
        "split": {"train": int(np.count_nonzero(split.train)), "val": len(split.val[2]), "test": len(split.test[2])},
        "rating_scale": list(scale),
        "test_rmse": {"global_mean": test["global mean"], "item_mean": test["item mean"],
                      "svd": test[f"SVD impute (k={svd_rank})"], "autorec": test["AutoRec"]},
        "winner": winner,
        "autorec_beats_item_mean": test["AutoRec"] < test["item mean"],
        "svd": {"method": "iterative SVD imputation (hard impute) of the item-centred matrix",
                "iterations": SVD_ITERATIONS, "rank": svd_rank,
                "val_rmse_by_rank": {str(k): v for k, v in svd_val.items()}},
        "autorec": {"hidden": HIDDEN, "activation": "sigmoid", "loss": "masked_mse", "optimizer": "Adam",
                    "lr": LR, "weight_decay": WEIGHT_DECAY, "batch_size": BATCH, "epochs": epochs,
                    "best_epoch": best["epoch"], "val_rmse": best["rmse"],
                    "train_items": len(rated), "backend": backend.backend_of(model.parameters()[0].data)},
    }

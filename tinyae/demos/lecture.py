"""The first nine lecture demos: the latent map, denoising, sparsity, anomalies, the VAE and its
conditional twin, the convolutional autoencoder, feature learning and stacked pretraining."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, plot
from ..layers import Dense, ReLU, Sigmoid
from ..models import (
    ConditionalVAE,
    DenoisingAutoencoder,
    SparseAutoencoder,
    conv_autoencoder,
    mlp_autoencoder,
    mlp_vae,
    stacked_autoencoder,
)
from ..module import Sequential
from ..train import pretrain_layerwise
from .core import PCA, Context, apply_model, demo, mean_image_mse, mse_per_image, psnr


# --------------------------------------------------------------------------- #
# 1. An undercomplete autoencoder with a 2-D code, against PCA
# --------------------------------------------------------------------------- #
@demo("latent", "Undercomplete autoencoder: a 2-D latent map, and PCA at the same size")
def latent_map(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    model = mlp_autoencoder([ctx.d, 128, 32, 2], loss="bce")
    history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(15), lr=2e-3,
                        label="784-128-32-2")
    x_test = data.flat("test")
    codes = apply_model(model, model.encode, x_test)
    recon = apply_model(model, model.forward, x_test)
    pca = PCA.fit(data.flat("train"), 2)
    pca_recon = pca.inverse_transform(pca.transform(x_test))
    ae_mse, pca_mse = float(np.mean((recon - x_test) ** 2)), float(np.mean((pca_recon - x_test) ** 2))
    shown = ctx.showcase()
    ctx.save(plot.latent_scatter(codes, data.y_test, f"2-D codes of the {len(x_test)} test images", data.class_names),
             "latent_map")
    ctx.save(plot.reconstruction_grid(x_test[shown], recon[shown], "Reconstructions through a 2-D code",
                                      image_shape=ctx.shape, col_labels=ctx.class_labels(shown)), "reconstructions")
    ctx.save(plot.pca_vs_autoencoder(x_test[shown], pca_recon[shown], recon[shown], 2, pca_mse, ae_mse,
                                     image_shape=ctx.shape, col_labels=ctx.class_labels(shown)), "pca_vs_autoencoder")
    ctx.save(plot.training_curves(history, "Training curves", "binary cross-entropy per pixel"), "training_curves")
    return {"code_dim": 2, "epochs": history.epochs, "ae_test_mse": ae_mse, "pca_test_mse": pca_mse,
            "mean_image_test_mse": mean_image_mse(ctx)}


# --------------------------------------------------------------------------- #
# 2. Denoising
# --------------------------------------------------------------------------- #
@demo("denoising", "Denoising autoencoders: gaussian and masking noise")
def denoising(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    x_test = data.flat("test")
    shown = ctx.showcase()
    metrics: dict[str, Any] = {}
    for noise, level in (("gaussian", 0.3), ("masking", 0.5)):
        parts = mlp_autoencoder([ctx.d, 128, 32], loss="bce")
        model = DenoisingAutoencoder(parts.encoder, parts.decoder, "bce", noise=noise, noise_level=level)
        history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(8),
                            label=f"{noise} noise {level}")
        backend.seed(1)  # the same corrupted test images every run
        noisy = backend.to_numpy(model.corrupt(backend.to_backend(x_test, backend.backend_of(
            model.parameters()[0].data), dtype=np.float32)))
        denoised = apply_model(model, model.reconstruct, noisy)
        metrics[noise] = {"noise_level": level, "epochs": history.epochs, "psnr_noisy_db": psnr(x_test, noisy),
                          "psnr_denoised_db": psnr(x_test, denoised)}
        title = (f"{noise} noise ({level}): PSNR {metrics[noise]['psnr_noisy_db']:.1f} dB noisy, "
                 f"{metrics[noise]['psnr_denoised_db']:.1f} dB denoised (whole test set)")
        ctx.save(plot.denoising_triplets(x_test[shown], noisy[shown], denoised[shown], title, image_shape=ctx.shape,
                                         col_labels=ctx.class_labels(shown)), f"denoising_{noise}")
    return metrics


# --------------------------------------------------------------------------- #
# 3. Sparse codes
# --------------------------------------------------------------------------- #
@demo("sparse", "Sparse autoencoders: L1 and KL(rho) penalties on a wide code")
def sparse(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    units, rho, shown_units = 100, 0.05, 32
    decoder = lambda: Sequential(Dense(units, ctx.d, init="xavier"), Sigmoid())  # noqa: E731
    models = {
        "l1": ("L1 (ReLU code)", SparseAutoencoder(Sequential(Dense(ctx.d, units), ReLU()), decoder(), "bce",
                                                   penalty="l1", weight=3e-4)),
        "kl": ("KL (sigmoid code)", SparseAutoencoder(Sequential(Dense(ctx.d, units, init="xavier"), Sigmoid()),
                                                      decoder(), "bce", penalty="kl", weight=0.1, target=rho)),
    }
    x_test = data.flat("test")
    codes, metrics = {}, {"units": units, "target_rho": rho}
    for key, (name, model) in models.items():
        history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(10), label=name)
        code = apply_model(model, model.encode, x_test)
        codes[name] = code
        recon = apply_model(model, model.forward, x_test)
        metrics[key] = {"epochs": history.epochs, "test_mse": float(np.mean((recon - x_test) ** 2)),
                        "mean_activation": float(code.mean()), "fraction_inactive": float(np.mean(code < 1e-2))}
        # What a unit writes into the image: its row of the decoder's weight (units, pixels), for
        # the units most often "on": above a tenth of the largest activation of the code on the test
        # set (for a sigmoid code most units sit a little above 0 all the time: 0.01 would pick those).
        on = code > 0.1 * code.max()
        active = np.mean(on, axis=0)
        order = np.argsort(-active)[:shown_units]
        weights = backend.to_numpy(model.decoder[0].weight.data)[order]
        silent = int(np.sum(active == 0))
        metrics[key]["units_never_on"] = silent
        title = (f"{name}: decoder weights of the {shown_units} units most often on, of {units} ({silent} never on)\n"
                 "(on: above 1/10 of the largest activation; corner: share of test images)")
        ctx.save(plot.unit_images(weights, ctx.shape, title, labels=[f"{100 * a:.0f}%" for a in active[order]]),
                 f"filters_{key}")
    ctx.save(plot.activation_histogram(codes, f"Code activations on the test set ({units} units)", target=rho),
             "activations")
    return metrics


# --------------------------------------------------------------------------- #
# 4. Anomaly detection
# --------------------------------------------------------------------------- #
@demo("anomaly", "Anomaly detection by reconstruction error")
def anomaly(ctx: Context) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    data = ctx.data
    normal_classes = list(range(5))  # train on classes 0-4; 5-9 are the anomalies
    normal = np.isin(data.y_train, normal_classes)
    model = mlp_autoencoder([ctx.d, 64, 8], loss="bce")
    history = ctx.train(model, data.flat("train")[normal], data.flat("val")[np.isin(data.y_val, normal_classes)],
                        ctx.epochs_for(10), label="784-64-8 on classes 0-4")
    score = lambda x: mse_per_image(apply_model(model, model.forward, x), x)  # noqa: E731
    threshold = float(np.quantile(score(data.flat("train")[normal]), 0.95))
    test_scores = score(data.flat("test"))
    is_anomaly = ~np.isin(data.y_test, normal_classes)
    auc = float(roc_auc_score(is_anomaly, test_scores))
    names = ", ".join(data.class_names[c] for c in normal_classes)
    ctx.save(plot.anomaly_histogram(test_scores[~is_anomaly], test_scores[is_anomaly], threshold, auc,
                                    f"Trained on {names}"), "anomaly_scores")
    return {"normal_classes": normal_classes, "epochs": history.epochs, "threshold": threshold, "roc_auc": auc,
            "detection_rate": float(np.mean(test_scores[is_anomaly] > threshold)),
            "false_alarm_rate": float(np.mean(test_scores[~is_anomaly] > threshold))}


# --------------------------------------------------------------------------- #
# 5. The VAE
# --------------------------------------------------------------------------- #
@demo("vae", "Variational autoencoder: samples, the 2-D manifold, interpolation, and beta")
def vae(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    x_test = data.flat("test")
    epochs = ctx.epochs_for(8)
    metrics: dict[str, Any] = {"latent_dim": 2, "beta": {}}
    samples_by_beta = []
    betas = (0.5, 1.0, 4.0)
    for beta in betas:
        backend.seed(0)
        model = mlp_vae([ctx.d, 128], 2, beta=beta)
        history = ctx.train(model, data.flat("train"), data.flat("val"), epochs, lr=2e-3, label=f"beta={beta:g}")
        metrics["beta"][str(beta)] = {"val_reconstruction": history["val_reconstruction"][-1],
                                      "val_kl": history["val_kl"][-1], "epochs": history.epochs}
        model.eval()
        backend.seed(0)  # the same prior draws for every beta
        samples_by_beta.append(backend.to_numpy(model.sample(10)))
        if beta == 1.0:
            main, main_history = model, history
    ctx.save(plot.image_rows(samples_by_beta, [f"beta = {b:g}" for b in betas],
                             "The same ten draws from the prior, decoded by VAEs trained with three betas",
                             ctx.shape), "beta_comparison")
    main.eval()
    backend.seed(0)
    ctx.save(plot.sample_grid(backend.to_numpy(main.sample(50)), "Samples from the prior, beta = 1",
                              image_shape=ctx.shape), "samples")
    decode = lambda z: backend.to_numpy(main.decode(backend.to_backend(z)))  # noqa: E731
    ctx.save(plot.manifold_grid(decode, 20, ctx.shape, "Decoded 2-D latent grid, beta = 1"), "manifold")
    mu = apply_model(main, main.encode, x_test)
    # Three pairs of test images of different classes (fixed seed); each row is labelled with the
    # true classes of its two images, which stand at the row's ends.
    rng = np.random.default_rng(0)
    present = set(np.unique(data.y_test).tolist())
    pairs = [(int(rng.choice(np.flatnonzero(data.y_test == a))), int(rng.choice(np.flatnonzero(data.y_test == b))))
             for a, b in ((0, 9), (1, 8), (5, 3)) if a in present and b in present]
    if not pairs:  # a test set without these classes: any two images of different classes
        first, last = sorted(present)[0], sorted(present)[-1]
        pairs = [(int(np.argmax(data.y_test == first)), int(np.argmax(data.y_test == last)))]
    steps = np.linspace(0, 1, 10, dtype=np.float32)[:, None]
    rows = [decode((1 - steps) * mu[a] + steps * mu[b]) for a, b in pairs]
    labels = [f"{data.class_names[data.y_test[a]]} -> {data.class_names[data.y_test[b]]}" for a, b in pairs]
    ctx.save(plot.interpolation_strip(rows, "Decoded along the straight line between two test images' codes",
                                      ctx.shape, labels, ends=(x_test[[a for a, _ in pairs]],
                                                               x_test[[b for _, b in pairs]])), "interpolation")
    ctx.save(plot.training_curves(main_history, "VAE loss terms, beta = 1", "nats per image"), "training_curves")
    recon = apply_model(main, main.reconstruct, x_test)
    metrics.update({"epochs": main_history.epochs, "test_mse": float(np.mean((recon - x_test) ** 2)),
                    "val_loss": main_history["val_loss"][-1], "val_kl": main_history["val_kl"][-1]})
    return metrics


# --------------------------------------------------------------------------- #
# 6. The conditional VAE
# --------------------------------------------------------------------------- #
@demo("cvae", "Conditional VAE: generate a chosen class")
def cvae(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    classes = len(data.class_names)
    latent = 2
    model = ConditionalVAE(Sequential(Dense(ctx.d + classes, 128), ReLU(), Dense(128, 2 * latent)),
                           Sequential(Dense(latent + classes, 128), ReLU(), Dense(128, ctx.d)), latent, classes)
    history = ctx.train(model, data.flat("train"), data.flat("val"), ctx.epochs_for(10), lr=2e-3,
                        label="conditional VAE", labels=data.y_train, val_labels=data.y_val)
    model.eval()
    backend.seed(0)
    rows = [backend.to_numpy(model.sample(10, labels=c)) for c in range(classes)]
    ctx.save(plot.sample_grid(np.concatenate(rows), "Ten samples of each class (one row per label)",
                              image_shape=ctx.shape, row_labels=data.class_names), "samples_by_class")
    return {"latent_dim": latent, "epochs": history.epochs, "val_loss": history["val_loss"][-1],
            "val_kl": history["val_kl"][-1]}


# --------------------------------------------------------------------------- #
# 7. The convolutional autoencoder
# --------------------------------------------------------------------------- #
@demo("conv", "Convolutional autoencoder: reconstructions and compression")
def conv(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    channels, code_dim = (8, 16), (16 if ctx.shape[-1] <= 16 else 32)
    model = conv_autoencoder(ctx.shape, channels, code_dim=code_dim)
    history = ctx.train(model, data.x_train, data.x_val, ctx.epochs_for(4),
                        label=f"channels {channels}, code {code_dim}")
    recon = apply_model(model, model.forward, data.x_test)
    mse = float(np.mean((recon - data.x_test) ** 2))
    ratio = ctx.d / code_dim
    shown = ctx.showcase()
    ctx.save(plot.reconstruction_grid(data.x_test[shown], recon[shown], f"Conv autoencoder: {ctx.d} pixels -> "
                                      f"{code_dim} numbers ({ratio:.1f}x), test MSE {mse:.4f}",
                                      col_labels=ctx.class_labels(shown)), "reconstructions")
    ctx.save(plot.training_curves(history, "Conv autoencoder training", "binary cross-entropy per pixel"),
             "training_curves")
    return {"channels": list(channels), "code_dim": code_dim, "compression_ratio": ratio, "epochs": history.epochs,
            "test_mse": mse, "mean_image_test_mse": mean_image_mse(ctx)}


# --------------------------------------------------------------------------- #
# 8. Features for a classifier
# --------------------------------------------------------------------------- #
@demo("features", "Feature learning: a classifier on codes, on pixels and on PCA")
def features(ctx: Context) -> dict[str, Any]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from tqdm.auto import tqdm

    data = ctx.data
    code_dim, seeds = 16, (0, 1, 2)
    labelled = min(5000, len(data.x_train) // 2)  # at most half: each seed draws its own
    x_train, x_test = data.flat("train"), data.flat("test")
    pca = PCA.fit(x_train, code_dim)
    names = ("raw pixels", f"PCA ({code_dim})", f"autoencoder ({code_dim})")
    accuracy: dict[str, list[float]] = {name: [] for name in names}
    epochs = ctx.epochs_for(6)
    for seed in seeds:
        # Each seed trains its own autoencoder (on all training images, no labels) and draws the
        # labelled images the classifiers learn from; the spread is over both.
        backend.seed(seed)
        model = mlp_autoencoder([ctx.d, 128, code_dim], loss="bce")
        ctx.train(model, x_train, data.flat("val"), epochs, label=f"autoencoder, seed {seed}")
        subset = np.random.default_rng(seed).choice(len(x_train), labelled, replace=False)
        inputs = {names[0]: (x_train[subset], x_test),
                  names[1]: (pca.transform(x_train[subset]), pca.transform(x_test)),
                  names[2]: tuple(apply_model(model, model.encode, x) for x in (x_train[subset], x_test))}
        for name, (train, test) in tqdm(inputs.items(), desc=f"features: classifiers, seed {seed}", leave=False,
                                        disable=not ctx.progress):
            mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6  # standardise: same footing for every input
            # 100 lbfgs steps: on raw pixels full convergence takes about 300 (3x the time) and moved
            # the test accuracy by 0.3 points here; PCA and autoencoder codes converge well before.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                classifier = LogisticRegression(max_iter=100).fit((train - mean) / std, data.y_train[subset])
            accuracy[name].append(float(classifier.score((test - mean) / std, data.y_test)))
    ctx.save(plot.accuracy_spread(accuracy, f"Logistic regression on {labelled} labelled images, test accuracy",
                                  note=f"{len(seeds)} seeds: each trains its autoencoder ({epochs} epochs, no labels) "
                                  f"and draws its {labelled} labelled training images"), "accuracy")

    def summary(runs: list[float]) -> dict[str, Any]:
        return {"mean": float(np.mean(runs)), "min": min(runs), "max": max(runs), "runs": runs}

    return {"code_dim": code_dim, "epochs": epochs, "labelled_images": labelled, "seeds": list(seeds),
            "accuracy_raw": summary(accuracy[names[0]]), "accuracy_pca": summary(accuracy[names[1]]),
            "accuracy_ae": summary(accuracy[names[2]])}


# --------------------------------------------------------------------------- #
# 9. Stacked autoencoders
# --------------------------------------------------------------------------- #
@demo("stacked", "Stacked autoencoder: greedy layer-wise pretraining vs training from scratch")
def stacked(ctx: Context) -> dict[str, Any]:
    data = ctx.data
    sizes = [ctx.d, 64, 32, 16]
    tune = ctx.epochs_for(4)
    per_layer = max(1, tune // 2)
    pretrain_epochs = per_layer * (len(sizes) - 1)  # one pass over the data per layer per epoch
    backend.seed(0)
    pretrained = stacked_autoencoder(sizes, loss="bce")
    pretrain_layerwise(pretrained, data.flat("train"), epochs=per_layer, lr=3e-3, progress=ctx.bar("pretraining"))
    start = pretrained.evaluate(backend.to_backend(data.flat("val"), dtype=np.float32))["reconstruction"]
    tuned = ctx.train(pretrained, data.flat("train"), data.flat("val"), tune,
                      label="fine-tuning")["val_reconstruction"]
    # From scratch gets as many epochs as pretraining and fine-tuning together: equal passes over the data.
    backend.seed(0)
    scratch = stacked_autoencoder(sizes, loss="bce")
    from_scratch = ctx.train(scratch, data.flat("train"), data.flat("val"), pretrain_epochs + tune,
                             label="from scratch")["val_reconstruction"]
    # The pretrained curve starts at the end of pretraining, with the untuned stack's loss.
    curves = {"from scratch": from_scratch, "pretrained, then fine-tuned": [start, *tuned]}
    ctx.save(plot.compare_curves(curves, f"Stacked autoencoder {'-'.join(map(str, sizes))}",
                                 "validation binary cross-entropy per pixel",
                                 "epochs (passes over the training set; a pretraining pass trains one layer pair)",
                                 starts={"pretrained, then fine-tuned": pretrain_epochs - 1},
                                 shade=(0.5, pretrain_epochs + 0.5, f"layer-wise pretraining ({per_layer} "
                                        f"epoch{'s' if per_layer > 1 else ''} per layer)")), "pretraining")
    return {"sizes": sizes, "pretrain_epochs_per_layer": per_layer, "fine_tune_epochs": tune,
            "scratch_epochs": pretrain_epochs + tune, "val_after_pretraining_only": start,
            "val_scratch_final": from_scratch[-1], "val_pretrained_first_epoch": tuned[0],
            "val_pretrained_final": tuned[-1]}



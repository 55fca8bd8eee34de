"""fit(): every model really learns on real data; early stopping, the NaN guard, schedules, callbacks."""

from __future__ import annotations

import numpy as np
import pytest

import tinyae as ae
from tinyae.data import load_digits


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits in [0, 1], flat, with tinyae's train / validation split."""
    data = load_digits()
    return data.flat("train"), data.flat("val"), data.y_train, data.y_val


def _mean_image_mse(x_train, x_val):
    return float(np.mean((x_val - x_train.mean(axis=0)) ** 2))


LEARNERS = {
    "autoencoder": (lambda: ae.mlp_autoencoder([64, 32, 8], loss="mse"), 8, 3e-3),
    "denoising": (lambda: ae.DenoisingAutoencoder(*_parts([64, 32, 8]), noise="gaussian", noise_level=0.2), 8, 3e-3),
    "sparse": (lambda: ae.SparseAutoencoder(*_parts([64, 32, 16]), penalty="l1", weight=1e-3), 8, 3e-3),
    "contractive": (lambda: ae.ContractiveAutoencoder(ae.Sequential(ae.Dense(64, 16, init="xavier"), ae.Sigmoid()),
                                                      ae.Sequential(ae.Dense(16, 64)), weight=0.01), 15, 1e-2),
    "conv": (lambda: ae.conv_autoencoder((1, 8, 8), channels=(8, 16), loss="mse"), 6, 3e-3),
}


def _parts(sizes):
    model = ae.mlp_autoencoder(sizes, loss="mse")
    return model.encoder, model.decoder


@pytest.mark.parametrize("name", LEARNERS)
def test_deterministic_autoencoders_learn_digits(digits, name):
    """Validation reconstruction falls well below its first epoch and below the mean-image baseline."""
    x_train, x_val, _, _ = digits
    make, epochs, lr = LEARNERS[name]
    if name == "conv":
        x_train, x_val = x_train.reshape(-1, 1, 8, 8), x_val.reshape(-1, 1, 8, 8)
    ae.seed(0)
    model = make()
    history = ae.fit(model, ae.Adam(model.parameters(), lr=lr), x_train, x_val, epochs=epochs, batch_size=32,
                     progress=False)
    val = history["val_reconstruction"]
    baseline = _mean_image_mse(x_train, x_val)
    assert val[-1] < 0.7 * val[0] and val[-1] < 0.6 * baseline, (val, baseline)


def test_vae_learns_digits(digits):
    x_train, x_val, _, _ = digits
    ae.seed(0)
    model = ae.mlp_vae([64, 64], 4)
    untrained = model.evaluate(x_val)["loss"]
    history = ae.fit(model, ae.Adam(model.parameters(), lr=3e-3), x_train, x_val, epochs=15, batch_size=32,
                     progress=False)
    # against the untrained model (the first epoch already learns most of it)
    assert history["val_loss"][-1] < 0.7 * untrained, (history["val_loss"], untrained)
    assert all(kl > 0 for kl in history["kl"])
    recon = ae.to_numpy(model.reconstruct(x_val))
    # compare like with like: the VAE's summed-over-pixels error against the mean image's
    assert np.mean((recon - x_val) ** 2) < 0.7 * _mean_image_mse(x_train, x_val)
    samples = ae.to_numpy(model.sample(20))
    assert samples.min() >= 0 and samples.max() <= 1


def test_conditional_vae_learns_and_uses_labels(digits):
    x_train, x_val, y_train, y_val = digits
    ae.seed(0)
    model = ae.ConditionalVAE(ae.Sequential(ae.Dense(64 + 10, 64), ae.ReLU(), ae.Dense(64, 8)),
                              ae.Sequential(ae.Dense(4 + 10, 64), ae.ReLU(), ae.Dense(64, 64)), 4, 10)
    history = ae.fit(model, ae.Adam(model.parameters(), lr=3e-3), x_train, x_val, labels=y_train,
                     val_labels=y_val, epochs=15, batch_size=32, progress=False)
    assert history["val_loss"][-1] < 0.85 * history["val_loss"][0]
    # samples of class c resemble the mean image of class c more than that of any other class
    means = np.stack([x_train[y_train == c].mean(axis=0) for c in range(10)])
    hits = 0
    for c in range(10):
        sample_mean = ae.to_numpy(model.sample(50, labels=c)).mean(axis=0)
        hits += int(np.argmin(np.sum((means - sample_mean) ** 2, axis=1)) == c)
    assert hits >= 8, hits


def test_stacked_pretraining_then_fine_tuning(digits):
    x_train, x_val, _, _ = digits
    ae.seed(0)
    model = ae.stacked_autoencoder([64, 32, 16], loss="mse", activation="sigmoid")
    histories = ae.pretrain_layerwise(model, x_train, epochs=3, lr=1e-2, progress=False)
    assert len(histories) == 2 and all(h["loss"][-1] < h["loss"][0] for h in histories)
    pretrained = model.evaluate(x_val)["reconstruction"]
    history = ae.fit(model, ae.Adam(model.parameters(), lr=3e-3), x_train, x_val, epochs=5, progress=False)
    assert history["val_reconstruction"][-1] < pretrained < _mean_image_mse(x_train, x_val)


def test_pretraining_refuses_models_it_cannot_split():
    with pytest.raises(ValueError, match="every encoder and decoder entry must be a block"):
        ae.pretrain_layerwise(ae.mlp_autoencoder([8, 4, 2], loss="mse"), np.zeros((4, 8)), epochs=1)
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd', got 'adamw'"):
        ae.pretrain_layerwise(ae.stacked_autoencoder([8, 4]), np.zeros((4, 8)), epochs=1, optimizer="adamw")


def test_same_seed_same_history(digits):
    x_train, x_val, _, _ = digits
    runs = []
    for _ in range(2):
        ae.seed(3)
        model = ae.DenoisingAutoencoder(*_parts([64, 16]), noise="masking")
        runs.append(ae.fit(model, ae.Adam(model.parameters()), x_train[:300], x_val, epochs=2, progress=False))
    assert runs[0]["loss"] == runs[1]["loss"] and runs[0]["val_loss"] == runs[1]["val_loss"]


def test_early_stopping_restores_the_best_weights(digits):
    x_train, x_val, _, _ = digits
    ae.seed(0)
    model = ae.mlp_autoencoder([64, 16], loss="mse")
    snapshots = []

    def remember_then_sabotage(epoch, history, m):
        snapshots.append(m.state_dict())
        if epoch == 3:  # wreck the weights: the next epochs start far worse than epoch 3 ended
            for p in m.parameters():
                p.data = p.data + np.float32(3.0) * np.random.default_rng(epoch).standard_normal(p.shape, np.float32)

    history = ae.fit(model, ae.Adam(model.parameters(), lr=1e-3), x_train, x_val, epochs=30,
                     early_stopping=2, callbacks=[remember_then_sabotage], progress=False)
    assert history.stopped_early and history.epochs == 6  # epochs 4 and 5 fail to beat epoch 3
    assert history.best_epoch == 3 and history["val_loss"][3] == min(history["val_loss"])
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[3][name])


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_guard_fires_and_keeps_the_last_good_weights_and_optimizer(digits):
    x_train, _, _, _ = digits
    ae.seed(0)
    model = ae.mlp_autoencoder([64, 32, 8], loss="mse")
    opt = ae.Adam(model.parameters(), lr=1e-3)
    ae.fit(model, opt, x_train, epochs=1, progress=False)  # one good epoch: moments and step count exist
    before, t_before = model.state_dict(), opt.t
    moments_before = [ae.to_numpy(state["m"]).copy() for state in opt.state]
    opt.lr = 1e6
    message = r"diverged in epoch 0.*Lower the learning rate \(now 1e\+06\)"
    with pytest.raises(ae.TrainingDiverged, match=message) as info:
        ae.fit(model, opt, x_train, epochs=3, progress=False)
    assert info.value.history.epochs == 0
    for name, value in model.state_dict().items():
        assert np.all(np.isfinite(value))
        np.testing.assert_array_equal(value, before[name])
    assert opt.t == t_before  # the diverging steps are undone in the optimizer too
    for saved, state in zip(moments_before, opt.state):
        np.testing.assert_array_equal(ae.to_numpy(state["m"]), saved)
    opt.lr = 1e-3  # training goes on from the restored state
    history = ae.fit(model, opt, x_train, epochs=1, progress=False)
    assert np.isfinite(history["loss"][-1])
    assert not all(np.array_equal(a, ae.to_numpy(s["m"])) for a, s in zip(moments_before, opt.state))


def test_schedulers_callbacks_and_history_keys(digits):
    x_train, x_val, _, _ = digits
    model = ae.mlp_autoencoder([64, 8], loss="mse")
    opt = ae.Adam(model.parameters(), lr=1e-2)
    seen = []
    history = ae.fit(model, opt, x_train[:200], x_val, epochs=4, scheduler=ae.StepLR(opt, 2, 0.5),
                     callbacks=[lambda epoch, h, m: seen.append((epoch, h.epochs))], progress=False)
    assert history["lr"] == [1e-2, 1e-2, 5e-3, 5e-3]  # the lr each epoch trained with; halved every 2 epochs
    assert seen == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert {"loss", "reconstruction", "val_loss", "val_reconstruction", "lr", "time"} <= set(history)
    plateau = ae.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=10.0)  # nothing counts as better
    ae.fit(model, opt, x_train[:200], epochs=3, scheduler=plateau, progress=False)  # steps with the train loss
    assert opt.lr == pytest.approx(2.5e-3 * 0.25)  # epochs 2 and 3 did not improve by 10x: halved twice
    assert plateau.best < float("inf")  # it was stepped with the training loss (there is no x_val)


def test_fit_trains_on_the_strict_backend(digits):
    x_train, _, _, _ = digits
    with ae.use_backend("strict"):
        ae.seed(0)
        model = ae.mlp_autoencoder([64, 16], loss="bce")
        history = ae.fit(model, ae.Adam(model.parameters(), lr=1e-2), x_train[:400], epochs=3, progress=False)
    assert history["loss"][-1] < history["loss"][0]


def test_fit_errors():
    model = ae.mlp_autoencoder([4, 2])
    opt = ae.Adam(model.parameters())
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        ae.fit(model, opt, np.zeros((3, 4)), epochs=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got -1"):
        ae.fit(model, opt, np.zeros((3, 4)), epochs=1, batch_size=-1)
    with pytest.raises(ValueError, match="labels must have one entry per sample"):
        ae.fit(model, opt, np.zeros((3, 4)), labels=np.zeros(2), epochs=1, progress=False)
    with pytest.raises(ValueError, match="at least one sample"):
        ae.fit(model, opt, np.zeros((0, 4)), epochs=1)
    with pytest.raises(ValueError, match="labels for both training and validation"):
        ae.fit(model, opt, np.zeros((3, 4)), np.zeros((2, 4)), labels=np.zeros(3), epochs=1, progress=False)


def test_fit_with_targets_learns_a_map_to_a_different_output():
    """Inputs of 4 features, targets of 6 (a fixed linear map of them): the model is trained on
    target=, not on its input (it could not reconstruct 4 features with 6 outputs), and validation
    uses val_targets."""
    ae.seed(0)
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(4, 6)).astype(np.float32)
    x = rng.normal(size=(512, 4)).astype(np.float32)
    model = ae.Autoencoder(ae.Sequential(ae.Dense(4, 16)), ae.Sequential(ae.Dense(16, 6)), "mse")
    history = ae.fit(model, ae.Adam(model.parameters(), lr=1e-2), x[:448], x[448:], targets=x[:448] @ mix,
                     val_targets=x[448:] @ mix, epochs=5, progress=False)
    assert set(history) >= {"loss", "val_loss"} and history.epochs == 5
    baseline = float(np.mean((x[448:] @ mix) ** 2))  # predicting zeros
    assert history["val_loss"][-1] < 0.05 * baseline  # 20x below predicting zeros
    pred = ae.map_batches(model.forward, x[448:], like=model)
    assert float(np.mean((pred - x[448:] @ mix) ** 2)) == pytest.approx(history["val_loss"][-1], rel=1e-4)


def test_fit_checks_targets_and_their_range():
    model = ae.mlp_autoencoder([4, 2], loss="bce")
    opt = ae.Adam(model.parameters())
    x = np.full((3, 4), 5.0, dtype=np.float32)  # inputs outside [0, 1] are fine when the targets are in it
    history = ae.fit(model, opt, x, targets=np.full((3, 4), 0.5, dtype=np.float32), epochs=1, progress=False)
    assert history.epochs == 1
    with pytest.raises(ValueError, match=r"needs targets in \[0, 1\].*targets holds values in \[2, 2\]"):
        ae.fit(model, opt, x, targets=np.full((3, 4), 2.0, dtype=np.float32), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"targets must have one entry per sample, got \(2, 4\)"):
        ae.fit(model, opt, x, targets=np.zeros((2, 4), dtype=np.float32), epochs=1, progress=False)
    with pytest.raises(ValueError, match="give targets for both training and validation"):
        ae.fit(model, opt, x, x, targets=np.zeros((3, 4), dtype=np.float32), epochs=1, progress=False)
    with pytest.raises(ValueError, match="val_targets given without x_val"):
        ae.fit(model, opt, x, targets=np.zeros((3, 4), np.float32), val_targets=np.zeros((3, 4), np.float32),
               epochs=1, progress=False)
    with pytest.raises(TypeError, match="targets must hold real floating-point numbers, got dtype uint8"):
        ae.fit(model, opt, x, targets=np.zeros((3, 4), dtype=np.uint8), epochs=1, progress=False)


def test_the_progress_bar_is_named_and_moves_with_every_batch(capsys):
    """progress="vae beta=4" names the bar; it counts batches (not epochs), so a long epoch moves."""
    ae.seed(0)
    x = np.random.default_rng(0).random((96, 6)).astype(np.float32)
    model = ae.mlp_autoencoder([6, 3], loss="bce")
    ae.fit(model, ae.Adam(model.parameters()), x, x[:64], epochs=2, batch_size=32, progress="vae beta=4")
    err = capsys.readouterr().err
    assert "vae beta=4" in err and "6/6" in err and "batch" in err and "epoch=2/2" in err  # training batches only
    assert "/8" not in err
    ae.fit(model, ae.Adam(model.parameters()), x, epochs=1, batch_size=32, progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- #
# Nothing lost, nothing silent: the NaN guard's snapshot, bad data, bad arguments
# --------------------------------------------------------------------------- #
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_the_nan_guard_catches_a_break_in_an_epochs_last_step():
    """Full-batch training: every step is its epoch's last, whose update no loss of that epoch sees.
    The guard once snapshotted those broken weights at the next epoch and 'restored' them."""
    x = np.random.default_rng(0).random((256, 16)).astype(np.float32)
    ae.seed(0)
    model = ae.mlp_autoencoder([16, 8, 2], loss="mse")
    start = model.state_dict()
    with pytest.raises(ae.TrainingDiverged, match=r"epoch 0 \(the epoch's last step left weights whose loss"):
        ae.fit(model, ae.SGD(model.parameters(), 1e6), x, epochs=3, batch_size=256, progress=False)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, start[name])
    assert np.isfinite(model.evaluate(x)["loss"])  # the restored model works


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_the_nan_guard_with_validation_data_judges_the_epochs_last_weights():
    x = np.random.default_rng(0).random((64, 16)).astype(np.float32)
    ae.seed(0)
    model = ae.mlp_autoencoder([16, 8, 2], loss="mse")
    start = model.state_dict()
    with pytest.raises(ae.TrainingDiverged, match="epoch 0"):
        ae.fit(model, ae.SGD(model.parameters(), 1e6), x, x[:8], epochs=2, batch_size=64, progress=False)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, start[name])


@pytest.mark.parametrize(
    "data, error, message",
    [
        (np.full((8, 4), 200, dtype=np.uint8), TypeError,
         r"x_train must hold real floating-point numbers, got dtype uint8.*x.astype\(np.float32\) / 255"),
        (np.ones((8, 4), dtype=np.complex64), TypeError, "got dtype complex64"),
        (np.ones((8, 4), dtype=np.int64), TypeError, "got dtype int64"),
        (np.full((8, 4), 255.0, dtype=np.float32), ValueError,
         r"needs targets in \[0, 1\] \(binary cross-entropy\), but x_train holds values in \[255, 255\]"),
        (np.where(np.eye(8, 4) > 0, np.nan, 0.5).astype(np.float32), ValueError, r"x_train has 4 NaN/inf entries"),
    ],
)
def test_fit_refuses_data_it_would_cast_or_misread(data, error, message):
    model = ae.mlp_autoencoder([4, 2], loss="bce")
    before = model.state_dict()
    with pytest.raises(error, match=message):
        ae.fit(model, ae.Adam(model.parameters()), data, epochs=1, progress=False)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_fit_checks_validation_data_too():
    model = ae.mlp_autoencoder([4, 2], loss="bce")
    x = np.full((8, 4), 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match=r"x_val holds values in \[-1, -1\]"):
        ae.fit(model, ae.Adam(model.parameters()), x, -np.ones((4, 4), np.float32), epochs=1, progress=False)


def test_an_mse_model_trains_on_any_real_range():
    model = ae.mlp_autoencoder([4, 2], loss="mse")
    x = np.random.default_rng(0).normal(0, 10, (16, 4)).astype(np.float32)
    assert ae.fit(model, ae.Adam(model.parameters()), x, epochs=1, progress=False).epochs == 1


@pytest.mark.parametrize(
    "kw, error, message",
    [
        ({"batch_size": 32.0}, TypeError, r"batch_size must be an integer, got 32.0 \(float\)"),
        ({"epochs": 2.5}, TypeError, r"epochs must be an integer, got 2.5 \(float\)"),
        ({"epochs": None}, TypeError, r"epochs must be an integer, got None"),
        ({"epochs": True}, TypeError, r"epochs must be an integer, got True \(bool\)"),
        ({"early_stopping": 0}, ValueError, r"early_stopping .* must be >= 1, got 0"),
        ({"early_stopping": 1.5}, TypeError, r"early_stopping .* must be an integer"),
    ],
)
def test_fit_refuses_arguments_of_the_wrong_kind(kw, error, message):
    model = ae.mlp_autoencoder([4, 2], loss="mse")
    with pytest.raises(error, match=message):
        ae.fit(model, ae.Adam(model.parameters()), np.zeros((4, 4), np.float32), **{"epochs": 1, **kw},
               progress=False)


def test_fit_says_what_model_it_needs():
    layers = ae.Sequential(ae.Dense(4, 2), ae.ReLU(), ae.Dense(2, 4))
    with pytest.raises(TypeError, match=r"expected a model with forward_backward\(x\).*got a Sequential"):
        ae.fit(layers, ae.Adam(layers.parameters()), np.zeros((4, 4), np.float32), epochs=1, progress=False)


def test_map_batches_refuses_an_empty_input():
    model = ae.mlp_autoencoder([4, 2])
    with pytest.raises(ValueError, match=r"map_batches: expected an array with at least one sample, got shape \(0, 4"):
        ae.map_batches(model.encode, np.zeros((0, 4), np.float32), like=model)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        ae.map_batches(model.encode, np.zeros((2, 4), np.float32), batch_size=2.0, like=model)


def test_fit_runs_a_subclass_s_own_forward_backward():
    """The device path (objective_terms) is tinyae's own objective; an override is what the user means."""
    calls = []

    class Logged(ae.Autoencoder):
        def forward_backward(self, x, target=None, **kw):
            calls.append(x.shape[0])
            return super().forward_backward(x, target, **kw)

    ae.seed(0)
    base = ae.mlp_autoencoder([4, 2], loss="mse")
    model = Logged(base.encoder, base.decoder, loss="mse")
    ae.fit(model, ae.Adam(model.parameters()), np.zeros((16, 4), np.float32), epochs=1, batch_size=4, progress=False)
    assert calls == [4, 4, 4, 4]


def test_fit_trains_a_model_that_has_only_forward_backward():
    """DESIGN asks a model for forward_backward only: without evaluate there is no last-batch check
    (the weights and moments are still checked) and no validation."""

    class OnlyForwardBackward(ae.Module):
        def __init__(self):
            super().__init__()
            self.net = ae.Sequential(ae.Dense(4, 4))
            self.loss = ae.MSELoss()

        def forward_backward(self, x):
            value = self.loss(self.net(x), x)
            self.net.backward(self.loss.backward())
            return {"loss": value}

    ae.seed(0)
    model = OnlyForwardBackward()
    x = np.random.default_rng(0).random((32, 4)).astype(np.float32)
    history = ae.fit(model, ae.Adam(model.parameters(), lr=1e-2), x, epochs=3, batch_size=8, progress=False)
    assert history["loss"][-1] < history["loss"][0]
    with pytest.raises(TypeError, match=r"expected a model with forward_backward\(x\) and evaluate\(x\)"):
        ae.fit(model, ae.Adam(model.parameters()), x, x, epochs=1, progress=False)

"""The lecture demos through the CLI (tiny epoch budgets), and the plot functions on small arrays."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image  # matplotlib depends on pillow

from tinyae import History, cli, demos, plot
from tinyae.data import load as load_dataset

EXPECTED = {
    "latent": (["latent_map.png", "reconstructions.png", "pca_vs_autoencoder.png", "training_curves.png"],
               ["ae_test_mse", "pca_test_mse", "mean_image_test_mse"]),
    "denoising": (["denoising_gaussian.png", "denoising_masking.png"], ["gaussian", "masking"]),
    "sparse": (["activations.png", "filters_l1.png", "filters_kl.png"], ["l1", "kl", "target_rho"]),
    "anomaly": (["anomaly_scores.png"], ["roc_auc", "threshold", "detection_rate", "false_alarm_rate"]),
    "vae": (["samples.png", "manifold.png", "interpolation.png", "training_curves.png", "beta_comparison.png"],
            ["beta", "val_kl", "test_mse"]),
    "cvae": (["samples_by_class.png"], ["val_loss", "val_kl"]),
    "conv": (["reconstructions.png", "training_curves.png"], ["compression_ratio", "test_mse"]),
    "features": (["accuracy.png"], ["accuracy_raw", "accuracy_pca", "accuracy_ae", "seeds"]),
    "stacked": (["pretraining.png"], ["val_scratch_final", "val_pretrained_final"]),
    "superres": (["superres_rows.png"], ["psnr_nearest_db", "psnr_bilinear_db", "psnr_model_db"]),
    "compression": (["rate_distortion.png", "compression_examples.png"], ["autoencoder", "pca", "jpeg", "summary"]),
    "finetune": (["finetune_accuracy.png"], ["accuracy", "pretraining_gain", "labels_per_class", "head_epochs"]),
    "tabular": (["tabular_roc.png"], ["roc_auc", "split"]),
    "recommender": (["recommender_rmse.png", "recommender_training.png"], ["test_rmse", "missing_fraction"]),
    "animation": (["latent_animation.gif", "manifold_animation.gif", "latent_final.png", "manifold_final.png"],
                  ["frames", "ae_val_loss", "vae_val_loss"]),
}


def _all_finite(value):
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Every demo once, through the command line, on the 8x8 digits with a 2-epoch budget."""
    out = tmp_path_factory.mktemp("figures")
    code = cli.main(["demo", "all", "--dataset", "digits", "--out", str(out), "--epochs", "2", "--no-progress"])
    return code, out


def test_demo_all_exits_zero(demo_run):
    assert demo_run[0] == 0


@pytest.mark.parametrize("name", EXPECTED)
def test_demo_writes_its_figures_and_metrics(demo_run, name):
    _, out = demo_run
    figures, keys = EXPECTED[name]
    for figure in figures:
        path = out / name / figure
        assert path.exists(), f"{name} did not write {figure}"
        with Image.open(path) as image:
            image.verify()  # a valid PNG (or GIF)
        with Image.open(path) as image:
            assert image.format == Path(figure).suffix[1:].upper() and min(image.size) >= 150, (figure, image.size)
    written = {path.name for path in (out / name).iterdir()}
    assert written == {*figures, "metrics.json"}, f"{name} wrote {written}"  # no figure the READMEs do not list
    metrics = json.loads((out / name / "metrics.json").read_text())
    if demos.DEMOS[name].uses_dataset:
        assert metrics["dataset"] == "digits" and metrics["image_shape"] == [1, 8, 8]
    else:  # data of its own: the run's dataset is not claimed, its own is named
        assert "image_shape" not in metrics and "train_images" not in metrics and metrics["dataset"] != "digits"
    assert metrics["demo"] == name
    assert set(keys) <= set(metrics) and _all_finite(metrics), metrics


def test_every_demo_is_tested():
    assert set(EXPECTED) == set(demos.DEMOS)


def test_latent_demo_beats_the_mean_image(tmp_path):
    """With its real budget (a few seconds on the digits) the 2-D autoencoder beats the mean image, and PCA.
    The result returns the figures it wrote, and the metrics of metrics.json."""
    result = demos.run_all(["latent"], "digits", out=tmp_path, progress=False)["latent"]
    metrics = json.loads((tmp_path / "latent" / "metrics.json").read_text())
    assert metrics == result.metrics
    assert metrics["ae_test_mse"] < 0.7 * metrics["mean_image_test_mse"]
    assert metrics["ae_test_mse"] < metrics["pca_test_mse"]
    assert [path.stem for path in result.files] == list(result.figures)
    assert {path.name for path in result.files} == set(EXPECTED["latent"][0])


def test_a_demo_without_a_folder_returns_its_figures_and_writes_nothing(tmp_path, monkeypatch):
    """The notebook way: run(name, dataset name) keeps the figures, writes no file, and leaves nothing
    in pyplot's list of open figures (a notebook would show each figure twice)."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    def probe(ctx):
        ctx.save(plot.compare_curves({"a": [1, 2]}, "t", "y"), "curve")
        ctx.save(History.plot(_history()), "training_curves")
        return {"answer": 42}

    monkeypatch.setitem(demos.DEMOS, "probe", demos.Demo("probe", "a probe", probe))
    monkeypatch.chdir(tmp_path)
    before = plt.get_fignums()
    result = demos.run("probe", "digits", progress=False)
    assert list(result.figures) == ["curve", "training_curves"] and result.files == []
    assert all(isinstance(fig, Figure) for fig in result.figures.values())
    assert result.metrics["answer"] == 42 and result.metrics["dataset"] == "digits"
    assert list(tmp_path.iterdir()) == [] and plt.get_fignums() == before
    result.figures["curve"].savefig(tmp_path / "shown.png")  # still drawable after the run
    assert (tmp_path / "shown.png").stat().st_size > 1000


def test_demos_in_two_processes_give_what_one_after_the_other_gives(tmp_path, capsys):
    """jobs=2 runs each demo in a worker process: the same metrics (each demo seeds itself), the
    same files, every demo's lines printed; a demo registered at run time runs here instead."""
    names = ["superres", "tabular"]
    one = demos.run_all(names, "digits", tmp_path / "one", epochs=1, progress=False, jobs=1)
    two = demos.run_all(names, "digits", tmp_path / "two", epochs=1, progress=False, jobs=2)
    assert list(two) == names
    for name in names:
        drop = lambda m: {k: v for k, v in m.items() if k != "seconds"}  # noqa: E731
        assert drop(two[name].metrics) == drop(one[name].metrics), name
        assert [p.name for p in two[name].files] == [p.name for p in one[name].files] and two[name].figures == {}
        assert all(p.exists() and p.parent == tmp_path / "two" / name for p in two[name].files)
        assert json.loads((tmp_path / "two" / name / "metrics.json").read_text())["demo"] == name
    printed = capsys.readouterr().out
    assert all(f"[{name}] 1 figures and metrics.json in {tmp_path / 'two' / name}/" in printed for name in names)

    def probe(ctx):
        ctx.save(plot.compare_curves({"a": [1, 2]}, "t", "y"), "curve")
        return {"pid": os.getpid()}

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setitem(demos.DEMOS, "probe", demos.Demo("probe", "a probe", probe))
        here = demos.run_all(["probe", "tabular"], "digits", tmp_path / "three", epochs=1, progress=False, jobs=2)
    assert here["probe"].metrics["pid"] == os.getpid() and list(here["probe"].figures) == ["curve"]
    with pytest.raises(ValueError, match="jobs must be >= 1, got 0"):
        demos.run_all(names, "digits", tmp_path, jobs=0)


def test_two_at_a_time_a_missing_dataset_is_the_usual_one_line_error(tmp_path, capsys, monkeypatch):
    """The dataset is loaded here before any worker starts: a missing one is DatasetUnavailable
    (the command's exit 2 and one line), not a broken worker pool."""
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli.main(["demo", "latent", "vae", "--dataset", "mnist", "--jobs", "2", "--out", str(tmp_path / "o"),
                     "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinyae demo: ") and "Traceback" not in err and "BrokenProcessPool" not in err


def test_write_gif_refuses_no_frames_and_no_speed(tmp_path):
    quantiles, _ = plot.manifold_codes(2)
    make = lambda: plot.manifold_frames([np.zeros((2, 2, 3, 3))], quantiles, ["t"])  # noqa: E731
    with pytest.raises(ValueError, match="frame count >= 1, got 0"):
        plot.write_gif(*make(), 0, tmp_path / "a.gif")
    with pytest.raises(ValueError, match="frames per second > 0, got 0"):
        plot.write_gif(*make(), 1, tmp_path / "a.gif", fps=0)


def _history():
    history = History()
    for loss in (3.0, 2.0, 1.5):
        history.append({"loss": loss, "val_loss": loss + 0.2, "kl": loss / 3, "val_kl": loss / 3})
    return history


def test_history_plot_draws_every_term():
    fig = _history().plot(title="VAE")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "kl"] and fig.get_suptitle() == "VAE"
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[3.0, 2.0, 1.5], [3.2, 2.2, 1.7]]
    with pytest.raises(ValueError, match="nothing to plot yet"):
        History().plot()


def test_the_default_dataset_is_28x28_and_figures_come_in_the_format_asked(tmp_path, capsys):
    """The default run (the embedded Fashion-MNIST subset), one epoch, as SVG: the metrics name the
    dataset and the image shape, the start of the demo is announced before it trains."""
    assert cli.main(["demo", "anomaly", "--out", str(tmp_path), "--epochs", "1", "--no-progress", "--format",
                     "svg"]) == 0
    out = capsys.readouterr().out
    assert out.index("[anomaly] Anomaly detection") < out.index("anomaly_scores.svg")
    metrics = json.loads((tmp_path / "anomaly" / "metrics.json").read_text())
    assert metrics["dataset"] == "fashion-mnist-small" and metrics["image_shape"] == [1, 28, 28]
    assert metrics["train_images"] == 11000 and 0.5 < metrics["roc_auc"] <= 1
    svg = (tmp_path / "anomaly" / "anomaly_scores.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert not (tmp_path / "anomaly" / "anomaly_scores.png").exists()


def test_pdf_and_dpi(tmp_path):
    demos.run_all(["stacked"], "digits", out=tmp_path / "pdf", epochs=1, progress=False, fmt="pdf")
    assert (tmp_path / "pdf" / "stacked" / "pretraining.pdf").read_bytes().startswith(b"%PDF")
    sizes = {}
    for dpi in (60, 120):
        fig = plot.compare_curves({"a": [1, 2]}, "t", "y")
        with Image.open(plot.save(fig, tmp_path / f"f{dpi}.png", dpi=dpi)) as image:
            sizes[dpi] = image.size
    assert 1.8 < sizes[120][0] / sizes[60][0] < 2.2


def test_shown_images_cover_every_class():
    """Every figure of test images shows one of each class (a fixed draw), not the first ten."""
    data = load_dataset("fashion-mnist-small")
    ctx = demos.Context(data, "unused", name="latent")
    shown = ctx.showcase()
    assert data.y_test[shown].tolist() == list(range(10))  # every class, in class order
    np.testing.assert_array_equal(shown, ctx.showcase())
    assert ctx.class_labels(shown)[0] == "T-shirt/top"
    digits = demos.Context(load_dataset("digits"), "unused")
    assert sorted(digits.data.y_test[digits.showcase()].tolist()) == list(range(10))


def test_demo_script_and_module_entry_points(tmp_path):
    """`python demos/NAME.py` and `python -m tinyae` are the same command."""
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, str(root / "demos" / "cvae.py"), "--dataset", "digits", "--out",
                             str(tmp_path), "--epochs", "1", "--no-progress"], capture_output=True, text=True,
                             timeout=120)
    assert result.returncode == 0, result.stderr
    assert "samples_by_class.png" in result.stdout and (tmp_path / "cvae" / "samples_by_class.png").exists()
    listing = subprocess.run([sys.executable, "-m", "tinyae", "demo", "--list"], capture_output=True, text=True,
                             timeout=60)
    assert listing.returncode == 0 and "stacked" in listing.stdout


def test_cli_errors_are_clear(tmp_path, capsys, monkeypatch):
    assert cli.main(["demo", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown demo 'nope'" in capsys.readouterr().err
    monkeypatch.setenv("TINYAE_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cli.main(["demo", "latent", "--dataset", "mnist", "--out", str(tmp_path)]) == 2
    assert "mnist files not found" in capsys.readouterr().err
    assert cli.main(["demo"]) == 2
    for option, value, message in (("--epochs", "-1", "expected a number >= 1, got -1"),
                                   ("--dpi", "5", "expected a resolution from 20 to 1200, got 5"),
                                   ("--threads", "two", "expected a whole number, got 'two'"),
                                   ("--format", "jpg", "invalid choice: 'jpg'")):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["demo", "latent", option, value])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- #
# Plot functions on small arrays
# --------------------------------------------------------------------------- #
rng = np.random.default_rng(0)
IMAGES = rng.random((12, 1, 8, 8)).astype(np.float32)


@pytest.mark.parametrize(
    "make",
    [
        lambda: plot.reconstruction_grid(IMAGES, IMAGES),
        lambda: plot.denoising_triplets(IMAGES, IMAGES, IMAGES),
        lambda: plot.latent_scatter(rng.standard_normal((30, 2)), rng.integers(0, 3, 30)),
        lambda: plot.manifold_grid(lambda z: np.tile(z[:, :1], (1, 64)) * 0 + 0.5, 4, (8, 8)),
        lambda: plot.interpolation_strip([IMAGES[:5].reshape(5, 64), IMAGES[5:10].reshape(5, 64)]),
        lambda: plot.anomaly_histogram(rng.random(50), rng.random(50) + 0.5, 0.9, 0.8),
        lambda: plot.training_curves({"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 1.5], "kl": [1, 1, 1], "lr": [1] * 3}),
        lambda: plot.pca_vs_autoencoder(IMAGES, IMAGES, IMAGES, 2, 0.1, 0.05),
        lambda: plot.activation_histogram({"L1": rng.random((10, 5)), "KL": rng.random((10, 5))}, target=0.05),
        lambda: plot.unit_images(rng.standard_normal((10, 64)), (8, 8), labels=["a"] * 10),
        lambda: plot.filters(rng.standard_normal((64, 10)), (8, 8)),
        lambda: plot.bar_chart({"a": 0.5, "b": 0.7}, "t", "y"),
        lambda: plot.sample_grid(IMAGES, "samples", cols=5),
        lambda: plot.compare_curves({"a": [1, 2], "b": [2, 1]}, "t", "y"),
        lambda: plot.accuracy_spread({"a": [0.5, 0.52, 0.49], "b": [0.7]}, "t", note="n"),
        lambda: plot.interpolation_strip([IMAGES[:5], IMAGES[5:10]], ends=(IMAGES[:2], IMAGES[2:4])),
        lambda: plot.compare_curves({"a": [1, 2]}, "t", "y", levels={"base": 1.5}, mark=(2, "kept")),
        lambda: plot.roc_curves({"m": (np.array([0, 0.5, 1]), np.array([0, 0.8, 1]), 0.9)}, "t"),
        lambda: plot.image_rows([plot.actual_size(IMAGES[:3, :4, :4], (8, 8)), IMAGES[:3]], ["small", "big"], "t"),
    ],
)
def test_plot_functions_return_a_figure_that_saves(tmp_path, make):
    fig = make()
    path = tmp_path / "f.png"
    plot.save(fig, path)
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 50


def test_training_curves_take_a_history():
    history = History()
    history.append({"loss": 1.0, "val_loss": 1.1, "lr": 0.1, "time": 0.2})
    fig = plot.training_curves(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss"]


def test_training_curves_skip_a_term_equal_to_the_loss_and_use_whole_epochs():
    """A plain autoencoder's reconstruction equals its loss: one panel, not two identical ones;
    three epochs get ticks 1, 2, 3 (not 1.25, 1.5 ...), and every axis is labelled."""
    same = {"loss": [3.0, 2.0, 1.0], "reconstruction": [3.0, 2.0, 1.0], "val_loss": [3, 2, 1],
            "val_reconstruction": [3, 2, 1]}
    fig = plot.training_curves(same, ylabel="BCE")
    assert [ax.get_title() for ax in fig.axes] == ["loss"]
    ax = fig.axes[0]
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_xticks())
    assert ax.get_ylabel() == "BCE" and ax.get_xlabel() == "epoch"
    vae = {"loss": [3.0, 2.0], "reconstruction": [2.5, 1.5], "kl": [0.5, 0.5]}
    assert [ax.get_title() for ax in plot.training_curves(vae).axes] == ["loss", "reconstruction", "kl"]


def test_image_grids_are_one_seamless_picture():
    """The manifold is one image with no gaps (neighbouring decodings touch); grids of samples are
    one axis too (no empty subplot rows under the title)."""
    fig = plot.manifold_grid(lambda z: np.repeat(z[:, :1], 64, axis=1) * 0 + 0.5, 5, (8, 8))
    (ax,) = fig.axes
    (image,) = ax.get_images()
    canvas = image.get_array()
    assert canvas.shape == (40, 40) and not np.ma.is_masked(canvas) and np.all(canvas == 0.5)
    grid = plot.sample_grid(IMAGES, "samples", cols=5, row_labels=["a", "b", "c"])
    assert len(grid.axes) == 1 and grid.axes[0].get_images()[0].get_array().shape == (24, 40)
    assert [t.get_text() for t in grid.axes[0].get_yticklabels()] == ["a", "b", "c"]


def test_filters_share_one_colour_scale_with_a_colour_bar():
    weights = rng.standard_normal((10, 64))
    fig = plot.unit_images(weights, (8, 8), "f", cols=4)
    assert len(fig.axes) == 2  # the tiles and the colour bar
    low, high = fig.axes[0].get_images()[0].get_clim()
    assert low == -high and high == pytest.approx(np.quantile(np.abs(weights), 0.99))


def test_save_refuses_unknown_formats_and_dpi_and_writes_the_same_bytes_twice(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"expected a file name ending in one of .*\.png.*got 'f\.xyz'"):
        plot.save(plot.compare_curves({"a": [1]}, "t", "y"), tmp_path / "f.xyz")
    with pytest.raises(ValueError, match="dpi must be a whole number from 20 to 1200, got 5"):
        plot.save(plot.compare_curves({"a": [1]}, "t", "y"), tmp_path / "f.png", dpi=5)
    with Image.open(plot.save(plot.compare_curves({"a": [1]}, "t", "y"), tmp_path / "f.jpg")) as image:
        assert image.format == "JPEG"  # any format matplotlib writes; the demos offer png, svg, pdf
    for fmt in ("svg", "pdf"):  # no dates, no random ids: a figure saved twice is the same file
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")  # as if saved years apart
        first = plot.save(plot.sample_grid(IMAGES, "s", cols=4), tmp_path / f"a.{fmt}").read_bytes()
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        assert plot.save(plot.sample_grid(IMAGES, "s", cols=4), tmp_path / f"b.{fmt}").read_bytes() == first


def test_plot_edge_cases_get_a_figure_or_a_clear_error():
    assert plot.interpolation_strip([IMAGES[:1]]).axes  # a single step
    fig = plot.sample_grid(IMAGES, "s", cols=4, row_labels=["only one"])  # fewer labels than rows
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["only one", "", ""]
    with pytest.raises(ValueError, match="accuracy_spread: expected at least one run for each entry"):
        plot.accuracy_spread({}, "t")
    with pytest.raises(ValueError, match="accuracy_spread: expected at least one run for each entry"):
        plot.accuracy_spread({"a": []}, "t")
    old_style = plot.filters(rng.standard_normal((64, 40)), (8, 8), n=12)  # a Dense encoder's (pixels, units)
    assert old_style.axes[0].get_images()[0].get_array().shape == (16, 64)  # 12 units, 8 per row
def test_plot_input_errors():
    with pytest.raises(ValueError, match=r"expected codes of shape \(N, 2\), got \(5, 3\)"):
        plot.latent_scatter(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match=r"shape \(units >= 1, 64\) for 8x8 images, got \(64, 10\)"):
        plot.unit_images(np.zeros((64, 10)), (8, 8))
    with pytest.raises(ValueError, match="cannot tell the image shape of flat rows of 10 pixels"):
        plot.reconstruction_grid(np.zeros((2, 10)), np.zeros((2, 10)))


@pytest.mark.parametrize("readme", ["README.md", "demos/README.md"])
def test_the_readmes_list_exactly_the_figures_each_demo_draws(readme):
    """Each demo's row of the README's and demos/README.md's tables names every figure it writes
    (by stem; the format is --format's), and no figure it does not write."""
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    rows = {}
    for line in (root / readme).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].strip("`").removesuffix(".py") in EXPECTED:
            rows[cells[0].strip("`").removesuffix(".py")] = cells[-1]
    assert set(rows) == set(EXPECTED), f"{readme} has no table row for {set(EXPECTED) - set(rows)}"
    for name, (figures, _) in EXPECTED.items():
        listed = set(re.findall(r"`([a-z_0-9]+)`", rows[name]))
        assert listed == {Path(f).stem for f in figures}, (readme, name, listed)


def test_the_demo_options_reach_the_demos(tmp_path, capsys, monkeypatch):
    """--dpi, --threads, --format and --epochs get to the demo, and the start line comes before
    the demo trains; "all" may stand among other names, each demo runs once."""
    from tinyae import threads

    seen = {}

    def probe(ctx):
        print("training now")
        seen.update(threads=threads.get_threads(), epochs=ctx.epochs_for(5))
        ctx.save(plot.compare_curves({"a": [1, 2]}, "t", "y"), "curve")
        return {}

    monkeypatch.setitem(demos.DEMOS, "probe", demos.Demo("probe", "a probe", probe))
    sizes = {}
    for dpi in ("60", "120"):
        assert cli.main(["demo", "probe", "--dataset", "digits", "--out", str(tmp_path / dpi), "--dpi", dpi,
                         "--threads", "1", "--epochs", "3", "--no-progress"]) == 0
        with Image.open(tmp_path / dpi / "probe" / "curve.png") as image:
            sizes[dpi] = image.size
    assert 1.8 < sizes["120"][0] / sizes["60"][0] < 2.2
    assert seen == {"threads": 1, "epochs": 3}
    out = capsys.readouterr().out
    assert out.index("[probe] a probe ...") < out.index("training now") < out.index("curve.png")
    assert demos._check_names(["latent", "all", "latent"]) == list(demos.DEMOS)


def test_epoch_budgets_scale_with_the_training_set():
    """Set for the 11,000 embedded images; 55,000 get a fifth (at least 2), the 1,197 digits at most 4x."""
    def budget(n, epochs=None):
        fake = type("D", (), {"x_train": np.zeros((n, 1))})()
        return demos.Context(fake, "out", epochs).epochs_for(10)

    assert budget(11000) == 10 and budget(55000) == 2 and budget(110000) == 2
    assert budget(1197) == 40 and budget(5500) == 20 and budget(1197, epochs=4) == 4


def test_image_grids_put_each_image_in_its_tile_and_z2_grows_upward():
    images = np.arange(6, dtype=np.float32)[:, None, None] * np.ones((6, 2, 3), np.float32)  # image k is all k
    canvas = plot.sample_grid(images / 5, "s", cols=3).axes[0].get_images()[0].get_array()
    assert canvas.shape == (4, 9)
    np.testing.assert_allclose(canvas[::2, ::3] * 5, [[0, 1, 2], [3, 4, 5]])  # row-major, tile by tile
    assert np.all(canvas[:2, :3] == 0) and np.all(canvas[2:, 6:] == 1)
    decode = lambda z: np.repeat(((z[:, :1] > 0) * 0.25 + (z[:, 1:] > 0) * 0.5), 4, axis=1)  # noqa: E731
    grid = plot.manifold_grid(decode, 4, (2, 2)).axes[0].get_images()[0].get_array()
    assert grid[0, 0] == 0.5 and grid[0, -1] == 0.75 and grid[-1, 0] == 0 and grid[-1, -1] == 0.25


def test_the_command_offers_the_formats_the_plots_write():
    """cli keeps its own copy of the format names (so --help does not import matplotlib): the same."""
    assert cli.FIGURE_FORMATS == plot.FORMATS


def test_a_notebook_shows_returned_figures_as_images():
    """In a fresh Jupyter kernel a Figure that a cell returns is drawn (image/png), not printed as
    '<Figure size ...>': tinyae.plot makes its figures outside pyplot, so it loads the notebook's backend."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cells = ["import tinyae\nfrom tinyae import plot\nplot.bar_chart({'a': 1.0, 'b': 2.0}, 't', 'y')",
             "history = tinyae.History()\nhistory.append({'loss': 2.0})\nhistory.append({'loss': 1.0})\n"
             "history.plot()"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    for cell in notebook.cells:
        kinds = [set(output.get("data", {})) for output in cell.outputs]
        assert any("image/png" in k for k in kinds), cell.outputs


def test_actual_size_centres_small_images_on_white_tiles():
    small = np.zeros((2, 1, 2, 3), np.float32)
    tiles = plot.actual_size(small, (4, 5))
    assert tiles.shape == (2, 4, 5)
    assert np.all(tiles[:, 1:3, 1:4] == 0) and tiles.sum() == 2 * (20 - 6)  # the rest is white


def test_compare_curves_draws_the_levels_and_the_mark():
    ax = plot.compare_curves({"a": [3, 2, 1]}, "t", "y", levels={"SVD": 1.5}, mark=(2, "kept")).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["a", "SVD", "kept"]
    assert list(ax.get_lines()[1].get_ydata()) == [1.5, 1.5] and list(ax.get_lines()[2].get_xdata()) == [2, 2]


def test_manifold_codes_are_the_priors_quantiles_with_z2_growing_upward():
    quantiles, z = plot.manifold_codes(3)
    np.testing.assert_allclose(quantiles, [-1.6449, 0.0, 1.6449], atol=1e-4)
    assert z.shape == (9, 2) and tuple(z[0]) == (quantiles[0], quantiles[2])  # top-left: z1 lowest, z2 highest
    assert tuple(z[-1]) == (quantiles[2], quantiles[0])


@pytest.mark.parametrize("kind", ["latent", "manifold"])
def test_write_gif_frames_equal_whole_redraws_of_each_frame(tmp_path, kind):
    """write_gif draws the still parts once and only the moving artists per frame; each frame must
    look as a whole redraw of that frame does (titles included: a hidden title is laid out elsewhere)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rng_ = np.random.default_rng(0)
    titles = [f"epoch {k + 1}\nloss {1 / (k + 1):.3f}" for k in range(3)]
    if kind == "latent":
        frames = [rng_.normal(size=(40, 2)) * (k + 1) for k in range(3)]
        make = lambda: plot.latent_frames(frames, np.arange(40) % 4, titles, list("abcd"))  # noqa: E731
    else:
        quantiles, _ = plot.manifold_codes(4)
        grids = [np.full((4, 4, 6, 6), (k + 1) / 4, np.float32) for k in range(3)]
        make = lambda: plot.manifold_frames(grids, quantiles, titles)  # noqa: E731
    path = plot.write_gif(*make(), 3, tmp_path / "a.gif", fps=4, dpi=60)
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.info["duration"] == 250 and gif.info["loop"] == 0
        written = []
        for k in range(3):
            gif.seek(k)
            written.append(np.asarray(gif.convert("RGB"), dtype=float))
    for k in range(3):
        fig, show = make()
        show(k)
        fig.set_dpi(60)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        whole = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])  # quantised as write_gif does
        whole = np.asarray(whole.quantize(256, method=Image.Quantize.FASTOCTREE).convert("RGB"), dtype=float)
        assert written[k].shape == whole.shape
        assert np.abs(written[k] - whole).mean() < 0.05, k
    assert np.count_nonzero(np.any(written[0] != written[2], axis=2)) > 200  # and the frames do move (pixels)


def test_the_demos_pca_is_scikit_learns():
    """core.PCA: the mean and the top directions (up to sign) of scikit-learn's PCA, nested in k,
    and reconstructions that improve with k."""
    from sklearn.decomposition import PCA as Reference

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(400, 12)) * np.linspace(3.0, 0.1, 12)).astype(np.float32) @ np.linalg.qr(
        rng.normal(size=(12, 12)))[0].astype(np.float32)
    pca = demos.core.PCA.fit(x, 6)
    reference = Reference(n_components=6, svd_solver="full").fit(x)
    assert pca.components.shape == (6, 12) and pca.components.dtype == np.float32
    np.testing.assert_allclose(pca.mean, reference.mean_, atol=1e-5)
    np.testing.assert_allclose(np.abs(np.sum(pca.components * reference.components_, axis=1)), 1.0, atol=1e-4)
    errors = [np.mean((pca.first(k).inverse_transform(pca.first(k).transform(x)) - x) ** 2) for k in (1, 3, 6)]
    assert errors[0] > errors[1] > errors[2] > 0
    full = demos.core.PCA.fit(x, 12)
    np.testing.assert_allclose(full.inverse_transform(full.transform(x)), x, atol=1e-4)  # all directions: exact
    with pytest.raises(ValueError, match="expected at most 12 components"):
        demos.core.PCA.fit(x, 13)

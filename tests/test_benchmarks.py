"""The whole-model benchmark (python -m benchmarks): its PyTorch twins compute tinyae's objectives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root holds benchmarks/

from benchmarks import models  # noqa: E402


@pytest.mark.parametrize("name", models.MODELS)
def test_one_step_matches_the_torch_twins(name):
    torch = pytest.importorskip("torch")
    model = models.build_tinyae(name)
    optimizer = models.ae.Adam(model.parameters(), lr=models.LR)
    twins = {label: models.TorchTwin(name, model, torch, "cpu", best=label == "torch_best")
             for label in ("torch", "torch_best")}
    result = models.parity(name, model, optimizer, twins, models.make_batch(name, 8))
    assert models.parity_failures(name, result) == []
    assert set(result) == {"loss", "torch", "torch_best"}


def test_gemm_flops_counts_every_product_but_the_datas_gradient():
    mlp = models.build_tinyae("mlp")
    pairs = [(784, 512), (512, 128), (128, 32), (32, 128), (128, 512), (512, 784)]
    expected = 2 * 128 * (3 * sum(a * b for a, b in pairs) - 784 * 512)
    assert models.gemm_flops("mlp", mlp, 128) == expected


def test_missing_gpu_is_a_clear_message_not_a_traceback(capsys):
    try:
        models.ae.set_backend("cupy")
    except models.ae.BackendUnavailable:
        pass
    else:  # pragma: no cover - a machine with a GPU
        models.ae.set_backend("numpy")
        pytest.skip("a GPU is available here")
    assert models.main(["--backend", "cupy", "--quick"]) == 2
    assert "benchmarks: the 'cupy' backend needs" in capsys.readouterr().err


def test_target_verdicts_judge_each_measured_target():
    rows = [
        {"model": "mlp", "speedup_vs_torch_best": 1.05, "tinyae": {"sgemm_fraction": 0.61}},
        {"model": "vae", "speedup_vs_torch_best": 1.2, "tinyae": {"sgemm_fraction": 0.3}},
        {"model": "keras", "speedup_vs_torch_best": 0.99, "tinyae": {"sgemm_fraction": 0.1}},
    ]
    verdicts = {(v["model"], v["target"]): (v["value"], v["met"]) for v in models.target_verdicts({"rows": rows})}
    assert verdicts == {
        ("mlp", "vs torch best"): (1.05, False),  # the MLP's bound is 1.1
        ("vae", "vs torch best"): (1.2, True),
        ("keras", "vs torch best"): (0.99, False),
        ("mlp", "share of SGEMM peak"): (0.61, True),
    }  # conv was not run: no verdict for it


def test_a_worker_times_one_contender_in_a_process_of_its_own():
    args = models.parse_args(["--quick", "--repeats", "2", "--warmup", "1"], threads=1)
    out = models.spawn("tinyae", "keras", args, batch=8)
    assert out["contender"] == "tinyae" and out["model"] == "keras" and out["batch"] == 8
    assert len(out["times_s"]) == 2 and all(t > 0 for t in out["times_s"])
    assert out["page_faults_per_step"] >= 0 and out["config"].startswith("kernels fast")


def test_the_thread_benchmark_times_every_model_at_both_counts(capsys):
    """python -m benchmarks.threads: one row per model with both timings and their ratio (a tiny run)."""
    from benchmarks import threads

    threads.main(["--rounds", "1", "--steps", "1", "--models", "MLP 784-64-8"])
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("MLP 784-64-8"))
    one, many, ratio = map(float, row.split()[-3:])
    assert one > 0 and many > 0 and ratio == pytest.approx(many / one, rel=0.02, abs=0.01)

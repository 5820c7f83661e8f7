"""The real μP / SP character transformer (issue 13): the coordinate check on it (V1), seeded
training, and the optimum / drift estimates of the sweep analysis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.charlm import CharLMError, CharTransformer, RunSpec, corpus, optimizer, train
from benchmarks.charlm_study import analyse, optima, slope
from benchmarks.data import DataMissingError
from searchers.coord_check import coord_check


@pytest.fixture(scope="module")
def text():
    try:
        return corpus()
    except DataMissingError as err:
        pytest.skip(str(err))


def _loss(out, y):
    return torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def test_coordinate_check_passes_for_mup_and_fails_for_sp(text):
    ids, vocab = text
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(ids) - 33, size=(3, 16))
    batches = [(torch.from_numpy(np.stack([ids[s:s + 32] for s in row])),
                torch.from_numpy(np.stack([ids[s + 1:s + 33] for s in row]))) for row in starts]
    results = {}
    for param in ("mup", "sp"):
        def factory(width, param=param):
            model = CharTransformer(vocab, width, context=32, parametrization=param,
                                    generator=torch.Generator().manual_seed(width))
            return model, optimizer(model, 2.0 ** -5)

        results[param] = coord_check(factory, [32, 64, 128, 256], batches, 3, loss_fn=_loss)
    worst = {p: max(abs(layer.slope) for layer in r.layers) for p, r in results.items()}
    assert results["mup"].passed, worst
    assert not results["sp"].passed and worst["sp"] >= 0.3, worst


def test_mup_hidden_learning_rates_shrink_with_width_and_sp_uses_one(text):
    _, vocab = text
    wide = CharTransformer(vocab, 128, base_width=32)
    lrs = sorted(g["lr"] for g in optimizer(wide, 0.01).param_groups)
    assert lrs == pytest.approx([0.0025, 0.01])  # eta / m with m = 4, and eta
    sp = CharTransformer(vocab, 128, parametrization="sp")
    assert [g["lr"] for g in optimizer(sp, 0.01).param_groups] == [0.01]
    assert float(wide.readout.weight.detach().abs().sum()) == 0.0  # μP: zero readout
    with pytest.raises(CharLMError, match="'ntk'"):
        CharTransformer(vocab, 64, parametrization="ntk")
    with pytest.raises(CharLMError, match="multiple of head_dim"):
        CharTransformer(vocab, 40)


def test_training_is_seeded(text):
    spec = RunSpec(32, "mup", -5.0, 12, seed=3, batch=8, context=32)
    a, b = train(spec), train(spec)
    other = train(RunSpec(32, "mup", -5.0, 12, seed=4, batch=8, context=32))
    assert a["loss"] == b["loss"] and a["loss"] != other["loss"]
    assert a["loss"] < np.log(text[1])  # learns something in 12 steps
    assert a["flops"] == 6.0 * a["params"] * 12 * 8 * 32


def _rows(drift: float, widths=(32, 64, 128, 256), seeds=(0, 1, 2)):
    """Synthetic sweep: loss = 2 + 0.05 (log2 lr - c(w))^2 + noise,
    c(w) = -4 + drift log2(w/32)."""
    rng = np.random.default_rng(1)
    rows = []
    for w in widths:
        c = -4.0 + drift * np.log2(w / 32)
        for lr in np.arange(-9.0, 0.5, 1.0):
            for s in seeds:
                rows.append({"parametrization": "sp", "width": w, "log2_lr": float(lr),
                             "steps": 300, "seed": s,
                             "loss": 2 + 0.05 * (lr - c) ** 2 + 0.002 * rng.standard_normal()})
    return rows


@pytest.mark.parametrize("drift", [0.0, -0.75])
def test_the_analysis_recovers_a_known_drift(drift):
    opt = optima(_rows(drift))
    assert opt[("sp", 300, 32)]["log2_lr_star"] == pytest.approx(-4.0, abs=0.15)
    fit = slope({w: opt[("sp", 300, w)] for w in (32, 64, 128, 256)})
    assert fit is not None and fit["slope"] == pytest.approx(drift, abs=0.1)
    assert fit["lo"] <= drift + 0.05 and drift - 0.05 <= fit["hi"]
    report = analyse(_rows(drift))
    assert report["width_drift"][0]["widths"] == [32, 64, 128, 256]


def test_a_diverged_run_counts_as_worse_than_every_finite_one():
    rows = _rows(0.0, widths=(32,))
    for r in rows:
        if r["log2_lr"] == -4.0:
            r["loss"] = float("inf")  # the true optimum diverged in every seed
    assert optima(rows)[("sp", 300, 32)]["log2_lr_star"] != pytest.approx(-4.0, abs=0.3)


def test_the_transfer_replay_buys_proxy_runs_and_scores_the_recommendation():
    from benchmarks.charlm_transfer import evaluate

    rows = []
    for w, flops in ((32, 1e9), (256, 64e9)):  # μP-like: the optimum (2^-4) does not move
        for lr in np.arange(-9.0, -0.5, 1.0):
            for s in (0, 1):
                rows.append({"parametrization": "mup", "width": w, "log2_lr": float(lr),
                             "steps": 300, "seed": s, "flops": flops,
                             "loss": 2 + 0.05 * (lr + 4) ** 2 + 0.01 * s - 0.1 * (w == 256)})
    result = evaluate(rows, proxy=32, target=256, param="mup", steps=300, runs=10, studies=1)
    study = result["transfer"]["studies"][0]
    assert study["flops"] == 10 * 1e9  # ten proxy runs bought, none at the target
    assert result["transfer"]["flops_pct_of_target_sweep"] == pytest.approx(
        100 * 10e9 / (18 * 64e9))  # 9 lrs x 2 seeds at the target
    assert result["naive"]["log2_lr"] == -4.0 and result["naive"]["regret"] == 0.0
    assert result["transfer"]["regret_mean"] <= 0.05  # within one grid step of the optimum
    assert result["random_at_equal_flops"]["target_runs"] < 1
    assert result["random_at_equal_flops"]["expected_regret"] > 0.3


def test_transfer_plots_are_written_from_a_sweep(tmp_path):
    from benchmarks.charlm_plots import plot_sweep

    rows = _rows(-0.5) + [{**r, "parametrization": "mup"} for r in _rows(0.0)]
    paths = plot_sweep(rows, analyse(rows), tmp_path)
    assert [p.name for p in paths] == ["loss_vs_lr.png", "optimum_vs_width.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)

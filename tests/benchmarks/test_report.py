"""Report metrics: one definition of the incumbent's regret, fixed constants, readable plots."""

import math

import numpy as np
import pytest

from benchmarks import metrics
from benchmarks.report import _rank_figure, _regret_figure, aggregate, summarise
from benchmarks.runner import _finite


def _run(method, seed, trajectory, problem="toy", optimum=0.0, reference=1.0, budget=10.0):
    spent = max([row[1] for row in trajectory], default=budget) + 0.5  # segments finish
    return _finite({"problem": problem, "method": method, "seed": seed, "workers": 1,
                    "optimum": optimum, "reference": reference, "unit": 1.0,
                    "max_budget": budget, "spent": spent,
                    "sim_time": max([row[0] for row in trajectory], default=1.0) + 1.0,
                    "trajectory": trajectory, "real_s": 0.1, "decision_s": 0.01,
                    "n_reports": 10, "n_trials": 10})


def test_on_grid_scores_the_latest_incumbent_without_a_running_minimum():
    """A newer incumbent (better observed) can be truly worse: the curve follows it."""
    traj = [(1.0, 1.0, 0.2), (2.0, 2.0, 0.5)]
    assert metrics.on_grid(traj, np.array([0.5, 1.0, 2.0, 4.0])).tolist() == \
        [1.0, 0.2, 0.5, 0.5]
    assert metrics.final_regret(traj) == 0.5 and metrics.final_regret([]) == 1.0


def test_curves_end_at_the_final_regret_and_speedups_follow():
    """Seed-noisy incumbents (item 21): the summary's final regret is the curves' end, and a
    method with a lower final regret than random search gets a speed-up (not "never")."""
    runs = []
    for seed in range(3):
        # random: its last incumbent is truly worse than an earlier one
        runs.append(_run("random", seed, [(1, 1, 0.4), (5, 5, 0.15), (9, 10.5, 0.3)]))
        runs.append(_run("asha", seed, [(1, 1, 0.5), (4, 4, 0.25), (8, 8, 0.2)]))
    cells = aggregate(runs)["toy"]
    for cell in cells.values():
        assert cell.budget_curves.mean(0)[-1] == pytest.approx(np.mean(cell.final))
        assert cell.time_curves.mean(0)[-1] == pytest.approx(np.mean(cell.final))
    table = summarise({"toy": cells})["toy"]
    assert table["random"]["final"] == pytest.approx(0.3)
    assert table["asha"]["final"] == pytest.approx(0.2)
    assert table["asha"]["speedup_budget"] is not None


def test_digits_regret_does_not_depend_on_the_runs_set():
    """digits has fixed constants (item 22): adding a run that finds a better loss does not
    change another run's regret."""
    from benchmarks.problems import get_problem

    problem = get_problem("digits")
    assert math.isfinite(problem.optimum) and math.isfinite(problem.reference)
    assert problem.optimum < problem.reference
    y = problem.optimum + 0.5 * (problem.reference - problem.optimum)

    def digits_run(method, seed, loss):
        return _run(method, seed, [(1, 27, loss)], problem="digits", optimum=problem.optimum,
                    reference=problem.reference, budget=270.0)

    alone = aggregate([digits_run("random", 0, y)])["digits"]["random"].final
    both = aggregate([digits_run("random", 0, y),
                      digits_run("asha", 0, problem.optimum - 0.05)])["digits"]["random"].final
    assert alone == both == [pytest.approx(0.5)]
    # records written before the constants existed (optimum None) use the problem's
    old = _run("random", 0, [(1, 27, y)], problem="digits", optimum=None, reference=None)
    assert aggregate([old])["digits"]["random"].final == [pytest.approx(0.5)]


def test_digits_constants_match_the_recorded_sweep():
    import json
    from pathlib import Path

    from benchmarks import training
    from benchmarks.training import DIGITS_OPTIMUM, DIGITS_REFERENCE

    record = json.loads((Path(training.__file__).parent / "digits_sweep.json").read_text())
    assert record["configs"] >= 500 and record["command"].startswith("python -m benchmarks")
    assert DIGITS_OPTIMUM == pytest.approx(record["optimum"], abs=1e-6)
    assert DIGITS_REFERENCE == pytest.approx(record["reference"], abs=1e-6)
    assert min(x for x in record["losses"] if x is not None) == pytest.approx(DIGITS_OPTIMUM,
                                                                              abs=1e-6)


@pytest.fixture
def two_methods():
    runs = []
    for seed in range(4):
        # regrets near 0 with a wide spread: mean - 1.96 SE < 0
        runs.append(_run("random", seed, [(1, 1, 0.3), (6, 6, [0.0, 0.02, 0.2, 0.0][seed])]))
        runs.append(_run("asha", seed, [(1, 1, 0.2), (3, 3, [0.0, 0.01, 0.1, 0.0][seed])]))
    return aggregate(runs)


def test_regret_bands_stay_in_the_visible_range_and_both_panels_have_legends(two_methods):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = _regret_figure("toy", two_methods["toy"])
    try:
        for ax in fig.axes:
            bottom, _ = ax.get_ylim()
            assert bottom >= 1e-3, "band collapsed to a tiny value"
            for band in ax.collections:
                ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
                assert ys.min() >= bottom * (1 - 1e-9)
            assert ax.get_legend() is not None
            assert {t.get_text() for t in ax.get_legend().get_texts()} == {"asha", "random"}
    finally:
        plt.close(fig)


def test_rank_plot_has_a_title_and_a_log_axis(two_methods):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = two_methods["toy"]
    grid = cells["asha"].grids[0]
    curves = metrics.ranks_over_grid({m: c.budget_curves for m, c in cells.items()})
    fig = _rank_figure({m: [(grid / grid[-1], c)] for m, c in curves.items()})
    try:
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xscale() == "log"
        assert "log grid" not in ax.get_xlabel()
        assert ax.get_xlim()[1] >= 1.0
    finally:
        plt.close(fig)


def test_merged_report_keeps_one_budget_and_lets_the_out_folder_win(tmp_path):
    import json

    from benchmarks.__main__ import main
    from benchmarks.report import report, select

    def write(folder, runs):
        folder.mkdir()
        (folder / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))

    old = [_run("random", s, [(1, 1, 0.4)]) for s in range(2)] + \
        [_run("asha", s, [(1, 1, 0.9)]) for s in range(2)] + \
        [_run("asha", s, [(1, 1, 0.0)], budget=20.0) for s in range(2)]  # another budget
    new = [_run("asha", s, [(1, 1, 0.1)]) for s in range(2)]
    write(tmp_path / "old", old)
    write(tmp_path / "new", new)
    assert len(select(old, budget=10)) == 4 and len(select(old, methods=["random"])) == 2
    text = report(tmp_path / "new", include=[tmp_path / "old"], budget=10)
    row = next(line for line in text.splitlines() if line.startswith("| asha |"))
    assert row.split("|")[2].strip().startswith("0.100")  # the out folder's runs replaced 0.9
    assert (tmp_path / "new" / "summary.md").is_file()
    # the CLI: a fresh folder may receive a merged table; a missing input folder is an error
    assert main(["report", "--out", str(tmp_path / "merged"), "--include",
                 str(tmp_path / "old"), str(tmp_path / "new"), "--budget", "10",
                 "--methods", "random", "asha"]) == 0
    assert "0.100" in (tmp_path / "merged" / "summary.md").read_text()
    assert main(["report", "--out", str(tmp_path / "merged"), "--include",
                 str(tmp_path / "absent")]) == 2

"""Every plot from a real study: the file exists, is non-empty, and its matplotlib (or Plotly)
objects hold the expected number of lines / points."""

from __future__ import annotations

import math

import pytest

import hpo

pytest.importorskip("matplotlib")

from hpo.analysis import plots  # noqa: E402
from hpo.analysis.record import AnalysisError, StudyRecord  # noqa: E402


def _finite_reports(built):
    return [e for e in built.events("report") if e["m"]["loss"] != "NaN"]


def _trials_with_finite(built):
    return {e["t"] for e in _finite_reports(built)}


def _save(built, kind, tmp_path, **options):
    """The figure, written as save_plot writes it (test_save_plot covers save_plot itself)."""
    fig = plots.plot(built.path, kind, **options)
    path = tmp_path / f"{kind}.png"
    fig.savefig(path, dpi=100)
    assert path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return fig


def test_save_plot_writes_png(asha, tmp_path):
    path = plots.save_plot(asha.path, "rungs", tmp_path / "sub" / "rungs.png")
    assert path == tmp_path / "sub" / "rungs.png"
    assert path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plots.applicable_kinds(StudyRecord.open(asha.path)) == list(plots.KINDS)


def test_history(asha, tmp_path):
    fig = _save(asha, "history", tmp_path)
    n = len(asha.events("report"))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in axes] == ["trials started", "cumulative budget",
                                                "cumulative cost", "wall time (s)"]
    for ax in axes:
        (points,) = ax.collections
        assert len(points.get_offsets()) == n  # NaN for the diverged report: kept, not drawn
        assert len(ax.lines) == 2  # best so far, best at full fidelity
        assert len(ax.lines[0].get_xdata()) == n
    single = _save(asha, "history", tmp_path, x="cost")
    assert len([ax for ax in single.axes if ax.get_visible()]) == 1


def test_curves_coloured_by_decision(asha, tmp_path):
    fig = _save(asha, "curves", tmp_path)
    ax = fig.axes[0]
    expected = _trials_with_finite(asha)
    assert len(ax.lines) == len(expected)
    record = StudyRecord.open(asha.path)
    for line in ax.lines:
        tid = int(line.get_gid().split("-")[1])
        finite = [o for o in record.trials[tid].observations if math.isfinite(o.loss)]
        assert len(line.get_xdata()) == len(finite)
        assert line.get_color() == plots.DECISION_COLORS[record.decision(record.trials[tid])]
    colours = {line.get_gid(): line.get_color() for line in ax.lines}
    assert {colours[f"trial-{t}"] for t in asha.failed} == {plots.DECISION_COLORS["failed"]}
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(legend) >= {"failed", "promoted", "paused", "completed"}


def test_parallel_coordinates(asha, tmp_path):
    fig = _save(asha, "parallel", tmp_path)
    (lines,) = fig.axes[0].collections
    segments = lines.get_segments()
    assert len(segments) == len(_trials_with_finite(asha))
    assert {len(s) for s in segments} == {4}  # lr, layers, opt, loss
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["lr", "layers", "opt",
                                                                     "loss"]


def test_slices_one_panel_per_parameter(asha, tmp_path):
    fig = _save(asha, "slices", tmp_path)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_xlabel()]
    assert [ax.get_xlabel() for ax in panels] == ["lr", "layers", "opt"]
    for ax in panels:
        (points,) = ax.collections
        assert len(points.get_offsets()) == len(_trials_with_finite(asha))
    assert panels[0].get_xscale() == "log"
    assert [t.get_text() for t in panels[2].get_xticklabels()] == ["adam", "sgd"]


def test_importance_bars(asha, tmp_path):
    pytest.importorskip("sklearn")
    fig = _save(asha, "importance", tmp_path)
    bars = fig.axes[0].patches
    assert len(bars) == 3
    widths = {t.get_text(): b.get_width()
              for t, b in zip(fig.axes[0].get_yticklabels(), bars)}
    assert max(widths, key=widths.get) == "lr"


def test_rungs(asha, tmp_path):
    fig = _save(asha, "rungs", tmp_path)
    ax = fig.axes[0]
    assert len(ax.patches) == 4  # one bracket x rungs 1, 3, 9, 27
    with_results = [t for t in asha.study.trials.values() if t.observations]
    assert [p.get_height() for p in ax.patches] == [
        sum(t.budget >= lv for t in with_results) for lv in (1, 3, 9, 27)]


def test_pareto(asha, tmp_path):
    fig = _save(asha, "pareto", tmp_path)
    ax = fig.axes[0]
    (points,) = ax.collections
    assert len(points.get_offsets()) == len(_finite_reports(asha))
    (front,) = ax.lines
    front_x = list(front.get_xdata())
    assert 1 <= len(front_x) <= len(_finite_reports(asha))
    assert front_x == sorted(front_x)


def test_interactive_html(asha, tmp_path):
    pytest.importorskip("plotly")
    from hpo.analysis import figures

    path = plots.save_plot(asha.path, "curves", tmp_path / "curves.html")
    text = path.read_text()
    assert path.stat().st_size > 100_000 and "plotly" in text.lower()
    fig = figures.figure(asha.path, "curves")  # one trace per decision, trials split by gaps
    assert sum(list(trace.y).count(None) for trace in fig.data) == len(_trials_with_finite(asha))
    assert {trace.name.split()[0] for trace in fig.data} == {"failed", "promoted", "paused",
                                                             "completed"}
    assert len(figures.figure(asha.path, "rungs").data[0].y) == 4
    assert len(figures.figure(asha.path, "parallel").data[0].dimensions) == 4
    hist = figures.figure(asha.path, "history", x="budget")
    assert len(hist.data[0].x) == len(asha.events("report"))


def test_bad_input_names_the_value(asha, tmp_path):
    with pytest.raises(AnalysisError, match="unknown plot kind 'violin'"):
        plots.plot(asha.path, "violin")
    with pytest.raises(AnalysisError, match="must end in one of"):
        plots.save_plot(asha.path, "curves", tmp_path / "curves.svg")
    with pytest.raises(AnalysisError, match="no study directory"):
        plots.plot(tmp_path / "nowhere", "curves")


def test_an_option_for_another_kind_is_an_error_not_ignored(tmp_path):
    from hpo.analysis import figures, plots
    from hpo.analysis.record import AnalysisError

    study = hpo.Study({"x": hpo.Float("x", 0.0, 1.0)}, "loss", method="random", seed=0,
                      storage=tmp_path / "s")
    for _ in range(3):
        t = study.ask()
        study.tell(t.trial_id, {"loss": t.config["x"]})
    for draw in (plots.plot, figures.figure):
        with pytest.raises(AnalysisError, match="x='budget' applies to the history plot only"):
            draw(tmp_path / "s", "curves", x="budget")

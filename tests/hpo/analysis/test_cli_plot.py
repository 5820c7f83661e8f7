"""``hpo plot`` and ``hpo dashboard`` on the command line: outputs, one-line errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hpo.cli import main

pytest.importorskip("matplotlib")


@pytest.fixture
def saved(monkeypatch):
    """Record what `hpo plot` would write without rendering (test_plots renders each kind)."""
    from hpo.analysis import plots

    calls = []
    monkeypatch.setattr(plots, "save_plot",
                        lambda record, kind, path, **options: calls.append(
                            (kind, path, options)) or path)
    return calls


def test_plot_renders_a_png(asha, tmp_path, capsys):
    assert main(["plot", str(asha.path), "--kind", "rungs", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "rungs.png")]
    assert (tmp_path / "rungs.png").stat().st_size > 1000


def test_plot_every_kind(asha, tmp_path, capsys, saved):
    pytest.importorskip("sklearn")
    out = tmp_path / "figs"
    assert main(["plot", str(asha.path), "--out", str(out)]) == 0
    names = ["history", "curves", "parallel", "slices", "importance", "rungs", "pareto"]
    assert [(k, p) for k, p, _ in saved] == [(k, out / f"{k}.png") for k in names]
    assert capsys.readouterr().out.split() == [str(out / f"{k}.png") for k in names]


def test_plot_chosen_kinds_axis_and_format(asha, tmp_path, saved):
    assert main(["plot", str(asha.path), "--kind", "curves,rungs", "--kind", "history",
                 "--x", "cost", "--format", "html"]) == 0
    plots_dir = asha.path / "plots"
    assert saved == [("curves", plots_dir / "curves.html", {"x": None}),
                     ("rungs", plots_dir / "rungs.html", {"x": None}),
                     ("history", plots_dir / "history.html", {"x": "cost"})]


def test_plot_skips_what_a_study_lacks(tmp_path, capsys, saved):
    import hpo

    study = hpo.Study({"x": hpo.Float("x", 0.0, 1.0)}, "loss", seed=0, storage=tmp_path / "s")
    for _ in range(3):
        t = study.ask()
        study.tell(t.trial_id, {"loss": t.config["x"]}, cost=1.0)
    assert main(["plot", str(tmp_path / "s")]) == 0
    captured = capsys.readouterr()
    assert "skipping rungs: rung occupancy needs a multi-fidelity" in captured.err
    assert "skipping importance" in captured.err
    assert [k for k, _, _ in saved] == ["history", "curves", "parallel", "slices", "pareto"]
    assert main(["plot", str(tmp_path / "s"), "--kind", "rungs"]) == 2
    assert "has no fidelity" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--kind", "violin"], "unknown plot kind 'violin'"),
    (["--format", "svg"], "unknown --format 'svg'"),
    (["--x", "epochs"], "unknown --x 'epochs'"),
])
def test_plot_bad_input_is_one_line(asha, args, message, capsys):
    assert main(["plot", str(asha.path), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_missing_directory_is_one_line(tmp_path, capsys):
    for command in (["plot"], ["dashboard", "--port", "0"]):
        assert main([*command, str(tmp_path / "nope")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no study directory at" in err and "nope" in err


def test_dashboard_bad_port_is_one_line(asha, capsys):
    assert main(["dashboard", str(asha.path), "--port", "70000"]) == 2
    assert "--port must be 0..65535, got 70000" in capsys.readouterr().err


def test_core_imports_without_matplotlib():
    code = ("import sys\n"
            "for name in ('matplotlib', 'plotly', 'flask', 'sklearn'): sys.modules[name] = None\n"
            "import hpo, hpo.cli, hpo.analysis\n"
            "from hpo.analysis import plots, history, dashboard, figures, importance\n"
            "from hpo.analysis.record import AnalysisError\n"
            "try:\n"
            "    plots.plot(sys.argv[1], 'curves')\n"
            "except AnalysisError as err:\n"
            "    print(err)\n")
    import tempfile

    import hpo

    with tempfile.TemporaryDirectory() as d:
        study = hpo.Study({"x": hpo.Float("x", 0.0, 1.0)}, "loss", seed=0, storage=d)
        t = study.ask()
        study.tell(t.trial_id, {"loss": 0.5})
        out = subprocess.run([sys.executable, "-c", code, d], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "pip install 'scaletune[plots]'" in out.stdout

"""StudyRecord: the journal, folded read-only, followed as it grows, from a copy too."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys

import pytest

import hpo
from hpo.analysis import history
from hpo.analysis.record import AnalysisError, StudyRecord
from tests.hpo.analysis.studies import FIDELITY, SPACE, Built, asha_study, run_trials


def test_record_matches_the_study(asha):
    record = StudyRecord.open(asha.path)
    assert record.counts() == asha.study.counts()
    assert [t.id for t in record.snapshot()] == sorted(asha.study.trials)
    assert record.budget_used == asha.study.budget_used
    assert record.method_name == "asha"
    assert record.best().id == asha.study.best().id
    decisions = {t.id: record.decision(t) for t in record.snapshot()}
    assert {decisions[t] for t in asha.failed} == {"failed"}
    assert {decisions[t] for t in asha.stopped} == {"stopped"}
    assert {decisions[t] for t in asha.running} == {"running"}
    resumed = {e["t"] for e in asha.events("resume")}
    for tid, decision in decisions.items():
        trial = record.trials[tid]
        if not trial.status.is_terminal:
            assert (decision == "promoted") == (tid in resumed)
    assert sum(len(v) for v in record.verdicts.values()) == len(asha.events("report"))


def test_refresh_follows_a_growing_journal(tmp_path):
    built = asha_study(tmp_path / "s", n_tickets=5, leave_running=False)
    record = StudyRecord.open(built.path)
    before = len(record.trials)
    run_trials(built, 4)
    assert len(record.trials) == before  # until refreshed
    assert record.refresh() > 0
    assert len(record.trials) == len(built.study.trials) > before
    assert record.refresh() == 0


def test_copied_directory_and_read_only_file(asha, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(asha.path, copy)
    (copy / "journal.jsonl").chmod(0o444)
    record = StudyRecord.open(copy)
    assert record.counts() == asha.study.counts()
    assert len(history.history(record).x) == len(asha.events("report"))


def test_another_process_reads_a_study(asha):
    code = ("from hpo.analysis.record import StudyRecord; import sys; "
            "print(len(StudyRecord.open(sys.argv[1]).trials))")
    out = subprocess.run([sys.executable, "-c", code, str(asha.path)], capture_output=True,
                         text=True, check=True)
    assert int(out.stdout) == len(asha.study.trials)


def test_of_study_objects(asha):
    assert len(StudyRecord.of(asha.study).trials) == len(asha.study.trials)
    memory = hpo.Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=0)
    run_trials(Built(asha.path, memory), 3)
    assert len(StudyRecord.of(memory).trials) == len(memory.trials)
    with pytest.raises(AnalysisError, match="expected a study directory"):
        StudyRecord.of(42)


def test_bad_directories_name_the_path(tmp_path):
    with pytest.raises(AnalysisError, match="no study directory at .*missing"):
        StudyRecord.open(tmp_path / "missing")
    with pytest.raises(AnalysisError, match="has no journal.jsonl"):
        StudyRecord.open(tmp_path)
    assert issubclass(AnalysisError, hpo.HPOError)


def test_history_values_and_best_so_far(asha):
    record = StudyRecord.open(asha.path)
    reports = asha.events("report")
    for axis in history.HISTORY_AXES:
        h = history.history(record, axis)
        assert len(h.x) == len(h.values) == len(h.best) == len(reports)
        assert all(b2 <= b1 for b1, b2 in zip(h.best, h.best[1:]))
    h = history.history(record, "cost")
    assert h.x[-1] == pytest.approx(record.cost_used)
    assert history.history(record, "budget").x[-1] == pytest.approx(record.budget_used)
    assert history.history(record, "trials").x[-1] == len({e["t"] for e in reports})
    finite = [v for v in h.values if not math.isnan(v)]
    assert h.best[-1] == pytest.approx(min(finite))
    assert h.best_full is not None  # one trial reached epoch 27
    with pytest.raises(AnalysisError, match="unknown history axis 'steps'"):
        history.history(record, "steps")


def test_maximised_objective_keeps_its_units(tmp_path):
    study = hpo.Study(SPACE, hpo.Objective("acc", "max"), method="random", seed=0,
                      storage=tmp_path)
    for i in range(4):
        t = study.ask()
        study.tell(t.trial_id, {"acc": 0.1 * i})
    h = history.history(StudyRecord.open(tmp_path), "trials")
    assert h.values == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert h.best == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert h.best_full is None


def test_rungs_need_a_fidelity_and_pareto_a_cost(tmp_path):
    study = hpo.Study(SPACE, "loss", method="random", seed=0, storage=tmp_path)
    with pytest.raises(AnalysisError, match="has no results yet"):
        history.curves(StudyRecord.open(tmp_path))
    t = study.ask()
    study.tell(t.trial_id, {"loss": 1.0}, cost=0.0)
    record = StudyRecord.open(tmp_path)
    with pytest.raises(AnalysisError, match="has no fidelity"):
        history.rung_occupancy(record)
    with pytest.raises(AnalysisError, match="records no cost"):
        history.pareto(record)


def test_rung_occupancy_of_asha_and_hyperband(asha, tmp_path):
    occ = history.rung_occupancy(StudyRecord.open(asha.path))
    assert occ.levels == [1, 3, 9, 27]
    (counts,) = occ.brackets.values()
    with_results = [t for t in asha.study.trials.values() if t.observations]
    assert counts == [sum(t.budget >= lv for t in with_results) for lv in occ.levels]
    study = hpo.Study(SPACE, "loss", method="hyperband", fidelity=hpo.Fidelity("epoch", 1, 9),
                      seed=0, storage=tmp_path)
    built = Built(tmp_path, study)
    run_trials(built, 40)
    occ = history.rung_occupancy(StudyRecord.open(tmp_path))
    assert occ.levels == [1, 3, 9]
    assert len(occ.brackets) == 3  # hyperband's brackets start at 1, 3 and 9
    starts = [e["b"] for e in built.events("start")]
    for (label, row), start in zip(occ.brackets.items(), sorted(set(starts))):
        assert f"from {start:g}" in label
        assert row[occ.levels.index(start)] == starts.count(start)


def test_pareto_front_is_non_dominated(asha):
    par = history.pareto(StudyRecord.open(asha.path))
    finite = [e for e in asha.events("report") if e["m"]["loss"] != "NaN"]
    assert len(par.costs) == len(finite)
    front = [(par.costs[i], par.values[i]) for i in par.front]
    assert front == sorted(front)
    assert all(b[1] < a[1] for a, b in zip(front, front[1:]))  # each step is an improvement
    for c, v in zip(par.costs, par.values):  # every point is weakly dominated by the front
        assert any(fc <= c and fv <= v for fc, fv in front)

import json
import math
import shutil
import subprocess
import sys
import textwrap

import pytest

from hpo import (
    Fidelity,
    FidelityError,
    Float,
    HPOWarning,
    InvalidConfigError,
    ReplayError,
    ReportError,
    SearchSpace,
    StorageError,
    Study,
    TrialStateError,
    TrialStatus,
    UnknownTrialError,
)
from hpo.core.decisions import Decision
from schedulers import ASHA, DEHB, Hyperband
from tests.hpo.helpers import FIDELITY, SPACE, curve, drive, journal_decisions


def test_ask_tell_single_fidelity():
    study = Study(SPACE, "loss", method="random", seed=0)
    for _ in range(10):
        ticket = study.ask()
        assert ticket.budget is None and ticket.resume_from == 0
        study.tell(ticket.trial_id, {"loss": curve(ticket.config, 1)})
    assert len(study) == 10
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials.values())
    best = study.best()
    assert best.loss == min(t.loss for t in study.trials.values())


def test_report_verdicts_pause_and_resume_with_checkpoint_dir(tmp_path):
    study = Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=1, storage=tmp_path)
    tickets = [study.ask() for _ in range(3)]
    assert all(t.budget == 1 and t.checkpoint_dir == tmp_path / "checkpoints" / str(t.trial_id)
               for t in tickets)
    losses = [0.3, 0.1, 0.2]
    for ticket, loss in zip(tickets, losses):
        verdict = study.report(ticket.trial_id, {"loss": loss}, budget=1)
        assert verdict.decision is Decision.PAUSE
    resumed = study.ask()  # 3 results at rung 0: the best (trial 1) is promoted first
    assert resumed.trial_id == 1 and resumed.resume_from == 1 and resumed.budget == 3
    assert resumed.is_resume
    assert study.report(1, {"loss": 0.05}, budget=2).decision is Decision.CONTINUE
    assert study.report(1, {"loss": 0.04}, budget=3).decision is Decision.PAUSE
    assert study.trials[1].status is TrialStatus.PAUSED
    assert [o.budget for o in study.trials[1].observations] == [1, 2, 3]
    assert study.active_ids() == []  # 0 and 2 paused at rung 0, 1 paused at rung 1
    assert study.ask().trial_id == 3 and study.active_ids() == [3]


def test_bad_reports_and_tells_name_the_problem():
    study = Study(SPACE, "loss", method="random", fidelity=FIDELITY, seed=0)
    t = study.ask().trial_id
    with pytest.raises(UnknownTrialError, match="unknown trial id 99"):
        study.report(99, {"loss": 1.0})
    with pytest.raises(FidelityError, match="exceeds the fidelity maximum epochs=27"):
        study.report(t, {"loss": 1.0}, budget=28)
    with pytest.raises(ReportError, match="cost must be a finite number >= 0, got -1"):
        study.report(t, {"loss": 1.0}, budget=1, cost=-1)
    with pytest.raises(ReportError, match="metric 'loss' must be a number, got 'low'"):
        study.report(t, {"loss": "low"}, budget=1)
    study.report(t, {"loss": 1.0}, budget=5)
    with pytest.warns(HPOWarning, match="ignoring a report at budget 3"):
        verdict = study.report(t, {"loss": 0.1}, budget=3)
    assert verdict.decision is Decision.CONTINUE
    assert [o.budget for o in study.trials[t].observations] == [5]
    study.tell(t)
    with pytest.raises(TrialStateError, match="cannot report for trial 0: it is completed"):
        study.report(t, {"loss": 1.0}, budget=6)
    with pytest.raises(TrialStateError, match="already ended as completed"):
        study.tell(t)
    with pytest.raises(UnknownTrialError):
        study.tell(7)


def test_missing_metric_fails_the_trial_and_the_study_goes_on():
    study = Study(SPACE, "loss", method="random", seed=0)
    t = study.ask().trial_id
    verdict = study.report(t, {"accuracy": 0.9})
    assert verdict.decision is Decision.STOP
    trial = study.trials[t]
    assert trial.status is TrialStatus.FAILED and "'loss'" in trial.reason
    t2 = study.ask().trial_id
    study.tell(t2, {"loss": 0.5})
    assert study.best().id == t2


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_loss_is_the_worst_and_stops_the_trial(value, tmp_path):
    study = Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=0, storage=tmp_path)
    t = study.ask().trial_id
    verdict = study.report(t, {"loss": value}, budget=1)
    assert verdict.decision is Decision.STOP and "non-finite" in verdict.reason
    trial = study.trials[t]
    assert trial.status is TrialStatus.STOPPED and trial.loss == math.inf
    reopened = Study.open(tmp_path)  # the value survives the journal (as a JSON string)
    got = reopened.trials[t].observations[0].metrics["loss"]
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_tell_statuses_and_failures():
    study = Study(SPACE, "loss", method="random", seed=0)
    t = study.ask().trial_id
    assert study.fail(t, "Traceback: boom").status is TrialStatus.FAILED
    t = study.ask().trial_id
    assert study.tell(t).reason == "completed without any result"
    with pytest.raises(ValueError, match="terminal status"):
        study.tell(study.ask().trial_id, status="running")


def test_enqueue_validates_and_is_evaluated_first(tmp_path):
    study = Study(SPACE, "loss", method="random", seed=0, storage=tmp_path)
    with pytest.raises(InvalidConfigError, match="'x': value 2.0 is outside"):
        study.enqueue({"x": 2.0, "n": 1})
    study.enqueue({"x": 0.3, "n": 2})
    ticket = study.ask()
    assert ticket.config == {"x": 0.3, "n": 2}
    study.tell(ticket.trial_id, {"loss": 0.0})
    assert Study.open(tmp_path).trials[0].config == {"x": 0.3, "n": 2}


def test_journal_is_durable_when_tell_returns(tmp_path):
    study = Study(SPACE, "loss", method="random", seed=0, storage=tmp_path)
    t = study.ask().trial_id
    study.tell(t, {"loss": 0.25})
    lines = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert lines[-2]["e"] == "report" and lines[-2]["m"] == {"loss": 0.25}
    assert lines[-1] == {**lines[-1], "e": "end", "t": t, "s": "completed"}


@pytest.mark.parametrize("method", ["random", "sh", "hyperband", "asha",
                                    ASHA(variant="stopping"), ASHA(brackets=3),
                                    Hyperband(convention="hpbandster"), "dehb",
                                    DEHB(mode="sync", target_rule="deferred")])
def test_replay_equals_live(method, tmp_path):
    """Reopening at any point and continuing gives exactly the uninterrupted decisions."""
    live_dir, copy_dir = tmp_path / "live", tmp_path / "copy"
    live = Study(SPACE, "loss", method=method, fidelity=FIDELITY, seed=5, storage=live_dir)
    drive(live, 150)
    shutil.copytree(live_dir, copy_dir)
    reopened = Study.open(copy_dir)
    assert {i: (t.status, t.observations) for i, t in reopened.trials.items()} == \
        {i: (t.status, t.observations) for i, t in live.trials.items()}
    assert drive(live, 400) == drive(reopened, 400)
    assert journal_decisions(live_dir) == journal_decisions(copy_dir)
    for study in (live, reopened):  # the active-trial index agrees with the trials
        assert study.active_ids() == [i for i, t in study.trials.items() if t.status.is_active]


def test_reopen_with_different_arguments_is_refused(tmp_path):
    Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=1, storage=tmp_path)
    with pytest.raises(StorageError, match=r"seed: journal 1 vs given 2"):
        Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=2, storage=tmp_path)
    with pytest.raises(StorageError, match=r"method: journal .*asha.* vs given .*hyperband"):
        Study(SPACE, "loss", method="hyperband", fidelity=FIDELITY, seed=1, storage=tmp_path)
    with pytest.raises(StorageError, match=r"fidelity"):
        Study(SPACE, "loss", method="asha", fidelity=Fidelity("epochs", 1, 9), seed=1,
              storage=tmp_path)
    other = SearchSpace([Float("x", 0.0, 2.0)])
    with pytest.raises(StorageError, match=r"space"):
        Study(other, "loss", method="asha", fidelity=FIDELITY, seed=1, storage=tmp_path)
    same = Study(SPACE, "loss", method="asha", fidelity=FIDELITY, storage=tmp_path)
    assert same.seed == 1  # seed=None adopts the recorded seed


def test_a_journal_written_before_a_method_gained_an_option_still_matches(tmp_path):
    """Options added later (here DE's boundary / target_rule) take their defaults when the
    journal's method is rebuilt, so the same method by name is not refused."""
    Study(SPACE, "loss", method="de", seed=1, storage=tmp_path)
    path = tmp_path / "journal.jsonl"
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    for old in ("boundary", "target_rule"):
        del header["method"]["params"][old]
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    assert Study(SPACE, "loss", method="de", seed=1, storage=tmp_path).method.boundary == "random"
    with pytest.raises(StorageError, match=r"method: journal .*population.* vs given"):
        Study(SPACE, "loss", method=_de(30), seed=1, storage=tmp_path)


def _de(population):
    from schedulers import DE
    return DE(population=population)


def test_a_diverging_replay_is_detected(tmp_path):
    study = Study(SPACE, "loss", method=ASHA(eta=3), fidelity=FIDELITY, seed=1,
                  storage=tmp_path)
    drive(study, 60)
    header_path = tmp_path / "journal.jsonl"
    lines = header_path.read_text().splitlines()
    header = json.loads(lines[0])
    header["method"]["params"]["eta"] = 2  # as if reopened with other options
    header_path.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    with pytest.raises(ReplayError, match="replay diverged"):
        Study.open(tmp_path)


def test_read_only_open(tmp_path):
    study = Study(SPACE, "loss", method="hyperband", fidelity=FIDELITY, seed=1,
                  storage=tmp_path)
    drive(study, 100)
    view = Study.open(tmp_path, read_only=True)
    assert view.best().id == study.best().id and len(view) == len(study)
    with pytest.raises(StorageError, match="read-only"):
        view.ask()


def test_reopen_by_path_from_another_process(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path.parent.parent)!r})
        from hpo import Study
        from tests.hpo.helpers import SPACE, FIDELITY, drive
        study = Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=3,
                      storage={str(tmp_path / 's')!r})
        drive(study, 120)
        print(len(study), study.best().id)
    """)
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", script.replace(
        repr(str(tmp_path.parent.parent)), repr(str(root)))], capture_output=True, text=True,
        timeout=120)
    assert out.returncode == 0, out.stderr
    n, best = map(int, out.stdout.split())
    study = Study.open(tmp_path / "s")
    assert len(study) == n and study.best().id == best


def _worker(directory, results):
    study = Study.open(directory)
    done = []
    for _ in range(40):
        ticket = study.ask()
        study.tell(ticket.trial_id, {"loss": curve(ticket.config, 27)}, budget=27)
        done.append(ticket.trial_id)
    results.put(done)


def test_two_processes_share_one_study(tmp_path):
    import multiprocessing

    Study(SPACE, "loss", method="random", fidelity=FIDELITY, seed=0, storage=tmp_path)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(tmp_path, results)) for _ in range(2)]
    for p in procs:
        p.start()
    ids = results.get(timeout=120) + results.get(timeout=120)
    for p in procs:
        p.join(60)
    assert sorted(ids) == list(range(80))  # every trial handed out exactly once
    study = Study.open(tmp_path)
    assert len(study) == 80
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials.values())

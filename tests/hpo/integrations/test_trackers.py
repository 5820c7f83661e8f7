"""Loop callbacks and the TensorBoard / MLflow / W&B trackers, on real ASHA studies."""

from __future__ import annotations

import glob
import json
import re
import struct
import warnings
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

import hpo
from hpo import Fidelity, HPOWarning
from hpo.execution.callbacks import Callback, CallbackError
from tests.hpo.helpers import SPACE, curve

FIDELITY = Fidelity("epochs", 1, 9)


def objective(trial):
    """Resumable: continues from the budget it was paused at (bytes checkpoint)."""
    epoch = int(trial.load_checkpoint() or b"0")
    while epoch < trial.max_budget:
        epoch += 1
        verdict = trial.report({"loss": curve(trial.config, epoch), "acc": 1.0 / epoch},
                               budget=epoch, checkpoint=lambda e=epoch: str(e).encode())
        if verdict.should_stop:
            return


def asha(tmp_path, callbacks, max_budget=50, **kwargs):
    return hpo.tune(objective, SPACE, method="asha", fidelity=FIDELITY, max_budget=max_budget,
                    seed=1, storage=tmp_path / "study", callbacks=callbacks, **kwargs)


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_run_start(self, study):
        self.events.append(("run_start",))

    def on_trial_start(self, trial):
        self.events.append(("start", trial.id, trial.budget))

    def on_report(self, trial, obs):
        assert obs in trial.observations  # the journal already holds it
        self.events.append(("report", trial.id, obs.budget))

    def on_trial_end(self, trial):
        assert trial.status.is_terminal
        self.events.append(("end", trial.id, trial.status.value))

    def on_run_end(self, study):
        self.events.append(("run_end",))


def recorded(study):
    return Counter((t.id, o.budget) for t in study.trials.values() for o in t.observations)


def test_callbacks_see_every_recorded_report_and_each_end_once(tmp_path):
    rec = Recorder()
    result = asha(tmp_path, [rec])
    study = result.study
    events = rec.events
    assert events[0] == ("run_start",) and events[-1] == ("run_end",)
    reports = Counter((e[1], e[2]) for e in events if e[0] == "report")
    assert reports == recorded(study)  # exactly the journal's observations, once each
    ends = Counter(e[1] for e in events if e[0] == "end")
    terminal = {t.id for t in study.trials.values() if t.status.is_terminal}
    assert set(ends) == terminal and set(ends.values()) == {1}
    resumed = [e for e in events if e[0] == "start" and e[2] > 0]
    assert resumed, "ASHA resumed no paused trial: the test has no power"
    for _, tid, budget in resumed:  # a resume starts at the budget it was paused at
        first = next(e for e in events[events.index(("start", tid, budget)):]
                     if e[0] == "report" and e[1] == tid)
        assert first[2] > budget


def test_a_raising_callback_is_a_warning_and_loses_nothing(tmp_path):
    class Broken(Callback):
        def on_report(self, trial, obs):
            raise OSError("disk full")

        def on_trial_end(self, trial):
            raise RuntimeError("tracker down")

    rec = Recorder()
    with pytest.warns(HPOWarning, match="disk full"):
        result = asha(tmp_path, [Broken(), rec])
    reference = asha(tmp_path / "ref", None)
    assert recorded(result.study) == recorded(reference.study)
    assert Counter((e[1], e[2]) for e in rec.events if e[0] == "report") \
        == recorded(result.study)


@pytest.mark.parametrize("bad", ["tb", Callback, object(), Recorder()])
def test_bad_callbacks_are_refused_naming_the_value(tmp_path, bad):
    with pytest.raises(CallbackError, match="callback"):
        asha(tmp_path, bad)


def test_callbacks_with_workers(tmp_path):
    rec = Recorder()
    result = asha(tmp_path, [rec], workers=2)
    assert Counter((e[1], e[2]) for e in rec.events if e[0] == "report") \
        == recorded(result.study)


# -- the trackers ------------------------------------------------------------------------------
def test_tensorboard_event_files_hold_the_reports(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from hpo.integrations.trackers import TensorBoardLogger

    result = asha(tmp_path, [TensorBoardLogger(tmp_path / "tb")], max_budget=20)
    for trial in result.study.trials.values():
        acc = EventAccumulator(str(tmp_path / "tb" / f"trial_{trial.id}"))
        acc.Reload()
        losses = [(s.step, s.value) for s in acc.Scalars("loss")]
        assert losses == [(int(o.budget), pytest.approx(o.metrics["loss"]))
                          for o in trial.observations]
        assert [s.step for s in acc.Scalars("hpo/budget")] == [o.budget
                                                               for o in trial.observations]


def test_mlflow_file_store_holds_the_reports(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow import MlflowClient

    from hpo.integrations.trackers import MLflowLogger

    uri = (tmp_path / "mlruns").as_uri()
    result = asha(tmp_path, [MLflowLogger(uri, experiment="asha")], max_budget=20)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("asha")
    runs = {r.data.tags["hpo.trial"]: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {str(t) for t in result.study.trials}
    for trial in result.study.trials.values():
        run = runs[str(trial.id)]
        history = client.get_metric_history(run.info.run_id, "loss")
        assert sorted((m.step, m.value) for m in history) == [
            (int(o.budget), pytest.approx(o.metrics["loss"])) for o in trial.observations]
        assert run.data.params["x"] == str(trial.config["x"])
        if trial.status.is_terminal:
            assert run.info.status in ("FINISHED", "KILLED")
        run_dir = tmp_path / "mlruns" / experiment.experiment_id / run.info.run_id
        assert (run_dir / "metrics" / "loss").read_text().count("\n") >= len(trial.observations)


def wandb_records(run_file):
    """The records of a W&B ``.wandb`` file (its LevelDB-style record log)."""
    from wandb.proto import wandb_internal_pb2 as pb

    raw, pos, pending, records = Path(run_file).read_bytes(), 7, b"", []
    assert raw[:4] == b":W&B"
    while pos + 7 <= len(raw):
        left = 32768 - pos % 32768
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", raw[pos:pos + 7])
        pos += 7
        if kind == 0 and length == 0:
            pos += left - 7
            continue
        pending, pos = pending + raw[pos:pos + length], pos + length
        if kind in (1, 4):  # FULL or LAST
            record = pb.Record()
            record.ParseFromString(pending)
            pending = b""
            records.append(record)
    return records


def wandb_history(records):
    """The ``history`` rows among W&B ``records``, as dicts."""
    return [{i.key or "/".join(i.nested_key): json.loads(i.value_json)
             for i in record.history.item}
            for record in records if record.WhichOneof("record_type") == "history"]


def test_wandb_options_are_checked_naming_the_value():
    pytest.importorskip("wandb")
    from hpo.integrations.trackers import WandbLogger

    for bad in ({"mode": "cloud"}, {"entity": ""}, {"tags": "ci"}, {"tags": ["ok", 3]}):
        with pytest.raises(hpo.IntegrationError, match=re.escape(repr(next(iter(bad.values()))))):
            WandbLogger("p", **bad)


@pytest.mark.slow  # W&B starts a service process per run (about 10 s)
def test_wandb_offline_runs_hold_the_reports(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    from hpo.integrations.trackers import WandbLogger

    space = hpo.SearchSpace([hpo.Float("x", 0.0, 1.0), hpo.Int("n", 1, 4)])
    result = hpo.tune(objective, space, method="asha", fidelity=Fidelity("epochs", 1, 3),
                      max_trials=2, seed=0, storage=tmp_path / "study",
                      callbacks=[WandbLogger("scaletune-test", dir=tmp_path / "wb", tags=["ci"])])
    for trial in result.study.trials.values():
        files = glob.glob(str(tmp_path / "wb" / "wandb" / f"offline-run-*-study-{trial.id}"
                              / "*.wandb"))
        assert files, f"no offline W&B run for trial {trial.id}"
        records = [r for f in files for r in wandb_records(f)]
        rows = wandb_history(records)
        runs = [r.run for r in records if r.WhichOneof("record_type") == "run"]
        assert runs and all(list(run.tags) == ["ci"] for run in runs)
        assert [(r["_step"], r["loss"]) for r in rows] == [
            (int(o.budget), pytest.approx(o.metrics["loss"])) for o in trial.observations]


@pytest.fixture
def ray_tune():
    """``ray.tune``, imported with the stdlib ``random`` state restored (Ray's import draws)."""
    import random

    state = random.getstate()
    try:
        return pytest.importorskip("ray.tune")
    finally:
        random.setstate(state)


def test_ray_adapter_forwards_ray_trials(tmp_path, ray_tune):
    """The ``ray.tune.Callback`` adapter, driven as Ray's driver loop calls it."""
    pytest.importorskip("tensorboard")
    from ray.tune import Callback as RayCallback
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from hpo.integrations.ray_trackers import RayTracker
    from hpo.integrations.trackers import TensorBoardLogger

    adapter = RayTracker(TensorBoardLogger(tmp_path / "tb"))
    assert isinstance(adapter, RayCallback)
    trials = [SimpleNamespace(trial_id="a1", config={"lr": 0.1, "net": {"width": 8}}),
              SimpleNamespace(trial_id="b2", config={"__hpo_trial_id__": 7, "lr": 0.2})]
    adapter.setup(experiment_name="exp")
    for trial in trials:
        adapter.on_trial_start(0, trials, trial)
    for it in (1, 2, 3):
        for trial in trials:
            adapter.on_trial_result(it, trials, trial, {"loss": 1.0 / it, "training_iteration":
                                                        it, "time_total_s": 0.1, "done": False})
    adapter.on_trial_complete(3, trials, trials[0])
    adapter.on_trial_error(3, trials, trials[1])
    adapter.on_experiment_end(trials)
    for folder in ("a1", "trial_7"):
        acc = EventAccumulator(str(tmp_path / "tb" / folder))
        acc.Reload()
        assert [(s.step, s.value) for s in acc.Scalars("loss")] == [
            (1, 1.0), (2, 0.5), (3, pytest.approx(1 / 3))]
        assert "time_total_s" not in acc.Tags()["scalars"]


def test_ray_adapter_errors_are_warnings(tmp_path, ray_tune):
    from hpo.integrations.ray_trackers import RayTracker
    from hpo.integrations.trackers import Tracker

    class Down(Tracker):
        def _open(self, key, name, config):
            raise ConnectionError("no server")

    adapter = RayTracker(Down())
    trial = SimpleNamespace(trial_id="t", config={})
    with pytest.warns(HPOWarning, match="no server"):
        adapter.on_trial_result(1, [trial], trial, {"loss": 1.0, "training_iteration": 1})
    with pytest.raises(hpo.IntegrationError, match="42"):
        RayTracker(42)


def test_tune_refuses_callbacks_with_the_ray_backend(tmp_path):
    with pytest.raises(hpo.IntegrationError, match="RayTracker"):
        asha(tmp_path, [Recorder()], backend="ray")


def test_trackers_need_their_framework(monkeypatch, tmp_path):
    import sys

    from hpo.integrations.trackers import MLflowLogger

    monkeypatch.setitem(sys.modules, "mlflow", None)
    with warnings.catch_warnings(), pytest.raises(hpo.IntegrationError, match="mlflow"):
        MLflowLogger(tmp_path.as_uri())


def test_the_callback_base_is_exported_as_documented():
    import hpo

    seen = []

    class Printer(hpo.Callback):
        def on_report(self, trial, obs):
            seen.append((trial.id, obs.metrics["loss"]))

    def objective(trial):
        return (trial.config["x"] - 0.3) ** 2

    result = hpo.tune(objective, {"x": hpo.Float("x", 0.0, 1.0)}, max_trials=3, seed=0,
                      callbacks=[Printer()])
    assert hpo.Callback is Callback
    assert [tid for tid, _ in seen] == sorted(t.id for t in result.study.trials.values())

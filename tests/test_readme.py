"""Every ```python block of README.md runs as written (issue 14, item 15).

Each block runs as a script in a fresh interpreter in a temporary directory, after a prelude
that supplies what the README leaves to the user (``space``, ``train``, ``make_model``...) and
before an epilogue that checks what the block promises. A block matching no entry of ``FILLS``
runs with no prelude, so a new self-contained example is tested as it is.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

TRANSFER_EPILOGUE = """
assert advice.verdicts["lr"] == "transfers", advice.verdicts
assert abs(math.log2(advice.config["lr"]) + 8.0) < 1.0, advice.config
"""
CONDITIONAL_EPILOGUE = """
assert len(result.study) == 20
assert all(("momentum" in t.config) == (t.config["optimizer"] == "sgd")
           for t in result.study.trials.values())
"""
ONE_CALL_EPILOGUE = """
assert len(result.study) == 50 and result.best_value is not None
"""

MULTI_FIDELITY = """
import hpo
space = {"lr": hpo.Float("lr", 1e-3, 1.0, log=True)}

def make_model(config):
    return {"lr": config["lr"], "w": 5.0}

def train_one_epoch(model):
    model["w"] *= 1 - model["lr"] / 2
    return model["w"] ** 2
"""
MULTI_FIDELITY_EPILOGUE = """
if __name__ == "__main__":
    assert result.study.budget_used >= 81 * 50 and result.best_value is not None
    assert max(len(t.observations) for t in result.study.trials.values()) > 1
"""

ASK_TELL = """
import hpo
space = {"x": hpo.Float("x", 0.0, 1.0), "lr": hpo.Float("lr", 1e-4, 1e-1, log=True)}

def train(ticket, epoch):
    return 1 - (ticket.config["x"] - 0.3) ** 2 - 1 / (epoch + 1)
"""
ASK_TELL_EPILOGUE = """
assert study.trials[0].config == {"x": 0.3, "lr": 0.01}      # the enqueued config came first
assert study.active_ids() == [], study.active_ids()         # no trial left handed out
assert study.budget_used >= 27 * 30 and len(frame) > 0
"""

RAY_OBJECTIVE = """
import hpo
space = {"x": hpo.Float("x", 0.0, 1.0)}

def objective(trial):
    for epoch in range(int(trial.resume_from) + 1, trial.max_budget + 1):
        loss = (trial.config["x"] - 0.3) ** 2 + 1 / epoch
        if trial.report({"loss": loss}, budget=epoch).should_stop:
            return
"""
RAY_EPILOGUE = """
assert result.best_value is not None and result.study.budget_used >= 2000
"""

RAY_TUNER = """
import json
import os
import tempfile

from ray import tune as _tune
from ray.tune import Checkpoint

param_space = {"x": _tune.uniform(0.0, 1.0), "model": {"depth": _tune.randint(1, 4)}}

def train_fn(config):
    start, checkpoint = 0, _tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as directory:
            with open(os.path.join(directory, "state.json")) as f:
                start = json.load(f)["epoch"]
    for epoch in range(start + 1, 28):
        loss = (config["x"] - 0.3) ** 2 * config["model"]["depth"] + 1 / epoch
        with tempfile.TemporaryDirectory() as directory:
            with open(os.path.join(directory, "state.json"), "w") as f:
                json.dump({"epoch": epoch}, f)
            _tune.report({"loss": loss, "epoch": epoch},
                         checkpoint=Checkpoint.from_directory(directory))
"""
RAY_TUNER_EPILOGUE = """
assert len(study) == 12 and study.best() is not None
assert study.space.names == ["x", "model/depth"]
"""


OWN_BUDGET_EPILOGUE = """
trials = list(study.trials.values())
assert len(trials) == 12 and all(t.budget <= t.config["epochs"] for t in trials)
assert any(t.budget < t.config["epochs"] for t in trials)  # some were stopped early
assert all(t.status.is_terminal for t in trials)
"""

#: a substring identifying a block -> (prelude, epilogue, marks, timeout in seconds)
FILLS = {
    'method="random", max_trials=50': ("", ONE_CALL_EPILOGUE, [], 120),
    "trial.load_checkpoint()": (MULTI_FIDELITY, MULTI_FIDELITY_EPILOGUE, [pytest.mark.slow],
                                300),
    'budget_param="epochs"': ("", OWN_BUDGET_EPILOGUE, [], 120),
    "study.enqueue(": (ASK_TELL, ASK_TELL_EPILOGUE, [], 120),
    'method="transfer"': ("", TRANSFER_EPILOGUE, [pytest.mark.slow], 600),
    'method="bo", max_trials=20': ("", CONDITIONAL_EPILOGUE, [], 300),
    'backend="ray"': (RAY_OBJECTIVE, RAY_EPILOGUE, [pytest.mark.ray, pytest.mark.slow], 600),
    "ray_components": (RAY_TUNER, RAY_TUNER_EPILOGUE, [pytest.mark.ray, pytest.mark.slow], 600),
}


def readme_blocks() -> list[tuple[int, str]]:
    """``(line number, code)`` of every python block of README.md."""
    text = (ROOT / "README.md").read_text()
    return [(text[:m.start()].count("\n") + 1, m.group(1)) for m in BLOCK.finditer(text)]


def _cases() -> list:
    cases = []
    for line, code in readme_blocks():
        keys = [key for key in FILLS if key in code]
        assert len(keys) <= 1, f"README.md:{line} matches several FILLS entries: {keys}"
        prelude, epilogue, marks, timeout = FILLS[keys[0]] if keys else ("", "", [], 120)
        cases.append(pytest.param(code, prelude, epilogue, timeout, marks=marks,
                                  id=f"README.md:{line}"))
    return cases


def test_the_readme_has_the_documented_blocks():
    codes = [code for _, code in readme_blocks()]
    assert len(codes) >= 5
    for key in FILLS:
        assert any(key in code for code in codes), f"no README block contains {key!r} any more"


@pytest.mark.timeout(660)
@pytest.mark.parametrize("code, prelude, epilogue, timeout", _cases())
def test_readme_block_runs_as_written(tmp_path, code, prelude, epilogue, timeout):
    script = tmp_path / "readme_block.py"
    script.write_text(f"{prelude}\n# --- README block ---\n{code}\n# --- checks ---\n{epilogue}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, text=True,
                         capture_output=True, timeout=timeout)
    assert out.returncode == 0, f"README block failed:\n{code}\n--- stderr ---\n{out.stderr}"

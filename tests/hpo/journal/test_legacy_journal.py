"""A journal written before the hpo/ subpackage move (commit 3f66cc5) reopens and replays."""

import json
import shutil
from pathlib import Path

import hpo

FIXTURE = Path(__file__).with_name("fixtures") / "legacy_v1_asha"


def test_pre_move_journal_reopens_and_replays(tmp_path):
    expected = json.loads((FIXTURE / "expected.json").read_text())
    shutil.copy(FIXTURE / "journal.jsonl", tmp_path / "journal.jsonl")
    study = hpo.Study.open(tmp_path)  # replays every decision through a fresh ASHA
    assert len(study.trials) == expected["n_trials"]
    assert {str(i): t.status.value for i, t in study.trials.items()} == expected["statuses"]
    assert study.best().id == expected["best_id"]
    assert study.budget_used == expected["budget_used"]
    assert study.cost_used == expected["cost_used"]
    nxt = []
    for _ in range(3):  # the decisions after reopening equal those measured before the move
        ticket = study.ask()
        nxt.append([ticket.trial_id, dict(ticket.config), ticket.budget, ticket.resume_from])
        study.report(ticket.trial_id, {"loss": 1.0}, budget=ticket.budget)
    assert nxt == expected["next_configs"]


def test_pre_move_journal_reads_read_only():
    study = hpo.Study.open(FIXTURE, read_only=True)
    assert study.read_only and len(study.trials) == 26

"""Issue #14 item 5: without a fidelity, a driver dying between a trial's report and its end
must not record the result twice after resume."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import hpo
from tests.hpo.execution.local_objectives import dies_after_its_report
from tests.hpo.helpers import SPACE

ROOT = Path(__file__).resolve().parents[3]


def test_reported_orphan_is_ended_not_rerun(tmp_path):
    script = textwrap.dedent(f"""
        import hpo
        from tests.hpo.execution.local_objectives import dies_after_its_report
        from tests.hpo.helpers import SPACE
        hpo.tune(dies_after_its_report, SPACE, max_trials=5, seed=1, storage={str(tmp_path)!r},
                 progress=False)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HPO_TEST_DIE": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 3  # died right after trial 2's report
    before = hpo.Study.open(tmp_path, read_only=True).trials[2]
    assert before.status is hpo.TrialStatus.RUNNING and len(before.observations) == 1
    result = hpo.tune(dies_after_its_report, SPACE, max_trials=5, seed=1, storage=tmp_path,
                      progress=False)
    trial = result.study.trials[2]
    assert trial.status is hpo.TrialStatus.COMPLETED and len(trial.observations) == 1
    assert [len(t.observations) for t in result.study.trials.values()] == [1] * 5

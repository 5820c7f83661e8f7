"""Tune on a running cluster as the README documents it: token authentication on (a token
from ``ray get-auth-token --generate``, ``RAY_AUTH_MODE=token`` on the head and the submitter),
``ray job submit`` a tuning script, read its results back from the study journal; without the
token the submission is refused and ``hpo.tune(ray_address=...)`` explains why."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from hpo import Study
from hpo.core.trial import TrialStatus

pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
DRIVER = Path(__file__).with_name("ray_driver.py")
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def head_node():
    """A head node on 127.0.0.1 with the job server (dashboard); torn down afterwards."""
    temp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's socket paths are limited
    port, dashboard = free_port(), free_port()
    home = Path(temp) / "home"  # the token goes to $HOME/.ray/auth_token: not the user's own
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "RAY_AUTH_MODE": "token"}
    for name in ("RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        env.pop(name, None)
    subprocess.run([RAY, "get-auth-token", "--generate"], env=env, check=True,
                   capture_output=True, timeout=120)
    token = (home / ".ray" / "auth_token").read_text().strip()
    proc = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
         f"--dashboard-port={dashboard}", f"--temp-dir={temp}", "--disable-usage-stats"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(urllib.request.Request(
                        f"{url}/api/version", headers={"Authorization": f"Bearer {token}"}),
                        timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, "ray start --head exited"
                time.sleep(0.5)
        else:
            pytest.fail("the head node's job server did not come up within 120 s")
        yield url, env, port
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the head and every process it started
        proc.wait(30)
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_job_submit_runs_a_tuning_script_on_the_cluster(head_node, tmp_path):
    url, env, port = head_node
    storage, log = tmp_path / "study", tmp_path / "evals.log"
    job = ["--", sys.executable, str(DRIVER), str(ROOT), str(storage), "asha", "81", str(log),
           "auto"]
    # as the README used to write it (no RAY_AUTH_MODE=token): refused, with Ray's reason
    plain = {k: v for k, v in env.items() if k != "RAY_AUTH_MODE"}
    refused = subprocess.run([RAY, "job", "submit", "--address", url, *job], env=plain,
                             capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode != 0
    assert "Missing authentication token" in refused.stdout + refused.stderr
    # the documented recipe
    done = subprocess.run([RAY, "job", "submit", "--address", url, *job], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "succeeded" in done.stdout + done.stderr
    assert "BEST" in done.stdout  # the job's output streams back to the submitter
    study = Study.open(storage, read_only=True)  # the results, read back from the journal
    assert study.budget_used >= 81
    assert study.best() is not None
    assert study.counts()[TrialStatus.FAILED] == 0
    assert len(study.trials) >= 5
    # hpo.tune(ray_address=...) from a process without the token: a hint, not a bare failure
    script = ("import hpo; hpo.tune(lambda t: 0.0, {'x': hpo.Float('x', 0, 1)}, max_trials=1, "
              f"backend='ray', ray_address='127.0.0.1:{port}')")
    stranger = {**plain, "HOME": str(tmp_path)}
    failed = subprocess.run([sys.executable, "-c", script], env=stranger, cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert failed.returncode != 0
    assert "IntegrationError: could not connect to the Ray cluster" in failed.stderr
    assert "RAY_AUTH_MODE=token" in failed.stderr, failed.stderr[-2000:]

"""Tune on a running cluster: ``ray start --head`` on loopback, ``ray job submit`` a tuning
script, read its results back from the study journal."""

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
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
         f"--dashboard-port={dashboard}", f"--temp-dir={temp}", "--disable-usage-stats"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{dashboard}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/version", timeout=2):
                break
        except OSError:
            assert proc.poll() is None, "ray start --head exited"
            time.sleep(0.5)
    else:
        pytest.fail("the head node's job server did not come up within 90 s")
    try:
        yield url, env
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the head and every process it started
        proc.wait(30)
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_job_submit_runs_a_tuning_script_on_the_cluster(head_node, tmp_path):
    url, env = head_node
    storage, log = tmp_path / "study", tmp_path / "evals.log"
    done = subprocess.run(
        [RAY, "job", "submit", "--address", url, "--", sys.executable, str(DRIVER), str(ROOT),
         str(storage), "asha", "81", str(log), "auto"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "succeeded" in done.stdout + done.stderr
    assert "BEST" in done.stdout  # the job's output streams back to the submitter
    study = Study.open(storage, read_only=True)  # the results, read back from the journal
    assert study.budget_used >= 81
    assert study.best() is not None
    assert study.counts()[TrialStatus.FAILED] == 0
    assert len(study.trials) >= 5

"""The dashboard in a real headless browser (Debian's Chromium driven by Playwright).

The page must load, show the trial count of a study that another thread is still writing, and
update without a reload. Skipped when Chromium or Playwright is not installed::

    apt-get install -y chromium          # /usr/bin/chromium
    pip install playwright               # never `playwright install`: it uses that Chromium
"""

from __future__ import annotations

import os
import random
import shutil
import threading

import pytest

pytest.importorskip("flask")
pytest.importorskip("plotly")

CHROMIUM = os.environ.get("HPO_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    state = random.getstate()  # Playwright draws from the global `random` (trace ids); the
    try:                        # conftest check is about scaletune's code, so restore it
        with sync_api.sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
                args=FLAGS, viewport={"width": 1400, "height": 1000})
            try:
                yield context.new_page()
            finally:
                context.close()
    finally:
        random.setstate(state)


def test_dashboard_follows_a_study_being_written(tmp_path, browser_page):
    from hpo.analysis.dashboard import DashboardServer
    from tests.hpo.analysis.studies import asha_study, run_trials

    built = asha_study(tmp_path / "live", n_tickets=6, fail_every=4, leave_running=False)
    first = len(built.study.trials)
    go, done, errors = threading.Event(), threading.Event(), []

    def writer():  # another writer keeps appending while the page is open
        try:
            go.wait(30)
            for _ in range(3):
                run_trials(built, 2)
                if done.wait(0.2):
                    return
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    page = browser_page
    with DashboardServer(built.path, port=0, interval_s=0.3) as server:
        try:
            page.goto(server.url, wait_until="load", timeout=60_000)
            assert page.title().startswith("study ")
            assert int(page.text_content("#trial-count")) == first
            page.wait_for_selector("#fig-curves .main-svg", timeout=60_000)  # plotly drew it
            go.set()
            page.wait_for_function(
                f"Number(document.getElementById('trial-count').textContent) > {first}",
                timeout=60_000)
            thread.join(30)
            assert not errors, errors
            total = len(built.study.trials)
            page.wait_for_function(
                f"Number(document.getElementById('trial-count').textContent) == {total}",
                timeout=60_000)
            rows = page.locator("#trials tbody tr").count()
            assert rows == total
            assert "live" in page.text_content("#live")
            page.click("#trials thead a:text('budget')")  # sort on the server
            page.wait_for_url("**sort=budget**")
            page.click("#trials tbody tr:first-child a")
            page.wait_for_selector("#fig-trial .main-svg", timeout=60_000)
            assert page.text_content("#trial-status") in {"paused", "completed", "stopped",
                                                          "failed", "running", "pending"}
        finally:
            done.set()
            go.set()
            thread.join(30)

"""The dashboard app through Flask's test client: pages, live state, sorting, read-only."""

from __future__ import annotations

import json
import re
import time

import pytest

pytest.importorskip("flask")
pytest.importorskip("plotly")

from hpo.analysis.dashboard import FIGURE_KINDS, DashboardServer, create_app  # noqa: E402
from tests.hpo.analysis.studies import FAIL_REASON, asha_study, run_trials  # noqa: E402


@pytest.fixture(scope="module")
def client(asha):
    return create_app(asha.path).test_client()


def _table_ids(html):
    table = html[html.index('<table id="trials"'):]
    table = table[:table.index("</table>")]
    return [int(t) for t in re.findall(r'<tr data-trial="(\d+)"', table)]


def test_page_shows_the_study(asha, client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    n = len(asha.study.trials)
    assert f'<b id="trial-count">{n}</b>' in html
    assert sorted(_table_ids(html)) == list(range(n))
    assert '<script src="/plotly.min.js">' in html
    for kind in FIGURE_KINDS:
        assert f'id="fig-{kind}"' in html
    escaped = FAIL_REASON.replace("<", "&lt;").replace(">", "&gt;")
    assert html.count(escaped) == 2 * len(asha.failed)  # in the table and under Failures
    assert FAIL_REASON not in html
    assert f"Failures ({len(asha.failed)})" in html


def test_state_api_sends_figures_only_when_the_journal_changed(asha, client):
    state = client.get("/api/state?v=-1").get_json()
    assert state["trials"] == len(asha.study.trials)
    assert set(state["figures"]) == set(FIGURE_KINDS)
    deadline = time.monotonic() + 120
    while state["figures"]["importance"].get("error") == "importance: computing...":
        assert time.monotonic() < deadline  # computed in a background thread
        time.sleep(0.2)
        newer = client.get(f"/api/state?v={state['version']}").get_json()
        state = newer if "figures" in newer else state
    errors = {k: f["error"] for k, f in state["figures"].items() if "error" in f}
    assert not errors
    curves = state["figures"]["curves"]["data"]  # trials separated by gaps (null)
    assert sum(trace["y"].count(None) for trace in curves) == len(
        {e["t"] for e in asha.events("report") if e["m"]["loss"] != "NaN"})
    same = client.get(f"/api/state?v={state['version']}").get_json()
    assert same["version"] == state["version"] and "figures" not in same and "html" not in same
    summary = client.get("/api/summary").get_json()
    assert summary["counts"] == asha.study.counts()


def test_table_sorts_on_the_server(asha, client):
    rows = {t.id: t for t in asha.study.trials.values()}
    html = client.get("/?sort=budget&desc=1").get_data(as_text=True)
    ids = _table_ids(html)
    assert [rows[i].budget for i in ids] == sorted((t.budget for t in rows.values()),
                                                   reverse=True)
    html = client.get("/api/state?v=-1&sort=value").get_json()["html"]["table"]
    ids = _table_ids(html)
    finite = [i for i in ids if rows[i].observations and rows[i].loss < float("inf")]
    assert [rows[i].loss for i in finite] == sorted(rows[i].loss for i in finite)
    assert set(ids[len(finite):]) == {i for i in rows if i not in finite}  # no value: last
    assert _table_ids(client.get("/?sort=bogus").get_data(as_text=True)) == sorted(rows)


def test_trial_pages(asha, client):
    failed = asha.failed[0]
    html = client.get(f"/trial/{failed}").get_data(as_text=True)
    assert '<b id="trial-status">failed</b>' in html
    assert FAIL_REASON.replace("<", "&lt;").replace(">", "&gt;") in html
    assert "Configuration" in html and "lr" in html
    state = client.get(f"/api/trial/{failed}?v=-1").get_json()
    (objective,) = [t for t in state["figures"]["trial"]["data"] if t["name"] == "loss"]
    assert len(objective["x"]) == len(asha.study.trials[failed].observations)
    assert client.get("/trial/999").status_code == 404
    assert "Plotly" in client.get("/plotly.min.js").get_data(as_text=True)[:5000]


def test_dashboard_is_read_only(tmp_path):
    built = asha_study(tmp_path / "s", n_tickets=6, leave_running=False)
    before = {p: p.stat().st_mtime_ns for p in built.path.rglob("*")}
    journal = (built.path / "journal.jsonl").read_bytes()
    client = create_app(built.path).test_client()
    for url in ("/", "/api/state?v=-1", "/trial/0", "/api/trial/0?v=-1", "/api/summary"):
        assert client.get(url).status_code == 200
    assert {p: p.stat().st_mtime_ns for p in built.path.rglob("*")} == before
    assert (built.path / "journal.jsonl").read_bytes() == journal
    run_trials(built, 3)  # the study goes on: the next poll sees it
    state = client.get("/api/state?v=-1").get_json()
    assert state["trials"] == len(built.study.trials)
    assert f'<b id="trial-count">{len(built.study.trials)}</b>' in state["html"]["summary"]


def test_server_on_a_free_port(asha):
    import urllib.request

    with DashboardServer(asha.path, port=0) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        with urllib.request.urlopen(server.url + "api/summary", timeout=10) as reply:
            assert json.load(reply)["trials"] == len(asha.study.trials)

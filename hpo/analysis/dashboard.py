"""A live, read-only dashboard of a study: ``hpo dashboard DIR [--port 8050]``.

A small Flask app (optional extra ``dashboard``) serves one page per study and one per trial.
Each request folds in what was appended to the journal since the last one
(:class:`~hpo.analysis.record.StudyRecord`, read-only: nothing is locked or written), so the
page follows a running study, a finished one, or one copied from a cluster. The figures are
Plotly figures built in Python (:mod:`hpo.analysis.figures`) and drawn by plotly.js, served from
the installed ``plotly`` package (no internet needed); the page's only script polls
``/api/state`` and swaps in what changed. The trial table sorts on the server (click a header).

Example::

    hpo dashboard runs/asha --port 8050      # then open http://127.0.0.1:8050/
"""

from __future__ import annotations

import datetime
import math
import os
import threading
import time
from typing import Any
from urllib.parse import urlencode

from hpo.analysis import _templates as tpl
from hpo.analysis import history as data
from hpo.analysis.history import KINDS
from hpo.analysis.record import AnalysisError, StudyRecord, require

#: figures the study page shows, in order
FIGURE_KINDS = KINDS
_SLOW = {"importance": 10.0}  # kind -> seconds between recomputations while the study grows
_LEFT = {"status", "decision", "reason"}


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _last_line(text: str, limit: int = 100) -> str:
    """The last line of a reason (a traceback's error line), at most ``limit`` characters."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    line = lines[-1].strip() if lines else ""
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _sort_key(column: str) -> Any:
    def key(row: dict[str, Any]) -> tuple[int, Any]:
        value = row.get(column)
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            return (2, 0)
        return (0, value) if isinstance(value, (int, float)) else (1, str(value))
    return key


class _FigureCache:
    """Plotly figure JSON per kind, recomputed when the journal grew. Slow kinds (importance)
    are computed in a background thread, at most every few seconds; :attr:`generation` counts
    their completions, so the page's version changes when one is ready."""

    def __init__(self, record: StudyRecord) -> None:
        self.record = record
        self.generation = 0
        self._cache: dict[tuple[str, str], tuple[int, float, dict[str, Any]]] = {}
        self._pending: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def version(self) -> str:
        return f"{self.record.n_events}.{self.generation}"

    def get(self, kind: str, option: str = "") -> dict[str, Any]:
        key, events = (kind, option), self.record.n_events
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and (hit[0] == events
                                    or time.monotonic() - hit[1] < _SLOW.get(kind, 0.0)):
                return hit[2]
            if kind in _SLOW:
                if key not in self._pending:
                    self._pending.add(key)
                    threading.Thread(target=self._background, args=(key, events), daemon=True,
                                     name=f"hpo-dashboard-{kind}").start()
                return hit[2] if hit is not None else {"error": f"{kind}: computing..."}
        out = self._compute(kind, option)
        with self._lock:
            self._cache[key] = (events, time.monotonic(), out)
        return out

    def _background(self, key: tuple[str, str], events: int) -> None:
        out = self._compute(*key)
        with self._lock:
            self._cache[key] = (events, time.monotonic(), out)
            self._pending.discard(key)
            self.generation += 1

    def _compute(self, kind: str, option: str) -> dict[str, Any]:
        from hpo.analysis import figures

        try:
            fig = figures.figure(self.record, kind, x=option if kind == "history" else None)
        except AnalysisError as err:
            return {"error": f"{kind}: {err}"}
        except Exception as err:  # one broken figure must not take the page down
            return {"error": f"{kind} failed: {type(err).__name__}: {err}"}
        spec = fig.to_plotly_json()
        return {"data": spec["data"], "layout": spec["layout"]}


def create_app(directory: str | os.PathLike[str], *, interval_s: float = 2.0) -> Any:
    """The Flask app of the study in ``directory`` (AnalysisError if it is not one)."""
    flask = require("flask", "dashboard")
    markup = require("markupsafe", "dashboard").Markup
    require("plotly", "dashboard")
    record = StudyRecord.open(directory)
    cache = _FigureCache(record)
    app = flask.Flask("hpo.dashboard")
    title = f"study {record.where}"
    fid = record.fidelity
    subtitle = (f"method {record.method_name} - {record.objective.direction.value} "
                f"{record.objective.metric}"
                + (f" - fidelity {fid.name} {fid.min:g}..{fid.max:g}" if fid else "")
                + f" - seed {record.header.get('seed')} - created {_when(record.created)}")

    def query(**changes: Any) -> str:
        args = {k: v for k, v in flask.request.args.items() if k != "v"}
        args.update({k: str(v) for k, v in changes.items()})
        return urlencode(args)

    def render(template: str, **context: Any) -> Any:
        return markup(flask.render_template_string(template, fmt=_fmt, when=_when, query=query,
                                                   **context))

    def study_blocks() -> tuple[dict[str, Any], dict[str, Any]]:
        args = flask.request.args
        x = args.get("x", "trials")
        rows = data.trial_rows(record)
        best = record.best()
        best_row = next((r for r in rows if best is not None and r["trial"] == best.id), None)
        summary = render(tpl.SUMMARY, n=len(rows), counts=record.counts(),
                         budget=record.budget_used, cost=record.cost_used,
                         best=best_row if best_row and not math.isnan(best_row["value"]) else
                         None, metric=record.objective.metric, axes=data.HISTORY_AXES, x=x)
        failed = [dict(r) for r in rows if r["status"] == "failed"]  # with their full reasons
        names = record.space.names if record.space is not None else []
        for row in rows:
            row.update({f"config/{k}": row["config"].get(k) for k in names})
            row["reason"] = _last_line(row["reason"])  # in full under Failures / on its page
        columns = ["trial", "status", "decision", "budget", "value", "best", "cost", "reports",
                   "promotions", *[f"config/{k}" for k in names], "reason"]
        sort = args.get("sort", "trial")
        sort = sort if sort in columns else "trial"
        desc = args.get("desc") == "1"
        present = [r for r in rows if _sort_key(sort)(r)[0] < 2]
        missing = [r for r in rows if _sort_key(sort)(r)[0] == 2]
        ordered = sorted(present, key=_sort_key(sort), reverse=desc) + missing
        limit = int(args.get("limit", "500")) if args.get("limit", "500").isdigit() else 500
        headers = [(col, query(sort=col, desc=int(col == sort and not desc)),
                    (" \u25bc" if desc else " \u25b2") if col == sort else "")
                   for col in columns]  # a click on the sorted column reverses it
        table = render(tpl.TABLE, rows=ordered[:limit], total=len(rows),
                       hidden=len(rows) > limit, headers=headers, left=_LEFT)
        return {"summary": summary}, {"table": table,
                                      "failures": render(tpl.FAILURES, failed=failed)}

    def trial_blocks(trial_id: int) -> dict[str, Any]:
        if trial_id not in record.trials:
            flask.abort(404, f"no trial {trial_id} in {record.where}")
        row = next(r for r in data.trial_rows(record) if r["trial"] == trial_id)
        trial = record.trials[trial_id]
        metrics = sorted({k for o in trial.observations for k in o.metrics})
        verdicts = record.verdicts.get(trial_id, [])
        names = {"c": "continue", "p": "pause", "s": "stop"}
        obs = [(o, names.get(verdicts[i], "") if i < len(verdicts) else "")
               for i, o in enumerate(trial.observations)]
        return {"meta": render(tpl.TRIAL, row=row, metric=record.objective.metric,
                               promotions=[f"{b:g}" for b in record.resumes.get(trial_id, [])]),
                "reports": render(tpl.REPORTS, obs=obs, metrics=metrics)}

    def as_json(out: dict[str, Any]) -> Any:  # NaN / inf as null: the browser parses strict JSON
        from plotly.io.json import to_json_plotly

        return flask.Response(to_json_plotly(out), mimetype="application/json")

    def page(heading: str, api: str, blocks: dict[str, Any], figures: list[str],
             after: dict[str, Any]) -> Any:
        return flask.render_template_string(
            tpl.PAGE, title=heading, subtitle=subtitle, blocks=blocks, figures=figures,
            after=after, api=api, interval_ms=int(interval_s * 1000))

    @app.get("/")
    def index() -> Any:
        record.refresh()
        blocks, after = study_blocks()
        return page(title, flask.url_for("study_state"), blocks, list(FIGURE_KINDS), after)

    @app.get("/api/state")
    def study_state() -> Any:
        record.refresh()
        version = cache.version()
        out: dict[str, Any] = {"version": version, "events": record.n_events,
                               "trials": len(record.trials)}
        if flask.request.args.get("v") != version:
            blocks, after = study_blocks()
            out["html"] = {k: str(v) for k, v in {**blocks, **after}.items()}
            x = flask.request.args.get("x", "trials")
            out["figures"] = {k: cache.get(k, x if k == "history" else "") for k in FIGURE_KINDS}
        return as_json(out)

    @app.get("/trial/<int:trial_id>")
    def trial_page(trial_id: int) -> Any:
        record.refresh()
        blocks = trial_blocks(trial_id)
        return page(f"trial {trial_id} of {title}",
                    flask.url_for("trial_state", trial_id=trial_id), {"meta": blocks["meta"]},
                    ["trial"], {"reports": blocks["reports"]})

    @app.get("/api/trial/<int:trial_id>")
    def trial_state(trial_id: int) -> Any:
        from hpo.analysis import figures

        record.refresh()
        version = str(record.n_events)
        out: dict[str, Any] = {"version": version, "events": record.n_events}
        if flask.request.args.get("v") != version:
            out["html"] = {k: str(v) for k, v in trial_blocks(trial_id).items()}
            fig = figures.trial_figure(record, trial_id).to_plotly_json()
            out["figures"] = {"trial": {"data": fig["data"], "layout": fig["layout"]}}
        return as_json(out)

    @app.get("/api/summary")
    def summary() -> Any:
        record.refresh()
        best = record.best()
        return flask.jsonify({"trials": len(record.trials), "counts": record.counts(),
                              "events": record.n_events, "budget_used": record.budget_used,
                              "cost_used": record.cost_used,
                              "best_trial": best.id if best is not None else None})

    @app.get("/plotly.min.js")
    def plotly_js() -> Any:
        from plotly.offline import get_plotlyjs

        return flask.Response(get_plotlyjs(), mimetype="application/javascript",
                              headers={"Cache-Control": "max-age=86400"})

    return app


class DashboardServer:
    """The dashboard served from a background thread (``port=0``: any free port).

    Example::

        with DashboardServer("runs/asha") as server:
            print(server.url)
    """

    def __init__(self, directory: str | os.PathLike[str], *, host: str = "127.0.0.1",
                 port: int = 8050, interval_s: float = 2.0) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:  # no line per poll
                pass

        app = create_app(directory, interval_s=interval_s)
        try:
            self._server = make_server(host, port, app, threaded=True, request_handler=Quiet)
        except OSError as err:
            raise AnalysisError(f"cannot serve the dashboard on {host}:{port}: "
                                f"{err.strerror or err}") from None
        self.host = host
        self.port = int(self._server.server_port)
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`close` (from another thread) or Ctrl-C."""
        self._serving = True
        self._server.serve_forever()

    def start(self) -> DashboardServer:
        """Serve from a daemon thread; returns self."""
        self._serving = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="hpo-dashboard")
        self._thread.start()
        return self

    def close(self) -> None:
        if self._serving:  # shutdown() waits for a serve_forever loop: only if one ran
            self._server.shutdown()
            self._serving = False
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

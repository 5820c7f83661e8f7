"""The journal's event vocabulary: one JSON object per line, a small closed set of kinds.

=========  ===================================================================================
kind       fields (short keys keep the journal small; every event also has ``"e"``)
=========  ===================================================================================
study      ``schema``, ``space``, ``objective``, ``fidelity``, ``method``, ``seed``,
           ``created``, ``version``, ``meta``, ``scaling`` (only for a scaling study) -- always
           the first line
start      ``t`` trial id, ``cfg`` config, ``b`` target budget, ``p`` parent id, ``sc`` scale,
           ``ts`` time, ``o`` owner ("host:pid"), ``x`` the searcher's decision record (state
           replay restores instead of refitting), ``px`` the searcher's own proposal when an
           enqueued config replaced it -- a scheduler ``Start``
resume     ``t``, ``b`` new target budget, ``ts``, ``o``, ``x`` decision record -- a
           scheduler ``Resume``
retire     ``t``, ``r`` reason, ``x`` decision record -- a scheduler ``Retire`` (PAUSED ->
           STOPPED)
report     ``t``, ``b`` budget, ``m`` metrics, ``c`` cumulative cost, ``ts``, ``v`` verdict
           (``"c"``, ``"p"``, ``"s"``), ``r`` reason -- a result and its verdict, atomically
end        ``t``, ``s`` status (completed / stopped / failed), ``r`` reason, ``ts`` -- ``tell``
enqueue    ``cfg`` -- a user config that the next ``Start`` evaluates instead of the searcher's
prior      ``obs`` a list of ``{cfg, b, l, m, src, c}`` (config, budget, loss, metrics, source,
           cost) -- other studies' results handed to the scheduler's ``add_prior`` (warm
           start); replayed at the same point
=========  ===================================================================================

Scheduler decisions (start, resume, retire, and the verdict inside report) are *checked* on
replay: the rebuilt scheduler must reproduce them, else :class:`~hpo.errors.ReplayError`.
Non-finite metric values are written as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
so that the journal stays strict JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hpo.core.decisions import Decision
from hpo.errors import StorageError

SCHEMA_VERSION = 1

_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # kind: (required, optional)
    "study": (frozenset({"schema", "space", "objective", "fidelity", "method", "seed"}),
              frozenset({"created", "version", "meta", "scaling"})),
    "start": (frozenset({"t", "cfg", "b"}), frozenset({"p", "sc", "ts", "o", "x", "px"})),
    "resume": (frozenset({"t", "b"}), frozenset({"ts", "o", "x"})),
    "retire": (frozenset({"t", "r"}), frozenset({"ts", "x"})),
    "report": (frozenset({"t", "b", "m", "c", "v"}), frozenset({"ts", "r"})),
    "end": (frozenset({"t", "s"}), frozenset({"r", "ts"})),
    "enqueue": (frozenset({"cfg"}), frozenset({"ts"})),
    "prior": (frozenset({"obs"}), frozenset({"ts"})),
}

VERDICT_CODES = {Decision.CONTINUE: "c", Decision.PAUSE: "p", Decision.STOP: "s"}
DECISIONS = {code: decision for decision, code in VERDICT_CODES.items()}

_NONFINITE_OUT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_metrics(metrics: dict[str, float]) -> dict[str, Any]:
    """Replace non-finite floats by their JSON-safe string names."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if value != value:
            out[key] = "NaN"
        elif value in (math.inf, -math.inf):
            out[key] = "Infinity" if value > 0 else "-Infinity"
        else:
            out[key] = value
    return out


def decode_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        out[key] = _NONFINITE_OUT[value] if isinstance(value, str) else value
    return out


def dumps(event: dict[str, Any]) -> bytes:
    """One journal line (strict JSON, trailing newline)."""
    return json.dumps(event, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


def check_event(event: Any, where: str) -> dict[str, Any]:
    """Validate the kind and fields of a decoded event.

    Raises:
        StorageError: not an object, unknown kind, a missing or unknown field.
    """
    if not isinstance(event, dict):
        raise StorageError(f"{where}: expected a JSON object, got {event!r:.80}")
    kind = event.get("e")
    spec = _FIELDS.get(kind)  # type: ignore[arg-type]
    if spec is None:
        raise StorageError(f"{where}: unknown event kind {kind!r}; expected one of "
                           f"{list(_FIELDS)}")
    required, optional = spec
    keys = event.keys() - {"e"}
    missing = required - keys
    if missing:
        raise StorageError(f"{where}: {kind} event lacks field(s) {sorted(missing)}")
    unknown = keys - required - optional
    if unknown:
        raise StorageError(f"{where}: {kind} event has unknown field(s) {sorted(unknown)}")
    for key in keys:
        check = _TYPES.get(key if kind != "study" else f"study.{key}")
        if check is not None and not check[0](event[key]):
            raise StorageError(f"{where}: {kind} event field {key!r} must be {check[1]}, got "
                               f"{event[key]!r:.80}")
    if kind == "report" and event["v"] not in DECISIONS:
        raise StorageError(f"{where}: report verdict 'v' must be one of {sorted(DECISIONS)}, "
                           f"got {event['v']!r:.40}")
    if kind == "end" and event["s"] not in ("completed", "stopped", "failed"):
        raise StorageError(f"{where}: end status 's' must be completed / stopped / failed, got "
                           f"{event['s']!r:.40}")
    return event


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_metric(v: Any) -> bool:
    return _is_num(v) or (isinstance(v, str) and v in _NONFINITE_OUT)


def _is_metrics(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and _is_metric(x) for k, x in v.items())


def _is_prior_row(v: Any) -> bool:
    return (isinstance(v, dict) and isinstance(v.get("cfg"), dict)
            and (v.get("b") is None or _is_num(v.get("b"))) and _is_metric(v.get("l"))
            and _is_metrics(v.get("m", {})) and isinstance(v.get("src", ""), str)
            and (v.get("c") is None or (_is_num(v.get("c")) and v["c"] >= 0)))


def _opt(check: Any) -> Any:
    return lambda v: v is None or check(v)


_TYPES: dict[str, tuple[Any, str]] = {
    # field: (check, what it must be); header fields are prefixed with "study."
    "t": (lambda v: _is_int(v) and v >= 0, "a trial id (an int >= 0)"),
    "cfg": (lambda v: isinstance(v, dict), "an object"),
    "b": (_opt(_is_num), "a number or null"),
    "p": (_opt(_is_int), "a trial id or null"),
    "sc": (lambda v: isinstance(v, dict), "an object"),
    "ts": (_is_num, "a number"),
    "o": (_opt(lambda v: isinstance(v, str)), "a string or null"),
    "x": (lambda v: isinstance(v, dict), "an object"),
    "px": (lambda v: isinstance(v, dict), "an object"),
    "r": (lambda v: isinstance(v, str), "a string"),
    "m": (_is_metrics, "an object of numbers"),
    "c": (lambda v: _is_num(v) and v >= 0, "a number >= 0"),
    "v": (lambda v: isinstance(v, str), "a verdict code"),
    "s": (lambda v: isinstance(v, str), "a status"),
    "obs": (lambda v: isinstance(v, list) and all(_is_prior_row(r) for r in v),
            "a list of {cfg, b, l, m, src, c} objects"),
    "study.schema": (_is_int, "an int"),
    "study.space": (lambda v: isinstance(v, dict), "an object"),
    "study.objective": (lambda v: isinstance(v, dict), "an object"),
    "study.fidelity": (_opt(lambda v: isinstance(v, dict)), "an object or null"),
    "study.method": (_opt(lambda v: isinstance(v, dict)), "an object or null"),
    "study.seed": (_is_int, "an int"),
    "study.meta": (_opt(lambda v: isinstance(v, dict)), "an object or null"),
    "study.scaling": (lambda v: isinstance(v, dict), "an object"),
}


def check_header(event: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate the first line: a study header with a schema this version can read."""
    if event.get("e") != "study":
        raise StorageError(f"{where}: the first journal line must be a study header, got "
                           f"a {event.get('e')!r} event")
    schema = event.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise StorageError(f"{where}: study header has no integer schema version: {schema!r}")
    if schema > SCHEMA_VERSION:
        raise StorageError(
            f"{where}: journal written with schema version {schema}, but this scaletune reads "
            f"schema <= {SCHEMA_VERSION}; upgrade scaletune to open it"
        )
    return check_event(event, where)

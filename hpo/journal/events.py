"""The journal's event vocabulary: one JSON object per line, a small closed set of kinds.

=========  ===================================================================================
kind       fields (short keys keep the journal small; every event also has ``"e"``)
=========  ===================================================================================
study      ``schema``, ``space``, ``objective``, ``fidelity``, ``method``, ``seed``,
           ``created``, ``version``, ``meta`` -- always the first line
start      ``t`` trial id, ``cfg`` config, ``b`` target budget, ``p`` parent id, ``sc`` scale,
           ``ts`` time, ``o`` owner ("host:pid") -- a scheduler ``Start``
resume     ``t``, ``b`` new target budget, ``ts``, ``o`` -- a scheduler ``Resume``
retire     ``t``, ``r`` reason -- a scheduler ``Retire`` (PAUSED -> STOPPED)
report     ``t``, ``b`` budget, ``m`` metrics, ``c`` cumulative cost, ``ts``, ``v`` verdict
           (``"c"``, ``"p"``, ``"s"``), ``r`` reason -- a result and its verdict, atomically
end        ``t``, ``s`` status (completed / stopped / failed), ``r`` reason, ``ts`` -- ``tell``
enqueue    ``cfg`` -- a user config that the next ``Start`` evaluates instead of the searcher's
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
              frozenset({"created", "version", "meta"})),
    "start": (frozenset({"t", "cfg", "b"}), frozenset({"p", "sc", "ts", "o"})),
    "resume": (frozenset({"t", "b"}), frozenset({"ts", "o"})),
    "retire": (frozenset({"t", "r"}), frozenset({"ts"})),
    "report": (frozenset({"t", "b", "m", "c", "v"}), frozenset({"ts", "r"})),
    "end": (frozenset({"t", "s"}), frozenset({"r", "ts"})),
    "enqueue": (frozenset({"cfg"}), frozenset({"ts"})),
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
        raise StorageError(f"{where}: unknown event kind {kind!r}; expected one of {list(_FIELDS)}")
    required, optional = spec
    keys = event.keys() - {"e"}
    missing = required - keys
    if missing:
        raise StorageError(f"{where}: {kind} event lacks field(s) {sorted(missing)}")
    unknown = keys - required - optional
    if unknown:
        raise StorageError(f"{where}: {kind} event has unknown field(s) {sorted(unknown)}")
    return event


def check_header(event: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate the first line: a study header with a schema this version can read."""
    if event.get("e") != "study":
        raise StorageError(f"{where}: the first journal line must be a study header, got "
                           f"a {event.get('e')!r} event")
    schema = event.get("schema")
    if not isinstance(schema, int):
        raise StorageError(f"{where}: study header has no integer schema version: {schema!r}")
    if schema > SCHEMA_VERSION:
        raise StorageError(
            f"{where}: journal written with schema version {schema}, but this scaletune reads "
            f"schema <= {SCHEMA_VERSION}; upgrade scaletune to open it"
        )
    return check_event(event, where)

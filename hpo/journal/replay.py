"""Journal header handling and replay checks: "resume = replay", verified event by event."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo.core.decisions import Resume, Retire, Start, Verdict
from hpo.core.methods import Method, method_from_json, resolve_method
from hpo.core.protocols import Scheduler
from hpo.core.scale import Scaling
from hpo.core.types import Fidelity, Objective
from hpo.errors import HPOError, ReplayError, StorageError
from hpo.journal.events import SCHEMA_VERSION, VERDICT_CODES, check_header
from hpo.journal.storage import JOURNAL_NAME, Storage
from hpo.space.search_space import SearchSpace

VERSION = "0.1.0"

_HINT = ("the study was reopened with other method options or another seed than it was "
         "created with, or its scheduler is not deterministic")


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def header_event(space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
                 method: Method | None, seed: int, meta: Mapping[str, Any],
                 scaling: Scaling | None = None) -> dict[str, Any]:
    """The journal's first line: everything needed to rebuild the study."""
    extra = {"scaling": scaling.to_json()} if scaling is not None else {}
    return {**extra,
        "e": "study", "schema": SCHEMA_VERSION, "space": space.to_json(),
        "objective": objective.to_json(),
        "fidelity": fidelity.to_json() if fidelity else None,
        "method": method.to_json() if method else None,
        "seed": seed, "created": time.time(), "version": VERSION, "meta": dict(meta),
    }


def _current(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded method as this version writes it: options added since the journal was
    written take their defaults (which is how the journal's method is rebuilt)."""
    try:
        return method_from_json(recorded).to_json()
    except (HPOError, KeyError, TypeError, ValueError):  # unknown or invalid: as recorded
        return recorded


def read_header(directory: Path) -> dict[str, Any]:
    """The first line of the journal in ``directory`` (validated)."""
    path = directory / JOURNAL_NAME
    try:
        with open(path, "rb") as fh:
            line = fh.readline()
    except FileNotFoundError:
        raise StorageError(f"no study journal at {path}") from None
    if not line.endswith(b"\n"):
        raise StorageError(f"{path}: the journal has no complete header line")
    try:
        event = json.loads(line)
    except ValueError:
        raise StorageError(f"{path}:1: corrupt header line {line[:80]!r}") from None
    return check_header(event, f"{path}:1")


def study_args_from_header(directory: Path) -> dict[str, Any]:
    """Space, objective, fidelity, method and seed recorded in a journal header."""
    header = read_header(directory)
    return {
        "space": SearchSpace.from_json(header["space"]),
        "objective": Objective.from_json(header["objective"]),
        "fidelity": Fidelity.from_json(header["fidelity"]) if header["fidelity"] else None,
        "method": method_from_json(header["method"]) if header["method"] else None,
        "seed": header["seed"],
        "meta": header.get("meta") or {},
        "scaling": Scaling.from_json(header["scaling"]) if header.get("scaling") else None,
    }


def check_same_study(header: dict[str, Any], space: SearchSpace, objective: Objective,
                     fidelity: Fidelity | None, method: str | Method | Scheduler,
                     seed: int | None, storage: Storage,
                     scaling: Scaling | None = None) -> None:
    """Raise StorageError naming every field where an existing journal differs from the args."""
    where = storage.directory or "the storage"
    diffs = []
    if _canon(header["space"]) != _canon(space.to_json()):
        diffs.append(f"space: journal {header['space']} vs given {space.to_json()}")
    if header["objective"] != objective.to_json():
        diffs.append(f"objective: journal {header['objective']} vs given {objective.to_json()}")
    given_fid = fidelity.to_json() if fidelity else None
    if header["fidelity"] != given_fid:
        diffs.append(f"fidelity: journal {header['fidelity']} vs given {given_fid}")
    if not isinstance(method, Scheduler):
        given = resolve_method(method).to_json()
        if header["method"] is None or _canon(_current(header["method"])) != _canon(given):
            diffs.append(f"method: journal {header['method']} vs given {given}")
    given_scaling = scaling.to_json() if scaling is not None else None
    if header.get("scaling") != given_scaling:
        diffs.append(f"scaling: journal {header.get('scaling')} vs given {given_scaling}")
    if seed is not None and int(seed) != int(header["seed"]):
        diffs.append(f"seed: journal {header['seed']} vs given {seed}")
    if diffs:
        raise StorageError(f"the journal at {where} belongs to a different study; pass the "
                           "same arguments it was created with (or Study.open(path)), or use "
                           "a new directory:\n  " + "\n  ".join(diffs))


def check_replayed(event: dict[str, Any], decision: Any) -> None:
    """Compare a recorded decision with the one the rebuilt scheduler makes now."""
    kind = event["e"]
    if kind == "report":
        if not isinstance(decision, Verdict) or VERDICT_CODES[decision.decision] != event["v"]:
            got = decision.decision.value if isinstance(decision, Verdict) else decision
            raise ReplayError(f"replay diverged at the report of trial {event['t']} at budget "
                              f"{event['b']}: recorded verdict {event['v']!r}, the scheduler now "
                              f"says {got!r}; {_HINT}")
        return
    ok = False
    if kind == "start" and isinstance(decision, Start):
        ok = (_canon(decision.config) == _canon(event["cfg"])
              and decision.budget == event["b"] and decision.parent_id == event.get("p")
              and dict(decision.scale) == (event.get("sc") or {}))
    elif kind == "resume" and isinstance(decision, Resume):
        ok = decision.trial_id == event["t"] and decision.budget == event["b"]
    elif kind == "retire" and isinstance(decision, Retire):
        ok = decision.trial_id == event["t"]
    if not ok:
        recorded = {k: v for k, v in event.items() if k not in ("ts", "o")}
        raise ReplayError(f"replay diverged: the journal recorded {recorded}, the scheduler now "
                          f"decides {decision!r}; {_HINT}")

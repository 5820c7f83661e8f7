"""The ``hpo`` command: run, resume and inspect studies.

Examples::

    hpo run mypkg.train:objective --space mypkg.train:SPACE --method asha \\
        --fidelity epochs:1:81 --max-budget 2000 --workers 4 --dir runs/asha
    hpo status runs/asha
    hpo best runs/asha --json
    hpo trials runs/asha --csv trials.csv
    hpo resume runs/asha            # after a crash or Ctrl-C: continues where it stopped
    hpo run mypkg.train:objective --method asha --fidelity epochs:1:81 --max-budget 2000 \\
        --backend ray --resources '{"cpu": 1, "gpu": 0.5}' --dir runs/asha-ray
    hpo methods
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from hpo.core.methods import available_methods, method_class, resolve_method
from hpo.core.study import Study
from hpo.core.trial import TrialStatus
from hpo.core.types import Fidelity, Objective
from hpo.errors import HPOError
from hpo.execution.loop import Limits, run
from hpo.journal.storage import JOURNAL_NAME
from hpo.space.search_space import SearchSpace

LIMIT_FLAGS = ("max_trials", "max_budget", "max_cost", "max_wall_s")


def load_attr(ref: str) -> Any:
    """Import ``module:attribute`` (the current directory is importable, as with python -m)."""
    if ":" not in ref:
        raise HPOError(f"expected module:attribute, got {ref!r}")
    module_name, _, attr = ref.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise HPOError(f"cannot import module {module_name!r}: {err}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise HPOError(f"module {module_name!r} has no attribute {attr!r}") from None


def parse_fidelity(text: str | None) -> Fidelity | None:
    """``name:min:max`` (integer) or ``name:min:max:float``."""
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "float"):
        raise HPOError(f"--fidelity must be name:min:max or name:min:max:float, got {text!r}")
    integer = len(parts) == 3
    try:
        low, high = (int(parts[1]), int(parts[2])) if integer else (float(parts[1]),
                                                                     float(parts[2]))
    except ValueError:
        raise HPOError(f"--fidelity bounds must be numbers, got {text!r}") from None
    return Fidelity(parts[0], low, high, integer=integer)


def load_space(ref: str | None, entrypoint: str) -> SearchSpace:
    """``--space`` as a JSON file or ``module:ATTR``; default ``<objective module>:SPACE``."""
    if ref is None:
        ref = entrypoint.partition(":")[0] + ":SPACE"
    if ":" not in ref and Path(ref).exists():
        return SearchSpace.from_json(Path(ref).read_text())
    value = load_attr(ref)
    return value if isinstance(value, SearchSpace) else SearchSpace.from_dict(value)


def _method(name: str, params: str | None) -> Any:
    if params is None:
        return resolve_method(name)
    try:
        options = json.loads(params)
    except ValueError:
        raise HPOError(f"--method-params must be a JSON object, got {params!r}") from None
    try:
        return method_class(name)(**options)
    except TypeError as err:
        raise HPOError(f"invalid options for method {name!r}: {err}") from None


def _limits(args: argparse.Namespace, saved: dict[str, Any]) -> Limits:
    values = {k: getattr(args, k, None) if getattr(args, k, None) is not None else saved.get(k)
              for k in LIMIT_FLAGS}
    return Limits(**values)


def parse_resources(text: str | None) -> dict[str, float] | None:
    """``--resources`` as a JSON object of non-negative numbers, e.g. ``{"cpu": 1, "gpu": .5}``."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
            for v in value.values()):
        raise HPOError(f'--resources must be a JSON object like {{"cpu": 1, "gpu": 0.5}}, '
                       f"got {text!r}")
    return {str(k): float(v) for k, v in value.items()}


def _ray_options(args: argparse.Namespace, saved: dict[str, Any]) -> dict[str, Any]:
    names = ("resources", "max_concurrent", "ray_address", "max_failures")
    given = {k: getattr(args, k, None) for k in names}
    if isinstance(given["resources"], str):
        given["resources"] = parse_resources(given["resources"])
    return {k: given[k] if given[k] is not None else saved.get(k) for k in names}


def _execute(study: Study, objective: Any, *, backend: str, workers: int, limits: Limits,
             ray: dict[str, Any], progress: bool | None) -> None:
    if backend == "ray":
        from hpo.integrations.ray_backend import run_ray

        run_ray(study, objective, limits=limits, resources=ray.get("resources"),
                max_concurrent=ray.get("max_concurrent"), address=ray.get("ray_address"),
                max_failures=ray.get("max_failures") or 0)
    else:
        run(study, objective, workers=workers, limits=limits, progress=progress)


def cmd_run(args: argparse.Namespace) -> int:
    objective = load_attr(args.objective)
    limits = Limits(**{k: getattr(args, k) for k in LIMIT_FLAGS})
    if not limits.any:
        raise HPOError("give at least one of --max-trials, --max-budget, --max-cost, --max-wall-s")
    ray = _ray_options(args, {})
    meta = {"entrypoint": args.objective, "cwd": os.getcwd(), "workers": args.workers,
            "limits": {k: getattr(limits, k) for k in LIMIT_FLAGS}, "backend": args.backend,
            "ray": ray}
    created = _first_missing(Path(args.dir))
    try:
        study = Study(load_space(args.space, args.objective), Objective(args.metric, args.mode),
                      method=_method(args.method, args.method_params),
                      fidelity=parse_fidelity(args.fidelity), seed=args.seed,
                      storage=args.dir, meta=meta)
        _execute(study, objective, backend=args.backend, workers=args.workers, limits=limits,
                 ray=ray, progress=args.progress)
    except BaseException:
        _remove_if_unused(created)
        raise
    print(_summary(study))
    return _exit_status(study)


def _first_missing(path: Path) -> Path | None:
    """The outermost directory of ``path`` that does not exist yet (what a run would create)."""
    missing = None
    for candidate in (path.absolute(), *path.absolute().parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _remove_if_unused(created: Path | None) -> None:
    """Remove the study directory a failed `hpo run` created, unless a trial was recorded."""
    journal = None if created is None else next(created.rglob(JOURNAL_NAME), None)
    if created is None or not created.is_dir():
        return
    if journal is not None and len(journal.read_bytes().splitlines()) > 1:
        return  # trials were recorded: keep them (`hpo status` / `hpo resume`)
    shutil.rmtree(created, ignore_errors=True)


def _exit_status(study: Study) -> int:
    """0 when some trial produced a finite objective value, else 1 with a warning."""
    if any(math.isfinite(t.best_loss) for t in study.trials.values()):
        return 0
    counts = {s: n for s, n in study.counts().items() if n}
    print(f"hpo: warning: no trial produced a finite {study.objective.metric} ({len(study)} "
          f"trials: {json.dumps(counts)}); check the objective (NaN / inf results, failures: "
          f"`hpo trials {study.directory}`)", file=sys.stderr)
    return 1


def cmd_resume(args: argparse.Namespace) -> int:
    peek = Study.open(args.dir, read_only=True)
    entrypoint = peek.meta.get("entrypoint")
    if not entrypoint:
        raise HPOError(f"the study at {args.dir} was not created by `hpo run`: resume it from "
                       "your script (rerun hpo.tune with the same storage directory)")
    here = os.getcwd()
    recorded = peek.meta.get("cwd") or here
    print(f"hpo: resuming {args.dir}: importing {entrypoint} with {recorded} on the import "
          "path (recorded by `hpo run`)", file=sys.stderr)
    if os.path.realpath(recorded) != os.path.realpath(here):
        if not args.allow_other_cwd:
            raise HPOError(
                f"the study at {args.dir} was started in {recorded}, not in the current "
                f"directory {here}; resuming imports and runs {entrypoint} from there. Run "
                "`hpo resume` in that directory, or pass --allow-other-cwd if you trust its code")
        sys.path.insert(0, recorded)
    objective = load_attr(entrypoint)
    module = sys.modules.get(entrypoint.partition(":")[0])
    print(f"hpo: objective {entrypoint} from {getattr(module, '__file__', None) or '?'}",
          file=sys.stderr)
    study = Study.open(args.dir)
    workers = args.workers or peek.meta.get("workers", 1)
    _execute(study, objective, backend=args.backend or peek.meta.get("backend", "local"),
             workers=workers, limits=_limits(args, peek.meta.get("limits", {})),
             ray=_ray_options(args, peek.meta.get("ray") or {}), progress=args.progress)
    print(_summary(study))
    return _exit_status(study)


def _summary(study: Study) -> str:
    counts = {s: n for s, n in study.counts().items() if n}
    method = study.header.get("method") or "custom scheduler"
    lines = [f"study      {study.directory}",
             f"method     {json.dumps(method)}  seed {study.seed}",
             f"objective  {study.objective.direction.value} {study.objective.metric}"
             + (f"; fidelity {study.fidelity.name} {study.fidelity.min}..{study.fidelity.max}"
                if study.fidelity else ""),
             f"trials     {len(study)} {json.dumps(counts)}",
             f"used       budget {study.budget_used:g}, cost {study.cost_used:.4g}"]
    best = study.best()
    if best is not None and not math.isfinite(best.loss):
        lines.append(f"best       none: no trial has a finite {study.objective.metric}")
    elif best is not None:
        lines.append(f"best       trial {best.id}: {study.objective.metric}="
                     f"{study.objective.value(best.loss):.6g} at budget {best.budget:g}; "
                     f"config {json.dumps(best.config)}")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    print(_summary(Study.open(args.dir, read_only=True)))
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    study = Study.open(args.dir, read_only=True)
    best = study.best()
    if best is None:
        print("no results yet", file=sys.stderr)
        return 1
    record = {"trial_id": best.id, "config": best.config, "budget": best.budget,
              study.objective.metric: study.objective.value(best.loss),
              "status": best.status.value}
    print(json.dumps(record) if args.json else "\n".join(f"{k}: {v}" for k, v in record.items()))
    return 0


def cmd_trials(args: argparse.Namespace) -> int:
    study = Study.open(args.dir, read_only=True)
    frame = study.dataframe()
    if args.csv:
        frame.to_csv(args.csv, index=False)
        print(f"wrote {len(frame)} rows to {args.csv}")
        return 0
    import pandas as pd

    last = frame.groupby("trial_id").tail(1).drop(columns=["time", "reason"])
    if args.status:
        last = last[last.status == TrialStatus(args.status).value]
    sort = "loss" if args.top is not None and args.sort is None else args.sort or "trial_id"
    if sort not in last.columns:
        raise HPOError(f"--sort {sort!r}: no such column; choose one of {list(last.columns)}")
    last = last.sort_values(sort, kind="stable", na_position="last")
    limit = len(last) if args.all else args.top if args.top is not None else args.limit
    shown = last.head(limit)
    with pd.option_context("display.max_rows", len(shown), "display.width", 160):
        print(shown.to_string(index=False) if len(shown) else "no trials")
    if len(last) > len(shown):
        print(f"... {len(last) - len(shown)} more trials ({len(last)} in all; --all shows "
              "every one, --top N the N best)")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    for name in available_methods():
        cls = method_class(name)
        print(f"{name:12s} {(cls.__doc__ or '').strip().splitlines()[0]}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hpo", description="scaletune hyperparameter tuning")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a new study (or continue the one in --dir)")
    p.add_argument("objective", help="module:function taking a trial handle")
    p.add_argument("--space", help="JSON file or module:ATTR (default: <module>:SPACE)")
    p.add_argument("--method", default="random", help="see `hpo methods`")
    p.add_argument("--method-params", help='method options as JSON, e.g. \'{"eta": 4}\'')
    p.add_argument("--fidelity", help="name:min:max (integer) or name:min:max:float")
    p.add_argument("--metric", default="loss")
    p.add_argument("--mode", default="min", choices=["min", "max"])
    p.add_argument("--seed", type=int)
    p.add_argument("--dir", required=True, help="study directory (journal + checkpoints)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes")
    p.add_argument("--backend", default="local", choices=["local", "ray"])
    p.set_defaults(func=cmd_run)
    r = sub.add_parser("resume", help="continue an interrupted `hpo run` study")
    r.add_argument("dir")
    r.add_argument("--workers", type=int)
    r.add_argument("--backend", choices=["local", "ray"], help="default: the study's own")
    r.add_argument("--allow-other-cwd", dest="allow_other_cwd", action="store_true",
                   help="resume a study started in another directory: imports (runs) the "
                        "objective from the working directory recorded in its journal")
    r.set_defaults(func=cmd_resume)
    for q in (p, r):
        q.add_argument("--max-trials", dest="max_trials", type=int)
        q.add_argument("--max-budget", dest="max_budget", type=float)
        q.add_argument("--max-cost", dest="max_cost", type=float)
        q.add_argument("--max-wall-s", dest="max_wall_s", type=float)
        q.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
        ray = q.add_argument_group("Ray backend (--backend ray)")
        ray.add_argument("--resources", help='per trial, JSON, e.g. \'{"cpu": 1, "gpu": 0.5}\'')
        ray.add_argument("--max-concurrent", dest="max_concurrent", type=int,
                         help="trials running at once (default: what resources allow)")
        ray.add_argument("--ray-address", dest="ray_address",
                         help='a running cluster, e.g. "auto" (default: a local Ray runtime)')
        ray.add_argument("--max-failures", dest="max_failures", type=int,
                         help="Ray retries of a crashed trial (FailureConfig)")
    s = sub.add_parser("status", help="counts, budget used and the best trial")
    s.add_argument("dir")
    s.set_defaults(func=cmd_status)
    b = sub.add_parser("best", help="the best trial")
    b.add_argument("dir")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_best)
    t = sub.add_parser("trials", help="one line per trial, or every observation as CSV")
    t.add_argument("dir")
    t.add_argument("--csv", help="write every observation to this CSV file")
    t.add_argument("--status", choices=[s.value for s in TrialStatus])
    t.add_argument("--limit", type=int, default=50, help="show at most N trials (default 50)")
    t.add_argument("--all", action="store_true", help="show every trial")
    t.add_argument("--top", type=int, metavar="N", help="the N best trials (sorted by loss)")
    t.add_argument("--sort", metavar="COLUMN",
                   help="sort by a column, ascending: trial_id (default), loss (best first), "
                        "budget, cost, status, config/<name>...")
    t.set_defaults(func=cmd_trials)
    m = sub.add_parser("methods", help="list the available methods")
    m.set_defaults(func=cmd_methods)
    from hpo.analysis.commands import add_commands  # plot, dashboard

    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (HPOError, ValueError) as err:
        print(f"hpo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # local workers print one line each; this is the driver's
        directory = getattr(args, "dir", None) if args.func in (cmd_run, cmd_resume) else None
        hint = (f"; `hpo resume {shlex.quote(str(directory))}` continues the study"
                if directory and Path(directory).exists() else "")
        print(f"hpo: interrupted{hint}", file=sys.stderr)
        return 130

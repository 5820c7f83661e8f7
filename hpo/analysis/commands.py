"""The ``hpo plot`` and ``hpo dashboard`` commands (registered by :func:`add_commands`).

Examples::

    hpo plot runs/asha                          # every plot the study has data for, as PNG
    hpo plot runs/asha --kind curves --kind rungs --out figs/
    hpo plot runs/asha --kind history --x cost --format html
    hpo dashboard runs/asha --port 8050         # http://127.0.0.1:8050/, follows the journal

Both only read the study's journal: they work on a running study, from another process or
machine, and on a study directory copied from a cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hpo.analysis.history import HISTORY_AXES
from hpo.analysis.record import AnalysisError


def add_commands(sub: Any) -> None:
    """Add ``plot`` and ``dashboard`` to the ``hpo`` command's subparsers."""
    from hpo.analysis.plots import FORMATS, KINDS

    p = sub.add_parser("plot", help="plots of a study (PNG or interactive HTML)",
                       description="Plot a study from its journal. Kinds: "
                                   + ", ".join(KINDS) + " (default: all it has data for).")
    p.add_argument("dir", help="study directory")
    p.add_argument("--kind", action="append", metavar="KIND",
                   help=f"one of {', '.join(KINDS)}, or all; repeat or separate by commas")
    p.add_argument("--out", help="output directory (default: DIR/plots)")
    p.add_argument("--format", default="png", metavar="FMT",
                   help=f"{' or '.join(FORMATS)} (default png)")
    p.add_argument("--x", metavar="AXIS",
                   help=f"history against one of {', '.join(HISTORY_AXES)} (default: all four "
                        "panels in PNG, trials in HTML)")
    p.set_defaults(func=cmd_plot)
    d = sub.add_parser("dashboard", help="a live web dashboard of a study (read-only)")
    d.add_argument("dir", help="study directory")
    d.add_argument("--port", type=int, default=8050, help="default 8050; 0 picks a free port")
    d.add_argument("--host", default="127.0.0.1",
                   help="default 127.0.0.1 (this machine only); 0.0.0.0 shares it on the "
                        "network")
    d.add_argument("--interval", type=float, default=2.0,
                   help="seconds between the page's checks for new results (default 2)")
    d.set_defaults(func=cmd_dashboard)


def _kinds(given: list[str] | None) -> list[str] | None:
    """The kinds asked for, or None for "all the study has data for"."""
    from hpo.analysis.plots import check_kind

    names = [k.strip() for arg in given or [] for k in arg.split(",") if k.strip()]
    if not names or "all" in names:
        return None
    return [check_kind(k) for k in dict.fromkeys(names)]


def cmd_plot(args: argparse.Namespace) -> int:
    from hpo.analysis import plots
    from hpo.analysis.record import StudyRecord

    fmt = args.format.lower().lstrip(".")
    if fmt not in plots.FORMATS:
        raise AnalysisError(f"unknown --format {args.format!r}; choose one of "
                            f"{list(plots.FORMATS)}")
    if args.x is not None and args.x not in HISTORY_AXES:
        raise AnalysisError(f"unknown --x {args.x!r}; choose one of {list(HISTORY_AXES)}")
    kinds = _kinds(args.kind)
    record = StudyRecord.open(args.dir)
    out = Path(args.out) if args.out else Path(args.dir) / "plots"
    if kinds is None:
        kinds = plots.applicable_kinds(record)
        for kind in plots.KINDS:
            if kind not in kinds:
                print(f"hpo: skipping {kind}: {plots.missing_data(record, kind)}",
                      file=sys.stderr)
        if not kinds:
            raise AnalysisError(f"nothing to plot: the study at {args.dir} has no results yet")
    else:  # every kind asked for must be possible before any file is written
        for kind in kinds:
            why = plots.missing_data(record, kind)
            if why is not None:
                raise AnalysisError(why)
    for kind in kinds:
        path = plots.save_plot(record, kind, out / f"{kind}.{fmt}",
                               x=args.x if kind == "history" else None)
        print(path)
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from hpo.analysis.dashboard import DashboardServer

    if args.interval <= 0:
        raise AnalysisError(f"--interval must be positive, got {args.interval!r}")
    if not 0 <= args.port <= 65535:
        raise AnalysisError(f"--port must be 0..65535, got {args.port!r}")
    server = DashboardServer(args.dir, host=args.host, port=args.port,
                             interval_s=args.interval)
    print(f"hpo: dashboard of {args.dir} at {server.url} (read-only; Ctrl-C stops it)",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("hpo: dashboard stopped", file=sys.stderr)
    finally:
        server.close()
    return 0

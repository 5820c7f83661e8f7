"""``python -m benchmarks``: run suites, regenerate reports, measure speed.

    python -m benchmarks run --suite quick            # the README's main command (< 10 min)
    python -m benchmarks run --suite standard --methods random asha dehb-ref --seeds 10
    python -m benchmarks report --out results/quick
    python -m benchmarks cost-report --out results/cost   # Pareto metrics (cost suite)
    python -m benchmarks list
    python -m benchmarks core                         # Study throughput / replay / memory
    python -m benchmarks speed                        # YAHPO loader + simulator speed
    python -m benchmarks overhead                     # DEHB decision time vs the reference
    python -m benchmarks digits-sweep                 # re-measure digits' regret constants
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hpo.errors import HPOError


def _run(args: argparse.Namespace) -> int:
    from benchmarks.methods import get_methods
    from benchmarks.problems import all_names, get_problem
    from benchmarks.report import report
    from benchmarks.runner import run_tasks, tasks_of
    from benchmarks.suites import get_suite

    suite = get_suite(args.suite).with_overrides(
        problems=args.problems, methods=args.methods, seeds=args.seeds, workers=args.workers,
        budget=args.budget, single_budget=args.single_budget)
    get_methods(list(suite.methods))  # unknown names fail before anything runs
    unknown = [p for p in suite.problems if p not in all_names()]
    if unknown:
        get_problem(unknown[0])  # raises with the list of valid names
    out = Path(args.out or f"results/{suite.name}")
    import time

    start = time.time()
    run_tasks(tasks_of(suite), out, jobs=args.jobs)
    print(report(out, title=f"Benchmark results: suite {suite.name}"))
    print(f"suite {suite.name}: {time.time() - start:.0f} s; results in {out}/")
    return 0


def _report(args: argparse.Namespace) -> int:
    from benchmarks.report import report

    include = args.include or []
    # with --include, --out may be a new folder that only receives the merged table
    for folder in include or [args.out]:
        if not (Path(folder) / "runs.jsonl").is_file():
            print(f"no results folder {folder!r} (it has no runs.jsonl)", file=sys.stderr)
            return 2
    Path(args.out).mkdir(parents=True, exist_ok=True)
    print(report(Path(args.out), include=[Path(f) for f in include],
                 budget=args.budget, methods=args.methods))
    return 0


def _cost_report(args: argparse.Namespace) -> int:
    from benchmarks.cost_report import cost_report

    print(cost_report(Path(args.out)))
    return 0


def _list(args: argparse.Namespace) -> int:
    from benchmarks.methods import registry
    from benchmarks.problems import all_names
    from benchmarks.suites import SUITES

    print("problems:", " ".join(all_names()))
    print("methods: ", " ".join(sorted(registry())))
    print("suites:  ", " ".join(sorted(SUITES)))
    return 0


def _core(args: argparse.Namespace) -> int:
    from benchmarks.core_bench import main as core_main

    return core_main(args.trials, args.reports, Path(args.out))


def _speed(args: argparse.Namespace) -> int:
    from benchmarks.speed import main as speed_main

    return speed_main(Path(args.out))


def _overhead(args: argparse.Namespace) -> int:
    from benchmarks.overhead import main as overhead_main

    return overhead_main(args.evaluations, Path(args.out))


def _ray_overhead(args: argparse.Namespace) -> int:
    from benchmarks.ray_overhead import run as ray_overhead_run

    ray_overhead_run(Path(args.out), trials=args.trials)
    return 0


def _digits_sweep(args: argparse.Namespace) -> int:
    import json

    from benchmarks.training import sweep

    record = {"command": f"python -m benchmarks digits-sweep --configs {args.configs} --seed "
                         f"{args.seed} --out {args.out}", **sweep(args.configs, args.seed)}
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"{args.configs} configs in {record['seconds']} s: optimum {record['optimum']:.6f}, "
          f"reference {record['reference']:.6f} (the constants in benchmarks/training.py)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite (resumes an interrupted one)")
    run.add_argument("--suite", default="quick")
    run.add_argument("--methods", nargs="+")
    run.add_argument("--problems", nargs="+")
    run.add_argument("--seeds", type=int)
    run.add_argument("--workers", type=int, help="simulated workers per run")
    run.add_argument("--budget", type=float, help="full-fidelity evaluations per run")
    run.add_argument("--single-budget", type=float,
                     help="evaluations per run on single-fidelity problems")
    run.add_argument("--jobs", type=int, default=2, help="runs in parallel (processes)")
    run.add_argument("--out", help="results directory (default results/<suite>)")
    run.set_defaults(func=_run)
    rep = sub.add_parser("report", help="regenerate tables and plots from results")
    rep.add_argument("--out", default="results/quick")
    rep.add_argument("--include", nargs="+", metavar="DIR",
                     help="more results folders merged in (--out's own runs win a tie)")
    rep.add_argument("--budget", type=float,
                     help="keep only runs of this many full-fidelity evaluations")
    rep.add_argument("--methods", nargs="+", help="keep only these methods")
    rep.set_defaults(func=_report)
    cost = sub.add_parser("cost-report",
                          help="Pareto hypervolume and matched-cost regret (cost suite)")
    cost.add_argument("--out", default="results/cost")
    cost.set_defaults(func=_cost_report)
    lst = sub.add_parser("list", help="problems, methods and suites")
    lst.set_defaults(func=_list)
    core = sub.add_parser("core", help="Study throughput, replay time and memory")
    core.add_argument("--trials", type=int, default=10_000)
    core.add_argument("--reports", type=int, default=10)
    core.add_argument("--out", default="results/core")
    core.set_defaults(func=_core)
    speed = sub.add_parser("speed", help="YAHPO loader and simulator speed")
    speed.add_argument("--out", default="results/speed")
    speed.set_defaults(func=_speed)
    over = sub.add_parser("overhead", help="DEHB decision time: ours vs the reference")
    over.add_argument("--evaluations", type=int, default=10_100)
    over.add_argument("--out", default="results/overhead")
    over.set_defaults(func=_overhead)
    ray_over = sub.add_parser("ray-overhead",
                              help="our ASHA through Ray Tune vs Ray's ASHAScheduler")
    ray_over.add_argument("--trials", type=int, default=500)
    ray_over.add_argument("--out", default="results/ray")
    ray_over.set_defaults(func=_ray_overhead)
    digits = sub.add_parser("digits-sweep",
                            help="re-measure the digits problem's optimum and reference")
    digits.add_argument("--configs", type=int, default=600)
    digits.add_argument("--seed", type=int, default=0)
    digits.add_argument("--out", default="benchmarks/digits_sweep.json")
    digits.set_defaults(func=_digits_sweep)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (HPOError, FileNotFoundError, ValueError) as err:
        print(f"benchmarks: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

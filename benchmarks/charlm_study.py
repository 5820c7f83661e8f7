"""Sweeps and verdicts on the real μP / SP character transformer (issue 13: V3, V4, V5).

``python -m benchmarks.charlm_study sweep --widths 32 64 128 --log2-lrs -12 -11 ... --seeds 0 1
--parametrizations mup sp --steps 300 --out results/charlm`` trains every (width,
parametrisation, lr, steps, seed) not yet in ``<out>/runs.jsonl`` (resumable; one JSON line per
run, written as soon as it ends). ``... analyse --out results/charlm`` reads the table and writes
``<out>/analysis.json``: per (parametrisation, steps, width) the optimal log2 lr (the vertex of a
parabola through the seed-mean losses at the best grid point and its neighbours), its bootstrap
interval over seeds, and the slope of the optimum against log2 width (V3) and log2 steps (V4)
with a bootstrap 90% interval. ``... plot --out results/charlm`` draws the transfer plots
(:mod:`benchmarks.charlm_plots`).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.charlm import RunSpec, train

Key = tuple[str, int, int]  # (parametrization, steps, width)


def load(out: Path) -> list[dict[str, Any]]:
    path = out / "runs.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["parametrization"], r["width"], float(r["log2_lr"]), r["steps"], r["seed"],
            r.get("depth", 2))


def sweep(specs: list[RunSpec], out: Path, *, echo: bool = True) -> list[dict[str, Any]]:
    """Train every spec not yet recorded in ``out/runs.jsonl``; return all the table's rows."""
    import torch

    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    done = {_key(r) for r in load(out)}
    with (out / "runs.jsonl").open("a") as f:
        for spec in specs:
            row = {"parametrization": spec.parametrization, "width": spec.width,
                   "log2_lr": float(spec.log2_lr), "steps": spec.steps, "seed": spec.seed,
                   "depth": spec.depth}
            if _key(row) in done:
                continue
            result = train(spec)
            f.write(json.dumps(result) + "\n")
            f.flush()
            if echo:
                print(f"{spec.parametrization} w={spec.width} lr=2^{spec.log2_lr:g} "
                      f"steps={spec.steps} seed={spec.seed}: {result['loss']:.4f} "
                      f"({result['seconds']:.1f}s)", flush=True)
    return load(out)


def _vertex(lrs: np.ndarray, losses: np.ndarray) -> float:
    """log2 lr of the parabola through the best grid point and its two neighbours (the grid
    point itself at an edge or when the three points are not convex)."""
    i = int(np.argmin(losses))
    if i == 0 or i == len(lrs) - 1:
        return float(lrs[i])
    x, y = lrs[i - 1:i + 2], losses[i - 1:i + 2]
    a, b, _ = np.polyfit(x, y, 2)
    if a <= 0:
        return float(lrs[i])
    return float(np.clip(-b / (2 * a), x[0], x[2]))


def optima(rows: list[dict[str, Any]], *, boot: int = 200,
           seed: int = 0) -> dict[Key, dict[str, Any]]:
    """Per (parametrisation, steps, width): the optimal log2 lr, and ``boot`` bootstrap
    optima (seeds resampled with replacement at every lr). Diverged runs count as the worst
    finite loss of their group plus 1 nat."""
    rng = np.random.default_rng(seed)
    groups: dict[Key, dict[float, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        groups[(r["parametrization"], r["steps"], r["width"])][float(r["log2_lr"])][r["seed"]] \
            = float(r["loss"])
    out: dict[Key, dict[str, Any]] = {}
    for key, by_lr in sorted(groups.items()):
        lrs = np.array(sorted(by_lr))
        seeds = sorted(set.intersection(*(set(by_lr[lr]) for lr in lrs)))
        if len(lrs) < 3 or not seeds:
            continue
        table = np.array([[by_lr[lr][s] for s in seeds] for lr in lrs])
        finite = table[np.isfinite(table)]
        table = np.where(np.isfinite(table), table, (finite.max() if finite.size else 10) + 1)
        mean = table.mean(axis=1)
        draws = [_vertex(lrs, table[:, rng.integers(len(seeds), size=len(seeds))].mean(axis=1))
                 for _ in range(boot)]
        out[key] = {"log2_lr_star": _vertex(lrs, mean), "boot": draws, "seeds": len(seeds),
                    "best_loss": float(mean.min()), "lrs": lrs.tolist(),
                    "mean_loss": mean.tolist()}
    return out


def slope(points: dict[float, dict[str, Any]]) -> dict[str, float] | None:
    """Least-squares slope of log2 lr* against the axis (log2 of width or steps) with a 90%
    bootstrap interval (one bootstrap optimum per axis value and draw)."""
    xs = sorted(points)
    if len(xs) < 2:
        return None
    x = np.log2(np.array(xs, dtype=np.float64))
    y = np.array([points[v]["log2_lr_star"] for v in xs])
    draws = np.array([points[v]["boot"] for v in xs])  # (axis values, boot)
    boot = [float(np.polyfit(x, draws[:, j], 1)[0]) for j in range(draws.shape[1])]
    return {"slope": float(np.polyfit(x, y, 1)[0]), "lo": float(np.quantile(boot, 0.05)),
            "hi": float(np.quantile(boot, 0.95))}


def analyse(rows: list[dict[str, Any]]) -> dict[str, Any]:
    opt = optima(rows)
    by_width: dict[tuple[str, int], dict[float, dict[str, Any]]] = defaultdict(dict)
    by_steps: dict[tuple[str, int], dict[float, dict[str, Any]]] = defaultdict(dict)
    for (param, steps, width), o in opt.items():
        by_width[(param, steps)][width] = o
        by_steps[(param, width)][steps] = o
    return {
        "optima": [{"parametrization": p, "steps": s, "width": w,
                    "log2_lr_star": o["log2_lr_star"],
                    "interval": [float(np.quantile(o["boot"], 0.05)),
                                 float(np.quantile(o["boot"], 0.95))],
                    "best_loss": o["best_loss"], "seeds": o["seeds"]}
                   for (p, s, w), o in sorted(opt.items())],
        "width_drift": [{"parametrization": p, "steps": s, "widths": sorted(v), **d}
                        for (p, s), v in sorted(by_width.items())
                        if (d := slope(v)) is not None],
        "horizon_drift": [{"parametrization": p, "width": w, "steps": sorted(v), **d}
                          for (p, w), v in sorted(by_steps.items())
                          if (d := slope(v)) is not None],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.charlm_study")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("sweep", help="train the grid (resumable)")
    run.add_argument("--widths", type=int, nargs="+", required=True)
    run.add_argument("--log2-lrs", type=float, nargs="+", required=True)
    run.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    run.add_argument("--parametrizations", nargs="+", default=["mup", "sp"])
    run.add_argument("--steps", type=int, nargs="+", default=[300])
    run.add_argument("--out", type=Path, default=Path("results/charlm"))
    ana = sub.add_parser("analyse", help="optima and drift slopes from the table")
    ana.add_argument("--out", type=Path, default=Path("results/charlm"))
    plo = sub.add_parser("plot", help="loss against lr per width; optimum against width")
    plo.add_argument("--out", type=Path, default=Path("results/charlm"))
    plo.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    if args.command == "plot":
        from benchmarks.charlm_plots import plot_sweep

        rows = load(args.out)
        for path in plot_sweep(rows, analyse(rows), args.out, steps=args.steps):
            print(path)
        return 0
    if args.command == "sweep":
        specs = [RunSpec(w, p, lr, s, seed) for s in args.steps for p in args.parametrizations
                 for w in args.widths for seed in args.seeds for lr in args.log2_lrs]
        sweep(specs, args.out)
        return 0
    result = analyse(load(args.out))
    (args.out / "analysis.json").write_text(json.dumps(result, indent=1))
    for d in result["width_drift"]:
        print(f"V3 {d['parametrization']} steps={d['steps']} widths={d['widths']}: d log2 lr* / "
              f"d log2 width = {d['slope']:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}]")
    for d in result["horizon_drift"]:
        print(f"V4 {d['parametrization']} width={d['width']} steps={d['steps']}: d log2 lr* / "
              f"d log2 steps = {d['slope']:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}]")
    for o in result["optima"]:
        lo, hi = o["interval"]
        print(f"  {o['parametrization']} steps={o['steps']} w={o['width']}: log2 lr* = "
              f"{o['log2_lr_star']:+.2f} [{lo:+.2f}, {hi:+.2f}], loss {o['best_loss']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

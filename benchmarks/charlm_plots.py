"""The transfer plots of the real μP / SP character-transformer sweep (issue 13, §5.8 plots).

``python -m benchmarks.charlm_study plot --out results/charlm`` writes, from the run table and
its analysis (:func:`benchmarks.charlm_study.analyse`):

* ``loss_vs_lr.png``: held-out loss against log2 learning rate, one curve per width (seed means,
  bars over seeds), μP next to SP, the parabola-vertex optimum of each curve marked;
* ``optimum_vs_width.png``: each width's optimal log2 lr with its 90% bootstrap interval against
  log2 width, the fitted drift line (V3) and its extrapolation one doubling past the widest run.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np


def _means(rows: list[dict[str, Any]], parametrization: str, steps: int,
           ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """width -> (log2 lrs, seed-mean loss, seed spread) at ``steps``."""
    by: dict[int, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["parametrization"] == parametrization and r["steps"] == steps:
            loss = r["loss"] if np.isfinite(r["loss"]) else np.nan
            by[r["width"]][float(r["log2_lr"])].append(loss)
    out = {}
    for width, lrs in sorted(by.items()):
        xs = np.array(sorted(lrs))
        vals = [np.array(lrs[x]) for x in xs]
        out[width] = (xs, np.array([np.nanmean(v) for v in vals]),
                      np.array([np.nanmax(v) - np.nanmin(v) for v in vals]))
    return out


def plot_sweep(rows: list[dict[str, Any]], analysis: dict[str, Any], out: Path,
               steps: int = 300) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    optima = {(o["parametrization"], o["steps"], o["width"]): o for o in analysis["optima"]}
    params = [p for p in ("mup", "sp") if any(r["parametrization"] == p for r in rows)]
    fig, axes = plt.subplots(1, len(params), figsize=(5.5 * len(params), 4), sharey=True,
                             squeeze=False)
    for ax, param in zip(axes[0], params):
        for width, (x, mean, spread) in _means(rows, param, steps).items():
            line = ax.errorbar(x, mean, yerr=spread / 2, marker="o", ms=3, capsize=2,
                               label=f"width {width}")
            o = optima.get((param, steps, width))
            if o is not None:
                ax.axvline(o["log2_lr_star"], color=line[0].get_color(), ls=":", lw=1)
        ax.set_title(f"{'μP' if param == 'mup' else 'SP'}, {steps} steps")
        ax.set_xlabel("log2 learning rate")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("held-out loss (nats / char)")
    axes[0][0].set_ylim(top=min(3.5, axes[0][0].get_ylim()[1]))
    fig.tight_layout()
    first = out / "loss_vs_lr.png"
    fig.savefig(first, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for drift in analysis["width_drift"]:
        if drift["steps"] != steps:
            continue
        param = drift["parametrization"]
        pts = [optima[(param, steps, w)] for w in drift["widths"]]
        x = np.log2([p["width"] for p in pts])
        y = np.array([p["log2_lr_star"] for p in pts])
        err = np.array([[p["log2_lr_star"] - p["interval"][0] for p in pts],
                        [p["interval"][1] - p["log2_lr_star"] for p in pts]])
        line = ax.errorbar(x, y, yerr=np.maximum(err, 0), marker="o", capsize=3, ls="none",
                           label=f"{'μP' if param == 'mup' else 'SP'}: slope "
                                 f"{drift['slope']:+.2f} [{drift['lo']:+.2f}, "
                                 f"{drift['hi']:+.2f}]")
        xx = np.linspace(x.min(), x.max() + 1, 20)
        intercept = float(np.mean(y - drift["slope"] * x))
        ax.plot(xx, intercept + drift["slope"] * xx, color=line[0].get_color(), lw=1)
        ax.plot(xx[xx > x.max()], intercept + drift["slope"] * xx[xx > x.max()],
                color=line[0].get_color(), lw=2, ls="--")
    ax.set_xlabel("log2 width")
    ax.set_ylabel("optimal log2 learning rate")
    ax.set_title(f"LR optimum vs width, {steps} steps (dashed: +1 doubling)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    second = out / "optimum_vs_width.png"
    fig.savefig(second, dpi=110)
    plt.close(fig)
    return [first, second]

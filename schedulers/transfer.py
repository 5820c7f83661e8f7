"""The ``transfer`` method: μP-aware scaling prior, proxies chosen by transfer Thompson sampling.

Each trial runs at one proxy point of the study's ladder (``Start(config, budget, scale=...)``)
to the full budget (FIFO); the :class:`~searchers.transfer.TransferSearcher` chooses the
config and the proxy scale. A study without a scaling runs every trial at its single scale.

Example:
    >>> import hpo
    >>> from schedulers.transfer import Transfer
    >>> scaling = hpo.Scaling([hpo.ScaleAxis("width", 1024, [64, 128], kind="width")])
    >>> space = hpo.SearchSpace([hpo.Float("lr", 1e-5, 1e-1, log=True)])
    >>> study = hpo.Study(space, "loss", method=Transfer(), seed=0, scaling=scaling)
    >>> study.ask().scale
    {'width': 64.0}
"""

from __future__ import annotations

from dataclasses import dataclass

from hpo import Fidelity, Method, MethodError, Objective, Scheduler, SearchSpace
from hpo.core.decisions import CONTINUE, Start, Verdict
from hpo.core.protocols import RecordedStart, StudyView
from hpo.core.trial import Observation, Trial
from hpo.rng import derive_seed
from schedulers.base import SearcherScheduler
from searchers.models.scaling_prior import BATCH_POLICIES, ROLES
from searchers.transfer import TransferSearcher


class TransferScheduler(SearcherScheduler):
    """FIFO over (config, proxy scale) pairs proposed by a :class:`TransferSearcher`."""

    searcher: TransferSearcher

    def __init__(self, searcher: TransferSearcher, fidelity: Fidelity | None) -> None:
        super().__init__(searcher, fidelity)
        self._budget = fidelity.max if fidelity is not None else None

    def next_action(self, view: StudyView) -> Start | None:
        self.searcher.bind(view.scaling)
        trial_id, recorded = view.next_trial_id, view.replaying
        if not isinstance(recorded, RecordedStart):
            config, scale = self.searcher.propose(trial_id)
        else:
            config, scale = self.searcher.replay_propose(trial_id, recorded.config,
                                                         recorded.record)
        return Start(config, self._budget, scale=scale)

    def _decide(self, trial: Trial, obs: Observation) -> Verdict:
        if self._budget is not None and obs.budget >= self._budget:
            return Verdict.stop("reached the maximum budget")
        return CONTINUE


def _positive_int(name: str, value: object, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise MethodError(f"transfer {name} must be an int >= {low}, got {value!r}")


@dataclass(frozen=True)
class Transfer(Method):
    """The μP-aware scaling prior with transfer Thompson sampling over the proxy ladder.

    ``roles``: ``((param, role), ...)`` overriding the role guessed from a name (roles:
    lr, init, out, attn, wd, batch, other); ``diverge_above``: a final loss above it counts as
    a divergence; ``batch_policy``: ``"fixed"`` or ``"coscaled"`` (sign of the lr-horizon
    prior); ``completep``: depth-wise transfer expected (CompleteP).
    """

    n_init: int = 8
    growth: float = 1.5
    starts: int = 2
    maxiter: int = 60
    candidates: int = 16
    threads: int = 1
    roles: tuple[tuple[str, str], ...] = ()
    diverge_above: float | None = None
    batch_policy: str = "fixed"
    completep: bool = False
    name = "transfer"

    def __post_init__(self) -> None:
        _positive_int("n_init", self.n_init, 3)
        for field in ("starts", "maxiter", "candidates", "threads"):
            _positive_int(field, getattr(self, field))
        if isinstance(self.growth, bool) or not isinstance(self.growth, (int, float)) \
                or not self.growth > 1:
            raise MethodError(f"transfer growth must be a number > 1, got {self.growth!r}")
        if self.batch_policy not in BATCH_POLICIES:
            raise MethodError(f"transfer batch_policy must be one of {list(BATCH_POLICIES)}, "
                              f"got {self.batch_policy!r}")
        if isinstance(self.roles, (str, bytes)) or not all(
                isinstance(r, (list, tuple)) and len(r) == 2 and r[1] in ROLES
                for r in self.roles):
            raise MethodError(f"transfer roles must be (param, role) pairs with roles among "
                              f"{list(ROLES)}, got {self.roles!r}")
        object.__setattr__(self, "roles", tuple((str(a), str(b)) for a, b in self.roles))

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        searcher = TransferSearcher(
            space, seed=derive_seed(seed, "searcher"), n_init=self.n_init, growth=self.growth,
            starts=self.starts, maxiter=self.maxiter, candidates=self.candidates,
            threads=self.threads, roles=dict(self.roles), diverge_above=self.diverge_above,
            batch_policy=self.batch_policy, completep=self.completep)
        return TransferScheduler(searcher, fidelity)

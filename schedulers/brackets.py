"""Pure bracket arithmetic for successive halving, Hyperband and ASHA (no state, no I/O).

Rung ladder
-----------
Rungs follow the paper (Li et al. 2018): ``r_k = R * eta**(k - s_max)`` for ``k = 0..s_max``,
spaced *down* from the maximum budget ``R`` so that every step is exactly ``eta`` and the top
rung is ``R``; ``s_max`` is the largest ``s`` with ``r_min * eta**s <= R``, computed with an
integer loop (never ``int(log(R)/log(eta))``, which drops a rung for R=1000, eta=10 and
R=243, eta=3). When ``R / r_min`` is a power of ``eta`` the ladder starts exactly at ``r_min``;
otherwise the first rung lies in ``[r_min, eta * r_min)``. Integer fidelities round each rung to
the nearest integer (never below ``r_min``): ``r_min=1, R=100, eta=3`` gives 1, 4, 11, 33, 100
and ``r_min=1, R=52, eta=3`` gives 2, 6, 17, 52 (the reference DEHB's 1.93, 5.78, 17.3, 52,
rounded).

Bracket tables (``convention``)
-------------------------------
* ``"li2018"`` (default; Li et al., JMLR 18(185), 2018, Algorithm 1): bracket ``s`` starts
  ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` configs and keeps ``n_i = floor(n * eta**-i)`` at
  rung ``i``. For R=81, eta=3 this is the paper's table: 81/34/15/8/5 configs, 143 in total.
* ``"hpbandster"`` (HpBandSter / BOHB / DEHB / NePS): ``n_0 = floor((s_max + 1) / (s + 1)) *
  eta**s`` and ``n_i = max(1, int(n_0 * eta**-i))``: 81/27/9/6/5 configs, 128 in total.

Bracket ``s`` runs its rungs at the top ``s + 1`` levels of the ladder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hpo.errors import MethodError

CONVENTIONS = ("li2018", "hpbandster")
_EPS = 1e-9
#: most halvings a rung ladder may have (eta=2 over a 1.8e19 budget ratio); more means a
#: fidelity range that no bracket arithmetic (or schedule) can use
MAX_HALVINGS = 64


def check_eta(eta: float) -> float:
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta):
        raise MethodError(f"eta must be a number >= 2, got eta={eta!r}")
    if eta < 2:
        raise MethodError(f"eta (the reduction factor) must be >= 2, got eta={eta!r}")
    return eta


def _pow(eta: float, k: int) -> float:
    return eta**k if isinstance(eta, int) else float(eta) ** k


def max_halvings(r_min: float, r_max: float, eta: float) -> int:
    """``s_max``: the largest ``s`` with ``r_min * eta**s <= r_max`` (integer-safe)."""
    check_eta(eta)
    if r_min <= 0 or r_min > r_max:
        raise MethodError(f"need 0 < min budget <= max budget, got {r_min!r} and {r_max!r}")
    s = 0
    try:
        while r_min * _pow(eta, s + 1) <= r_max * (1 + _EPS):
            s += 1
            if s > MAX_HALVINGS:
                break
    except OverflowError:  # eta**s beyond float range: far more than MAX_HALVINGS
        s = MAX_HALVINGS + 1
    if s > MAX_HALVINGS:
        raise MethodError(f"the budget range {r_min!r}..{r_max!r} spans more than "
                          f"{MAX_HALVINGS} halvings at eta={eta!r}: raise the fidelity min "
                          "budget or eta")
    return s


def rung_levels(r_min: float, r_max: float, eta: float, *, integer: bool = True) -> list[float]:
    """The budgets of the rung ladder from ``r_min`` to ``r_max`` (see the module docstring)."""
    s_max = max_halvings(r_min, r_max, eta)
    if isinstance(eta, int) and isinstance(r_max, int) and r_max % eta**s_max == 0:
        levels: list[float] = [r_max // eta ** (s_max - k) for k in range(s_max + 1)]
    else:
        levels = [r_max / float(eta) ** (s_max - k) for k in range(s_max + 1)]
    levels[-1] = r_max
    if integer:
        levels = [max(int(round(v)), int(r_min)) for v in levels]
        for low, high in zip(levels, levels[1:]):
            if high <= low:
                raise MethodError(f"integer rung levels collapse for eta={eta!r}: {levels}")
    else:
        levels = [max(v, r_min) for v in levels]
    return levels


@dataclass(frozen=True)
class Bracket:
    """One successive-halving bracket: ``counts[i]`` configs evaluated at ``budgets[i]``."""

    s: int
    counts: tuple[int, ...]
    budgets: tuple[float, ...]

    @property
    def n_configs(self) -> int:
        return self.counts[0]

    def total_budget(self, *, reuse: bool = True) -> float:
        """Resource spent: with ``reuse`` promoted trials continue from their checkpoint."""
        total, previous = 0.0, 0.0
        for count, budget in zip(self.counts, self.budgets):
            total += count * (budget - previous if reuse else budget)
            previous = budget
        return total


def bracket_counts(s: int, s_max: int, eta: float, convention: str = "li2018") -> tuple[int, ...]:
    """Per-rung config counts of bracket ``s`` (integer-safe for integer ``eta``)."""
    if convention not in CONVENTIONS:
        raise MethodError(f"unknown bracket convention {convention!r}; choose one of "
                          f"{list(CONVENTIONS)}")
    if isinstance(eta, int):
        if convention == "li2018":
            n = -(-((s_max + 1) * eta**s) // (s + 1))
            return tuple(n // eta**i for i in range(s + 1))
        n0 = ((s_max + 1) // (s + 1)) * eta**s
        return tuple(max(1, n0 // eta**i) for i in range(s + 1))
    if convention == "li2018":
        n = math.ceil((s_max + 1) / (s + 1) * eta**s - _EPS)
        return tuple(int(math.floor(n / eta**i + _EPS)) for i in range(s + 1))
    n0 = math.floor((s_max + 1) / (s + 1)) * eta**s
    return tuple(max(1, int(n0 / eta**i + _EPS)) for i in range(s + 1))


def hyperband_brackets(r_min: float, r_max: float, eta: float, *, convention: str = "li2018",
                       integer: bool = True) -> list[Bracket]:
    """The brackets of one Hyperband iteration, ``s = s_max, ..., 0`` (most aggressive first)."""
    levels = rung_levels(r_min, r_max, eta, integer=integer)
    s_max = len(levels) - 1
    return [Bracket(s, bracket_counts(s, s_max, eta, convention), tuple(levels[s_max - s:]))
            for s in range(s_max, -1, -1)]


def async_bracket_probabilities(levels: list[float], n_brackets: int) -> list[float]:
    """Asynchronous Hyperband bracket distribution over ``b = 0..n_brackets-1``.

    ``P(b) ∝ (s_max + 1) / ((s_max + 1 - b) * r_b)`` (the number of configs the synchronous
    bracket would start, per unit budget; Syne Tune / NePS), renormalised over the first
    ``n_brackets`` brackets. For eta=3, R=81 with all 5 brackets: [0.569, 0.237, 0.105, 0.053,
    0.035].
    """
    s_max = len(levels) - 1
    if not 1 <= n_brackets <= s_max + 1:
        raise MethodError(f"brackets must be in [1, {s_max + 1}] for rung levels {levels}, got "
                          f"{n_brackets}")
    weights = [(s_max + 1) / ((s_max + 1 - b) * levels[b]) for b in range(n_brackets)]
    total = sum(weights)
    return [w / total for w in weights]

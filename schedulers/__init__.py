"""Schedulers answer "which trial, what budget, continue / pause / stop?".

See :class:`hpo.protocols.Scheduler` for the contract every scheduler follows.
"""

from schedulers.asha import ASHAScheduler
from schedulers.brackets import Bracket, hyperband_brackets, rung_levels
from schedulers.dehb import DEHBScheduler
from schedulers.fifo import FIFOScheduler
from schedulers.hyperband import HyperbandScheduler
from schedulers.methods import ASHA, DE, DEHB, Hyperband, RandomSearch, SuccessiveHalving
from schedulers.successive_halving import SuccessiveHalvingScheduler

__all__ = [
    "ASHA", "ASHAScheduler", "Bracket", "DE", "DEHB", "DEHBScheduler", "FIFOScheduler",
    "Hyperband", "hyperband_brackets", "HyperbandScheduler", "RandomSearch", "rung_levels",
    "SuccessiveHalving", "SuccessiveHalvingScheduler"
]

"""Schedulers answer "which trial, what budget, continue / pause / stop?".

See :class:`hpo.protocols.Scheduler` for the contract every scheduler follows.
"""

from schedulers.asha import ASHAScheduler
from schedulers.brackets import Bracket, hyperband_brackets, rung_levels
from schedulers.fifo import FIFOScheduler
from schedulers.hyperband import HyperbandScheduler
from schedulers.dehb import DEHBScheduler
from schedulers.methods import ASHA, DE, DEHB, Hyperband, RandomSearch, SuccessiveHalving
from schedulers.successive_halving import SuccessiveHalvingScheduler

__all__ = [
    "ASHA", "ASHAScheduler", "DE", "DEHB", "DEHBScheduler", "Bracket", "FIFOScheduler", "Hyperband", "HyperbandScheduler",
    "RandomSearch", "SuccessiveHalving", "SuccessiveHalvingScheduler", "hyperband_brackets",
    "rung_levels",
]

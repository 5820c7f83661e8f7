"""Every built-in scheduler through the same contract (hpo.testing)."""

import pytest

from hpo import Categorical, Fidelity, Float, Int, SearchSpace
from hpo.testing import check_scheduler_contract
from schedulers import ASHA, DE, DEHB, Hyperband, RandomSearch, SuccessiveHalving

SPACE = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 4),
                     Categorical("act", ["relu", "gelu", "tanh"])])

METHODS = {
    "random": RandomSearch(),
    "sh": SuccessiveHalving(),
    "sh-hpbandster-2": SuccessiveHalving(halvings=2, convention="hpbandster"),
    "hyperband": Hyperband(),
    "hyperband-hpbandster-eta2": Hyperband(eta=2, convention="hpbandster"),
    "asha": ASHA(),
    "asha-stopping": ASHA(variant="stopping"),
    "asha-3-brackets": ASHA(brackets=3, eta=2),
    "dehb": DEHB(),
    "dehb-sync-deferred": DEHB(mode="sync", target_rule="deferred"),
    "dehb-currenttobest1-exp": DEHB(strategy="currenttobest1_exp", target_rule="worst"),
    "de": DE(population=8),
}


@pytest.mark.parametrize("name", sorted(METHODS))
@pytest.mark.parametrize("fidelity", [Fidelity("epochs", 1, 27),
                                      Fidelity("tokens", 0.1, 2.7, integer=False)],
                         ids=["int", "float"])
def test_scheduler_contract(name, fidelity):
    check_scheduler_contract(METHODS[name], SPACE, fidelity, workers=3)


@pytest.mark.parametrize("method", [RandomSearch(), DE(population=6)])
def test_single_fidelity_methods_without_fidelity(method):
    check_scheduler_contract(method, SPACE, None, workers=2)


@pytest.mark.parametrize("method", ["sh", "hyperband", "asha", "dehb"])
def test_multi_fidelity_methods_need_a_fidelity(method):
    from hpo import MethodError, Study

    with pytest.raises(MethodError, match="multi-fidelity: pass fidelity="):
        Study(SPACE, "loss", method=method, seed=0)

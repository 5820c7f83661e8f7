"""Method options of the wrong type are MethodErrors naming the value (issue 14, item 6)."""

import pytest

from hpo import MethodError
from schedulers import ASHA, DE, DEHB


@pytest.mark.parametrize("make, match", [
    (lambda: DE(strategy=True), "unknown DE strategy True"),
    (lambda: DEHB(strategy=None), "unknown DE strategy None"),
    (lambda: ASHA(brackets="2"), "ASHA brackets must be an int >= 1, got '2'"),
    (lambda: ASHA(brackets=0), "got 0"),
    (lambda: ASHA(brackets=True), "got True"),
])
def test_bad_option_types(make, match):
    with pytest.raises(MethodError, match=match):
        make()

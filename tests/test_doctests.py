"""Every ``Example:`` block in the library docstrings runs."""

import doctest
import importlib

import pytest

MODULES = ["hpo.space.search_space", "hpo.space.conditions", "hpo.core.scale", "hpo.core.study",
           "hpo.rng", "hpo.core.types", "hpo.testing", "searchers.random", "schedulers.hyperband"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0

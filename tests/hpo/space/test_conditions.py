"""Conditional parameters: sampled and validated only when active, journaled, encoded fixed."""

import numpy as np
import pytest

import hpo
from hpo import Categorical, Condition, Float, Int, SearchSpace, SpaceError, Study


def _space():
    return SearchSpace(
        [Categorical("opt", ["sgd", "adam"]), Float("momentum", 0.0, 0.99),
         Categorical("nesterov", [True, False]), Float("lr", 1e-4, 1.0, log=True),
         Int("beta_steps", 1, 10)],
        conditions=[Condition("momentum", "opt", ["sgd"]),
                    Condition("nesterov", "momentum", [0.0, 0.5, 0.9]),  # rarely active
                    Condition("beta_steps", "opt", ["adam"])])


def test_sampled_only_when_active():
    space = _space()
    configs = space.sample(np.random.default_rng(0), 200)
    for config in configs:
        assert ("momentum" in config) == (config["opt"] == "sgd")
        assert ("beta_steps" in config) == (config["opt"] == "adam")
        assert "nesterov" not in config  # continuous momentum never hits the listed values
        assert space.validate(config) == config
    assert {c["opt"] for c in configs} == {"sgd", "adam"}


def test_validate_requires_active_and_drops_inactive():
    space = _space()
    assert space.validate({"opt": "adam", "lr": 0.1, "beta_steps": 3, "momentum": 0.3}) == \
        {"opt": "adam", "lr": 0.1, "beta_steps": 3}
    with pytest.raises(hpo.InvalidConfigError, match="momentum"):
        space.validate({"opt": "sgd", "lr": 0.1})
    config = space.validate({"opt": "sgd", "lr": 0.1, "momentum": 0.5, "nesterov": True})
    assert config["nesterov"] is True and space.is_active("nesterov", config)
    assert not space.is_active("nesterov", {"opt": "adam", "momentum": 0.5})  # parent inactive


def test_encoding_puts_inactive_at_a_fixed_value_and_decodes_back():
    space = _space()
    config = {"opt": "adam", "lr": 0.01, "beta_steps": 4}
    u = space.encode(config)
    assert u[space.names.index("momentum")] == SearchSpace.INACTIVE_CODE
    decoded = space.decode(u)
    assert decoded.keys() == config.keys() and decoded["lr"] == pytest.approx(0.01)


def test_json_round_trip_and_unconditional_json_unchanged():
    space = _space()
    again = SearchSpace.from_json(space.to_json())
    assert again == space and again.conditions == space.conditions
    plain = SearchSpace([Float("x", 0, 1)])
    assert plain.to_json() == {"params": [Float("x", 0, 1).to_json()]}


def _drive(study, n):
    for _ in range(n):
        ticket = study.ask()
        loss = ticket.config["lr"] + ticket.config.get("momentum", 0.0)
        study.tell(ticket.trial_id, {"loss": loss})


def test_conditional_study_journals_and_replays(tmp_path):
    study = Study(_space(), "loss", method="random", seed=4, storage=tmp_path)
    _drive(study, 12)
    reopened = Study.open(tmp_path)
    assert reopened.space == _space()
    assert [t.config for t in reopened.trials.values()] == \
        [t.config for t in study.trials.values()]
    uninterrupted = Study(_space(), "loss", method="random", seed=4)
    _drive(uninterrupted, 12)
    assert reopened.ask().config == uninterrupted.ask().config


@pytest.mark.parametrize("conditions, match", [
    ([Condition("nope", "opt", ["sgd"])], "unknown parameter 'nope'"),
    ([Condition("lr", "opt", ["rmsprop"])], "can never be 'rmsprop'"),
    ([Condition("lr", "opt", ["sgd"]), Condition("opt", "lr", [0.1])], "cycle"),
    ("lr", "list of hpo.Condition"),
])
def test_invalid_conditions_are_space_errors(conditions, match):
    with pytest.raises(SpaceError, match=match):
        SearchSpace([Categorical("opt", ["sgd", "adam"]), Float("lr", 1e-4, 1.0)],
                    conditions=conditions)


@pytest.mark.parametrize("args, match", [
    (("a", "a", [1]), "itself"), (("a", "b", []), "non-empty"), (("a", "b", "x"), "non-empty"),
    ((None, "b", [1]), "parameter name")])
def test_invalid_condition_objects(args, match):
    with pytest.raises(SpaceError, match=match):
        Condition(*args)

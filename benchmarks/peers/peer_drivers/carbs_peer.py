"""The CARBS reference (imbue-ai/carbs @ 8f7fee0) behind the JSON-lines peer protocol.

Runs in the ``carbs`` peer venv. Our parameters map to CARBS spaces as its README does: a log
float or int to ``LogSpace`` (``is_integer`` for ints), a linear one to ``LinearSpace``, both
bounded by the space; the search centre of every parameter is the centre of its range on its
own scale (the geometric mean for log parameters) and a linear parameter's scale is its range
(at least 1 / 0.3 for integers): the rules our ``carbs`` method derives from a space by default
(``searchers.carbs_space``). CARBS has no categorical parameters: a space with one is refused
(constants are passed through).
Its documented defaults otherwise (``CARBSParams(better_direction_sign=-1)``, 4 random samples,
resampling every 5 observations, Thompson outstanding suggestions), with wandb disabled and its
pickled checkpoints written into a temporary folder that is deleted at the end. A study's cost (the
``cost`` of each report: FLOPs, seconds) is the observation's cost.
"""

from __future__ import annotations

import math
import os
import tempfile


def _params(space):
    from carbs import LinearSpace, LogSpace, Param

    params = []
    for p in space:
        kind = p["type"]
        if kind == "constant":
            continue  # not searched: passed through in every suggestion
        if kind not in ("float", "int"):
            raise ValueError(f"CARBS has no {kind} parameters ({p['name']!r})")
        low, high, integer = float(p["low"]), float(p["high"]), kind == "int"
        if p.get("log"):
            centre = math.sqrt(low * high)
            box = LogSpace(min=low, max=high, is_integer=integer)
        else:
            centre = 0.5 * (low + high)
            scale = max(high - low, 1 / 0.3) if integer else high - low
            box = LinearSpace(min=low, max=high, is_integer=integer, scale=scale)
        if integer:
            centre = int(round(centre))
        params.append(Param(name=p["name"], space=box, search_center=centre))
    return params


def build(space, seed, *, resample_frequency=5, saved_on_every_observation=True):
    """A CARBS instance for our parameter list (and its temporary checkpoint folder); the two
    options are CARBS's defaults unless the overhead measurement turns them off."""
    os.environ["WANDB_MODE"] = "disabled"
    from carbs import CARBS, CARBSParams

    folder = tempfile.TemporaryDirectory(prefix="carbs-ref-")
    config = CARBSParams(better_direction_sign=-1, is_wandb_logging_enabled=False, seed=seed,
                         checkpoint_dir=folder.name + "/",
                         resample_frequency=resample_frequency,
                         is_saved_on_every_observation=saved_on_every_observation)
    return CARBS(config, _params(space)), folder


class CARBSDriver:
    """``carbs-ref``: every suggestion is one trial at the full budget (CARBS is
    single-fidelity); the report's loss and cost are observed when the trial ends."""

    def __init__(self, params, fidelity, seed, workers, algo, evaluations=None):
        self.params = params
        self.fidelity = fidelity
        self.carbs, self._folder = build(params, seed)
        self.suggestions = {}  # key -> CARBS's own suggestion dict (what observe() expects)

    def ask(self, key):
        suggestion = self.carbs.suggest(suggestion_id=str(key)).suggestion
        config = {}
        for p in self.params:
            if p["type"] == "constant":
                config[p["name"]] = p["value"]
                continue
            value = suggestion[p["name"]]
            if p["type"] == "int":
                value = min(max(int(round(float(value))), int(p["low"])), int(p["high"]))
            else:
                value = min(max(float(value), float(p["low"])), float(p["high"]))
            config[p["name"]] = value
        self.suggestions[key] = suggestion
        budget = self.fidelity["max"] if self.fidelity else None
        return {"action": "start", "key": key, "config": config, "budget": budget}

    def report(self, key, budget, loss, cost, final):
        if not final:
            return "continue"
        self._observe(key, loss, cost)
        return "stop"

    def end(self, key, status):
        if key in self.suggestions:
            self._observe(key, math.nan, 0.0)

    def _observe(self, key, loss, cost):
        """Observe the trial of ``key``; a non-finite loss is a CARBS failure."""
        from carbs import ObservationInParam

        failed = not math.isfinite(loss)
        self.carbs.observe(ObservationInParam(input=self.suggestions.pop(key),
                                              output=0.0 if failed else loss,
                                              cost=max(float(cost), 1e-12), is_failure=failed))

    def close(self):
        self._folder.cleanup()

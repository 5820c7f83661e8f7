"""Seconds per suggestion of the peers' GP methods at n observations (runs in a peer's venv).

``python -m benchmarks.gp_overhead --peers`` sends ``{"op": "overhead", "peer": "optuna" |
"synetune", "sizes": [...], "decisions": k, "seed": s}`` to ``worker.py``. The peer is fed
``n`` observations of :func:`loss` (the same 6-D function as ``benchmarks/gp_overhead.py``)
without model decisions, then ``k`` consecutive suggestions are timed, each followed by its
observation:

* Optuna ``GPSampler`` (defaults): ``n`` completed trials through ``study.add_trial``; a
  suggestion is ``study.ask()`` plus the ``suggest_*`` calls (where the GP is fitted and the
  acquisition optimised).
* Syne Tune ``MOBSTER`` (defaults, stopping type, rungs 1, 3, 9, 27, 81): trials run through
  the scheduler itself with its random initial choices extended until the searcher holds
  ``n`` rung observations (Syne Tune's model sees results at rungs only); then the default
  number of initial random choices is restored and ``scheduler.suggest`` is timed (a model
  decision: GP fit + acquisition). Each timed trial reports once, at rung 1.
"""

from __future__ import annotations

import math
import random
import time

SPACE = [{"type": "float", "name": f"x{i}", "low": 0.0, "high": 1.0, "log": False}
         for i in range(3)] + [
    {"type": "float", "name": "lr", "low": 1e-5, "high": 1e-1, "log": True},
    {"type": "int", "name": "width", "low": 16, "high": 1024, "log": True},
    {"type": "categorical", "name": "act", "choices": ["relu", "gelu", "tanh"]}]
ACTS = ["relu", "gelu", "tanh"]
RUNGS = (1, 3, 9, 27, 81)


def loss(config, level=81):
    """``benchmarks.gp_overhead.loss`` (plus ``1/level`` at a resource level below 81)."""
    u = [config["x0"], config["x1"], config["x2"]]
    value = (sum((x - 0.3) ** 2 for x in u) + 0.1 * (math.log10(config["lr"]) + 3) ** 2
             + 0.05 * math.log2(config["width"] / 128) ** 2 + (config["act"] == "tanh")
             + 0.1 * math.sin(20 * u[0]))
    return value + (1.0 / level - 1.0 / 81)


def _summary(n, times):
    ordered = sorted(times)
    return {"observations": n, "mean_s": sum(times) / len(times),
            "median_s": ordered[len(ordered) // 2], "max_s": ordered[-1], "seconds": times}


def optuna_gp(sizes, decisions, seed):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dist = {"x0": optuna.distributions.FloatDistribution(0.0, 1.0),
            "x1": optuna.distributions.FloatDistribution(0.0, 1.0),
            "x2": optuna.distributions.FloatDistribution(0.0, 1.0),
            "lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
            "width": optuna.distributions.IntDistribution(16, 1024, log=True),
            "act": optuna.distributions.CategoricalDistribution(ACTS)}
    rows = []
    for n in sizes:
        rng = random.Random(seed)
        study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
        for _ in range(n):
            config = {f"x{i}": rng.random() for i in range(3)}
            config.update(lr=10 ** rng.uniform(-5, -1),
                          width=round(2 ** rng.uniform(4, 10)), act=rng.choice(ACTS))
            study.add_trial(optuna.trial.create_trial(params=config, distributions=dist,
                                                      value=loss(config)))
        times = []
        for _ in range(decisions):
            start = time.perf_counter()
            trial = study.ask(dist)
            config = dict(trial.params)
            times.append(time.perf_counter() - start)
            study.tell(trial, loss(config))
        rows.append(_summary(n, times))
    return rows


def _st_config(suggestion):
    config = dict(suggestion.config)
    config["width"] = min(max(round(float(config["width"])), 16), 1024)
    config["act"] = ACTS[int(config["act"])]
    return config


class _SyneTuneRun:
    """One Syne Tune scheduler driven trial by trial (as ``SyneTuneDriver`` drives it)."""

    def __init__(self, scheduler):
        self.scheduler, self.key = scheduler, 0

    def trial(self, levels):
        """Suggest, run at ``levels`` until stopped; (suggest seconds, results reported)."""
        import datetime

        from syne_tune.backend.trial_status import Trial

        self.key += 1
        start = time.perf_counter()
        suggestion = self.scheduler.suggest(trial_id=self.key)
        elapsed = time.perf_counter() - start
        trial = Trial(trial_id=self.key, config=suggestion.config,
                      creation_time=datetime.datetime.now())
        self.scheduler.on_trial_add(trial)
        config, reported, result = _st_config(suggestion), 0, None
        for level in levels:
            result = {"loss": loss(config, level), "hpo_level": level}
            reported += 1
            if self.scheduler.on_trial_result(trial, result) != "CONTINUE":
                break
        self.scheduler.on_trial_complete(trial, result)
        return elapsed, reported


def synetune_mobster(sizes, decisions, seed):
    from syne_tune.config_space import choice, loguniform, uniform
    from syne_tune.optimizer.baselines import MOBSTER

    space = {f"x{i}": uniform(0.0, 1.0) for i in range(3)}
    space.update(lr=loguniform(1e-5, 1e-1), width=loguniform(16, 1024),
                 act=choice([0, 1, 2]), hpo_max_level=81)
    rows = []
    for n in sizes:
        run = _SyneTuneRun(MOBSTER(space, metric="loss", mode="min", resource_attr="hpo_level",
                                   max_resource_attr="hpo_max_level", random_seed=seed))
        searcher = run.scheduler.searcher
        default_random = searcher.num_initial_random_choices
        searcher.num_initial_random_choices = 10 ** 9  # feed: random choices, no model
        held = 0
        while held < n:
            top = RUNGS[run.key % len(RUNGS)]
            held += run.trial([r for r in RUNGS if r <= top][: n - held])[1]
        searcher.num_initial_random_choices = default_random
        times = [run.trial([1])[0] for _ in range(decisions)]
        rows.append(_summary(n, times))
    return rows


MEASURES = {"optuna": optuna_gp, "synetune": synetune_mobster}


def measure(peer, sizes, decisions, seed):
    return MEASURES[peer](sizes, decisions, seed)


def carbs_ref(sizes, decisions, seed, dims=(3,), pending=3):
    """The CARBS reference on ``benchmarks.carbs_overhead``'s cost-aware toy: ``n`` results
    around the search centre (basic-space offsets ``N(0, 0.6)``, clipped to the bounds),
    ``pending`` remembered outstanding suggestions, resampling off; then ``decisions`` timed
    ``suggest()`` calls that are not remembered, so each sees the same data (as ours)."""
    from carbs import ObservationInParam
    from peer_drivers.carbs_peer import build

    rows = []
    for dim in dims:
        space = [{"type": "float", "name": "lr", "low": 1e-5, "high": 1.0, "log": True},
                 {"type": "int", "name": "width", "low": 8, "high": 4096, "log": True}]
        space += [{"type": "float", "name": f"x{j}", "low": 0.0, "high": 1.0, "log": False}
                  for j in range(dim - 2)]
        for n in sizes:
            rng = random.Random(seed)
            carbs, folder = build(space, seed, resample_frequency=0,
                                  saved_on_every_observation=False)
            for _ in range(n):
                lr = 10 ** min(max(math.log10(math.sqrt(1e-5)) + rng.gauss(0, 0.6), -5), 0)
                width = round(10 ** min(max(math.log10(math.sqrt(8 * 4096)) + rng.gauss(0, 0.6),
                                            math.log10(8)), math.log10(4096)))
                config = {"lr": lr, "width": width}
                config.update({f"x{j}": min(max(0.5 + rng.gauss(0, 0.6), 0.0), 1.0)
                               for j in range(dim - 2)})
                loss = 0.1 * (math.log10(lr) + 3) ** 2 + 3 / math.sqrt(width)
                loss += sum((config[f"x{j}"] - 0.3) ** 2 for j in range(dim - 2))
                carbs.observe(ObservationInParam(input=config, output=loss, cost=float(width)))
            for k in range(pending):
                carbs.suggest(suggestion_id=f"pending-{k}")
            times = []
            for _ in range(decisions):
                start = time.perf_counter()
                carbs.suggest(is_suggestion_remembered=False)
                times.append(time.perf_counter() - start)
            folder.cleanup()
            rows.append({**_summary(n, times), "dim": dim, "pending": pending})
    return rows


MEASURES["carbs"] = carbs_ref

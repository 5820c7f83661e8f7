"""Calibrating the learning-curve GP on the study's own curves (leave-the-future-out)."""

import numpy as np

from searchers.models.curve_calibration import (
    extrapolation_inflation,
    held_out_split,
    standardised_errors,
)
from searchers.models.curve_data import Curve, curve_rows
from searchers.models.learning_curve import LearningCurveModel


def _curves(n, T, *, seed, late_bloomers=False):
    """Curves ``a(u) + 0.8 exp(-lam t)``; with ``late_bloomers`` half of them instead stay
    at 1.5 for a random part of their length and then fall to 0.6 below their asymptote, so
    their first points say nothing of their ends."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, T + 1) / T
    out = []
    for i in range(n):
        u = rng.random(2)
        a = 0.5 * np.sin(3 * u[0]) + (u[1] - 0.4) ** 2
        y = a + 0.8 * np.exp(-rng.gamma(3.0, 2.0) * t) + 0.01 * rng.standard_normal(T)
        if late_bloomers and i % 2:
            k = int(rng.integers(2, T // 2))
            y = np.where(np.arange(T) < k, 1.5, a - 0.6) + 0.01 * rng.standard_normal(T)
        seen = T if i % 3 else int(rng.integers(1, T // 3))  # a third stop early
        out.append(Curve(i, u, t[:seen] * T, y[:seen]))
    return curve_rows(out, float(T))


def _fitted(rows, seed=0):
    m = LearningCurveModel(2)
    assert m.fit(rows.X, rows.y, center=rows.y.mean(), scale=rows.y.std(), maxiter=60,
                 seed=seed).ok
    return m


def test_split_holds_each_long_curve_once_and_keeps_only_its_first_point():
    rows = _curves(30, 12, seed=0)
    seen = []
    for fold in range(4):
        keep, targets = held_out_split(rows, fold, 4, max_per_fold=100)
        for r in targets:
            tid = rows.trial_ids[r]
            own = np.flatnonzero(rows.trial_ids == tid)
            t = rows.X[own, -1]
            assert rows.X[r, -1] == t.max() and t.max() >= 4 * t.min()
            assert keep[own].sum() == 1 and keep[own[np.argmin(t)]]
            seen.append(int(tid))
        others = ~np.isin(rows.trial_ids, rows.trial_ids[targets])
        assert keep[others].all()
    long = [i for i in np.unique(rows.trial_ids)
            if rows.X[rows.trial_ids == i, -1].max() >= 4 * rows.X[rows.trial_ids == i, -1].min()]
    assert sorted(seen) == sorted(int(i) for i in long)  # every long curve, in one fold only
    _, few = held_out_split(rows, 0, 4, max_per_fold=3)
    assert len(few) == 3


def test_inflation_is_about_one_when_the_model_fits_and_large_when_first_points_mislead():
    rows = _curves(40, 16, seed=1)
    model = _fitted(rows)
    z = standardised_errors(model, rows)
    assert len(z) >= 8
    good = extrapolation_inflation(model, rows)
    assert 1.0 <= good < 3.0, good
    # the same hyper-parameters on curves half of which bloom late: over-confident there
    odd = _curves(40, 16, seed=1, late_bloomers=True)
    bad = extrapolation_inflation(model, odd)
    assert bad > 3.0 and bad > 2 * good, (good, bad)


def test_too_few_long_curves_give_no_inflation():
    rows = _curves(6, 16, seed=2)
    model = _fitted(rows)
    assert extrapolation_inflation(model, rows, min_held=50) == 1.0


def test_widened_posterior_scales_variances_only():
    rows = _curves(20, 10, seed=3)
    model = _fitted(rows)
    post = model.posterior(rows.X, rows.y)
    Q = np.column_stack([np.random.default_rng(0).random((5, 2)), np.ones(5)])
    m1, v1 = post.predict(Q, noise=True)
    wide = post.widened(4.0)
    m4, v4 = wide.predict(Q, noise=True)
    assert np.allclose(m1, m4) and np.allclose(v4, 4 * v1)
    _, vp = wide.with_pending(Q[:2]).predict(Q, noise=True)
    _, vp1 = post.with_pending(Q[:2]).predict(Q, noise=True)
    assert np.allclose(vp, 4 * vp1)

"""The RMSE floor set by the BMS model: the best linear estimate of a pack's new capacity from its
reports, simulated with the BMS model's own draws, is off by the stated posterior sd."""

from __future__ import annotations

import numpy as np
import pytest

from ml.bms import BmsModel
from ml.noise_floor import capacity_sd, floor_rmse, level_sd


def test_the_best_estimate_of_the_capacity_is_off_by_the_stated_floor():
    bms, cap_sd = BmsModel(seed=5), 0.01
    t = 3.0 - np.arange(104)[::-1] / 52.0  # two years of weekly reports up to year 3
    # the estimator that knows the covariances: c_hat = 1 + s_c^2 1' S^-1 (y - 1)
    cov = cap_sd**2 + bms.bias0**2 + bms.drift_per_sqrt_year**2 * np.minimum.outer(t, t)
    gain = cap_sd**2 * np.linalg.solve(cov + bms.noise**2 * np.eye(len(t)), np.ones(len(t)))
    rng = np.random.default_rng(0)
    capacity = 1.0 + cap_sd * rng.standard_normal(3000)
    full = np.concatenate([np.arange(1, 52) / 52.0, t])  # the bias walks from service start
    errors = []
    for v, c in enumerate(capacity):
        reports = bms.report(v, full, np.full(len(full), c))[-len(t):]
        errors.append(1.0 + gain @ (reports - 1.0) - c)
    sd = level_sd(t, bms, cap_sd)
    assert np.sqrt(np.mean(np.square(errors))) == pytest.approx(sd, rel=0.05)
    # the recent reports alone are worse: they carry the whole bias
    assert sd < np.sqrt(bms.bias0**2 + 3.0 * bms.drift_per_sqrt_year**2)
    # a forecast of a pack at 90 % SOH inherits 90 % of the error
    assert floor_rmse(t[None, :], np.array([[0.9]]), bms, cap_sd)[0] == pytest.approx(0.9 * sd)


def test_capacity_spread_is_the_fleets_cut_normal():
    # variance of a unit normal cut at +-3: 1 - 2 3 phi(3) / (2 Phi(3) - 1)
    cut_var = 1.0 - 6.0 * np.exp(-4.5) / np.sqrt(2.0 * np.pi) / 0.9973
    assert capacity_sd() == pytest.approx(0.01 * np.sqrt(cut_var), rel=1e-3)

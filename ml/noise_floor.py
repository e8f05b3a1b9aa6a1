"""The least RMSE any forecaster can reach on a window, set by what the reported SOH hides.

A pack's true SOH is ``c (1 - q(t))``: ``c`` its capacity when new (the hidden manufacturing
variation, ``battery_fmu.variation``: normal, sd 1 % of nominal) and ``q`` its fade. Give a
forecaster more than it has: the fade ``q`` of the vehicle exactly, at every time, and the stated
parameters of the BMS model (:mod:`ml.bms`). What remains unknown is ``c``, and the window's reports
``y_k / (1 - q_k) = c + (b(t_k) + e_k) / (1 - q_k)`` see it only added to the BMS's bias ``b``, a
random walk from ``N(0, bias0^2)``. All is Gaussian, so the best estimate of ``c`` is the linear
one and its error has the posterior variance

    var(c | window) = s_c^2 - s_c^2 1' (s_c^2 1 1' + B + noise^2 I)^-1 1 s_c^2,
    B_jk = bias0^2 + drift^2 min(t_j, t_k)

(``B`` the bias's covariance at the report times). Leaving out the ``1 / (1 - q_k)`` that widens
the bias and noise only lowers this variance, so what is computed is a lower bound for the oracle
too. Its forecast ``c_hat (1 - q(t + h))`` is off by ``(c_hat - c) (1 - q(t + h))``: the floor of
a horizon is the posterior sd times the true SOH there over ``c`` (taken as 1). No forecaster that
knows less does better on average; the usage forecasters know less (the fade's manufacturing rate
factors, the future usage), so their RMSE lies above it.
"""

from __future__ import annotations

import numpy as np

from ml.bms import BmsModel


def capacity_sd() -> float:
    """sd of the new pack's capacity over nominal [1] as fleets draw it (normal, cut at ``truncate`` sd)."""
    from scipy.stats import truncnorm

    from battery_fmu.variation import SPREAD

    cut = SPREAD.truncate
    return SPREAD.capacity_sd * float(np.sqrt(truncnorm.var(-cut, cut)))


def level_sd(t_years: np.ndarray, bms: BmsModel, cap_sd: float) -> float:
    """Posterior sd [1] of the capacity when new given reports at ``t_years`` (module docstring)."""
    t = np.asarray(t_years, dtype=float)
    bias = bms.bias0**2 + bms.drift_per_sqrt_year**2 * np.minimum.outer(t, t)
    cov = cap_sd**2 + bias + bms.noise**2 * np.eye(len(t))
    ones = np.ones(len(t))
    return float(np.sqrt(max(cap_sd**2 - cap_sd**4 * ones @ np.linalg.solve(cov, ones), 0.0)))


def floor_rmse(t_windows: np.ndarray, soh_target: np.ndarray, bms: BmsModel, cap_sd: float | None = None):
    """RMSE floor [1] per horizon for windows with report times ``t_windows`` [n, history] (years)
    and true SOH ``soh_target`` [n, horizons] at the horizons."""
    cap_sd = capacity_sd() if cap_sd is None else cap_sd
    sd = np.array([level_sd(t, bms, cap_sd) for t in t_windows])
    return np.sqrt(np.mean((sd[:, None] * np.asarray(soh_target)) ** 2, axis=0))

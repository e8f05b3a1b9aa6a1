"""Split conformal prediction intervals (Vovk et al. 2005; Lei et al. 2018, "Distribution-free
predictive inference for regression").

On calibration data held out from training (whole vehicles), the absolute residuals ``r_1..r_n`` of
a forecaster; the interval for a new forecast is ``yhat +- q`` with ``q`` the ``ceil((n + 1)(1 - alpha))``-th
smallest residual. If the new point is exchangeable with the calibration points, it is covered with
probability at least ``1 - alpha`` and at most ``1 - alpha + 1/(n + 1)`` (no ties). Windows of one
vehicle are not independent of each other, so the guarantee holds per vehicle rather than per
window; the coverage measured on held-out vehicles says how close it comes.
"""

from __future__ import annotations

import math

import numpy as np


def conformal_quantile(residuals: np.ndarray, alpha: float) -> np.ndarray:
    """Half-width per column of ``residuals`` [n, k] (or [n]) for ``1 - alpha`` intervals (inf if n too small)."""
    r = np.sort(np.abs(np.asarray(residuals, dtype=float)), axis=0)
    n = r.shape[0]
    rank = math.ceil((n + 1) * (1.0 - alpha))
    if rank > n:
        return np.full(r.shape[1:], np.inf)
    return r[rank - 1]


def coverage(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of ``y`` within ``[low, high]``."""
    return float(np.mean((y >= low) & (y <= high)))


def wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a share observed on ``n`` points."""
    if n == 0:
        return (0.0, 1.0)
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(centre - half, 0.0), min(centre + half, 1.0))

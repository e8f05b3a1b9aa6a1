"""Split conformal prediction intervals (Vovk et al. 2005; Lei et al. 2018, "Distribution-free
predictive inference for regression").

On calibration data held out from training (whole vehicles), the absolute residuals ``r_1..r_n`` of
a forecaster; the interval for a new forecast is ``yhat +- q`` with ``q`` the ``ceil((n + 1)(1 - alpha))``-th
smallest residual. If the new point is exchangeable with the calibration points, it is covered with
probability at least ``1 - alpha`` and at most ``1 - alpha + 1/(n + 1)`` (no ties). Windows of one
vehicle are not independent of each other, so the guarantee holds per vehicle rather than per
window; the coverage measured on held-out vehicles says how close it comes, and its confidence
interval (:func:`clustered_interval`) counts the vehicles, not only the forecasts.
"""

from __future__ import annotations

import math

import numpy as np


def conformal_quantile(residuals: np.ndarray, alpha: float) -> np.ndarray:
    """Half-width per column of ``residuals`` [n, k] for ``1 - alpha`` intervals (inf: n too small)."""
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


def clustered_interval(hits: np.ndarray, clusters: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """95 % interval of the share of ``hits`` [n, ...] (True where covered) when the rows come in
    ``clusters`` [n] (vehicles) whose rows are not independent of each other.

    The Wilson interval on the effective number of independent points: ``p (1 - p) / v``, with ``v``
    the cluster-robust variance of the share (the spread of the clusters' hit counts around ``p``
    times their sizes, scaled by ``C / (C - 1)``), kept between the number of clusters ``C`` and the
    number of points (``C`` when every point is covered or none is). Independent points (one per
    cluster) give the plain Wilson interval; clusters wholly covered or wholly missed give that of
    ``C`` points.
    """
    hits = np.asarray(hits, dtype=float).reshape(len(clusters), -1)
    share = float(hits.mean())
    _, index = np.unique(np.asarray(clusters), return_inverse=True)
    n_clusters, n = int(index.max()) + 1, hits.size
    per_cluster = np.bincount(index, weights=hits.sum(axis=1), minlength=n_clusters)
    sizes = np.bincount(index, minlength=n_clusters) * hits.shape[1]
    var = np.sum((per_cluster - share * sizes) ** 2) / n**2 * n_clusters / max(n_clusters - 1, 1)
    # all covered (or none): nothing tells how alike a vehicle's forecasts are; count the vehicles
    effective = n_clusters if var <= 0.0 else share * (1.0 - share) / var
    return wilson_interval(share, float(np.clip(effective, n_clusters, n)), z)

"""One step of a sigma-point Kalman filter for any process model whose first state is the nonlinear one.

The points are built on the Cholesky factor ``L`` of the covariance (lower triangular, so only its first
column moves the first state):

- along the first column, the five nodes of a Gauss-Hermite rule (exact for a Gaussian's moments up to the
  ninth): the first state (the SOC) meets the OCV table's flat middle and steep ends with their true
  probability, where the two points of a cubature rule at ``sqrt(n)`` standard deviations would give the
  steep ends a tenth of the weight and make the voltage look far more telling than it is on a plateau;
- along each other column, a pair at ``+-c`` with weight ``1/(2 c^2)`` each, taken from the centre node's
  weight, with ``c`` large enough to leave that weight positive: the other states enter the step nearly
  linearly, so a wide spread costs nothing, and every weight stays positive (the covariance stays positive
  definite in a long run).

No Jacobian is needed, which suits a model made of look-up tables. The measurement here depends on the
state at the step's start and the input over the step (a mean terminal voltage), so one propagation gives
both the predicted states and the predicted measurements, and the update uses their cross-covariance.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

#: Gauss-Hermite nodes along the first state's direction.
NODES = 5
#: Weight left to the centre node once the pairs along the other directions have taken theirs.
CENTRE_WEIGHT = 0.05


@lru_cache(maxsize=8)
def rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit points, one per row, in the coordinates of L; weights) of the rule for ``n`` states."""
    nodes, w = np.polynomial.hermite_e.hermegauss(NODES)
    w = w / w.sum()
    centre = NODES // 2
    c2 = (n - 1) / (w[centre] - CENTRE_WEIGHT)
    points = np.zeros((NODES + 2 * (n - 1), n))
    weights = np.empty(len(points))
    points[:NODES, 0], weights[:NODES] = nodes, w
    weights[centre] = CENTRE_WEIGHT
    for j in range(1, n):
        points[NODES + 2 * (j - 1), j] = np.sqrt(c2)
        points[NODES + 2 * (j - 1) + 1, j] = -np.sqrt(c2)
    weights[NODES:] = 0.5 / c2
    return points, weights


def sigma_points(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(points, one per row; their weights) for the mean ``x`` and covariance ``p``."""
    try:
        root = np.linalg.cholesky(p)
    except np.linalg.LinAlgError:
        # Round-off after many updates (or an update far outside the model's linear reach): any S with
        # S S^T = P spreads the points; the symmetric one from the eigenvectors exists for every
        # symmetric P, with eigenvalues that round-off made negative taken as zero.
        w, v = np.linalg.eigh(0.5 * (p + p.T))
        root = v * np.sqrt(np.maximum(w, 0.0))
    unit, weights = rule(len(x))
    return x + unit @ root.T, weights


def step(x: np.ndarray, p: np.ndarray, propagate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
         q: np.ndarray, r: np.ndarray | None = None, y: np.ndarray | None = None
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Predict through ``propagate`` and, when a measurement ``y`` is given, update with it.

    Parameters
    ----------
    x, p : the state's mean and covariance at the step's start.
    propagate : sigma points -> (their states at the step's end, their predicted measurements).
    q : process-noise covariance over the step; r : measurement-noise covariance.
    y : the measurement, or None to predict only. Entries that are NaN are not used.

    Returns
    -------
    (mean, covariance, innovation, innovation covariance); the last two None without a measurement.
    """
    sig, w = sigma_points(x, p)
    new, meas = propagate(sig)
    xm = w @ new
    dx = new - xm
    wdx = dx * w[:, None]
    pxx = wdx.T @ dx + q
    if y is None:
        return xm, pxx, None, None
    used = ~np.isnan(y)
    if not used.all():
        meas, r, y = meas[:, used], r[np.ix_(used, used)], y[used]
    ym = w @ meas
    dy = meas - ym
    pyy = (dy * w[:, None]).T @ dy + r
    pxy = wdx.T @ dy
    gain = np.linalg.solve(pyy, pxy.T).T
    innovation = y - ym
    pn = pxx - gain @ pyy @ gain.T
    return xm + gain @ innovation, 0.5 * (pn + pn.T), innovation, pyy

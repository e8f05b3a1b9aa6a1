"""One step of an unscented Kalman filter in its cubature form, for any process model.

The sigma points are the mean plus and minus ``sqrt(n)`` times the columns of the covariance's
Cholesky factor, all weighted ``1/(2n)`` (the unscented transform with alpha = 1, beta = 0, kappa = 0,
the "cubature" rule of Arasaratnam and Haykin 2009): no negative weight, so the covariance stays
positive definite in a long run. No Jacobian is needed, which suits a model made of look-up tables.

The measurement here depends on the state at the step's start and the input over the step (a mean
terminal voltage), so one propagation gives both the predicted states and the predicted measurements,
and the update uses their cross-covariance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sigma_points(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The ``2n`` cubature points of (x, P), one per row."""
    n = len(x)
    try:
        root = np.linalg.cholesky(p)
    except np.linalg.LinAlgError:
        # Round-off after many updates: symmetrise and lift the smallest eigenvalues.
        w, v = np.linalg.eigh(0.5 * (p + p.T))
        root = v * np.sqrt(np.maximum(w, 1e-18))
    spread = np.sqrt(n) * root.T
    return np.concatenate((x + spread, x - spread))


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
    sig = sigma_points(x, p)
    new, meas = propagate(sig)
    m = len(sig)
    xm = new.mean(axis=0)
    dx = new - xm
    pxx = dx.T @ dx / m + q
    if y is None:
        return xm, pxx, None, None
    used = ~np.isnan(y)
    meas = meas[:, used]
    ym = meas.mean(axis=0)
    dy = meas - ym
    pyy = dy.T @ dy / m + r[np.ix_(used, used)]
    pxy = dx.T @ dy / m
    gain = np.linalg.solve(pyy, pxy.T).T
    innovation = y[used] - ym
    xn = xm + gain @ innovation
    pn = pxx - gain @ pyy @ gain.T
    return xn, 0.5 * (pn + pn.T), innovation, pyy

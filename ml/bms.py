"""What a BMS reports as SOH: the true capacity SOH plus a drifting bias and estimation noise.

The model (stated so a forecaster's error can be read against it): for vehicle ``v`` reporting at
times ``t_k`` [years],

    reported_k = true_k + b_v(t_k) + e_k,   e_k ~ N(0, noise^2) independent per report,
    b_v(0) ~ N(0, bias0^2),   b_v(t_k) - b_v(t_(k-1)) ~ N(0, drift^2 (t_k - t_(k-1)))

a bias that starts per vehicle and drifts as a random walk (a coulomb-counting capacity estimate
recalibrated now and then). Defaults: noise 1 %-point, bias0 0.5 %-point, drift 0.5 %-point per
sqrt(year). Each vehicle draws from its own stream ``(seed, vehicle index)``, so adding vehicles
changes nobody's reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BmsModel:
    """Parameters of the reported-SOH model, in SOH fractions (0.01 = 1 %-point)."""

    noise: float = 0.01
    bias0: float = 0.005
    drift_per_sqrt_year: float = 0.005
    seed: int = 0

    def report(self, vehicle_index: int, t_years: np.ndarray, soh_true: np.ndarray) -> np.ndarray:
        """Reported SOH [1] at ``t_years`` (increasing) for one vehicle."""
        rng = np.random.default_rng([self.seed, int(vehicle_index)])
        t = np.asarray(t_years, dtype=float)
        dt = np.diff(t, prepend=0.0).clip(min=0.0)
        bias = self.bias0 * rng.standard_normal() + np.cumsum(
            self.drift_per_sqrt_year * np.sqrt(dt) * rng.standard_normal(len(t)))
        return np.asarray(soh_true, dtype=float) + bias + self.noise * rng.standard_normal(len(t))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

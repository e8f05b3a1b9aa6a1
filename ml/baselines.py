"""Forecasters that need no training: persistence, linear in sqrt(time), the nominal physics model.

The physics model ages the pack with the battery twin's own capacity-fade laws
(``battery_fmu.equations``: Gasper et al. 2023, calendar in time and cycle in EFC) at nominal
parameters, driven by the window's mean usage (cell temperature, mean SOC, cycle depth, C-rate, EFC
per year) carried on into the future. It never sees the reported SOH: it is what the twin predicts
for this usage without any manufacturing variation.
"""

from __future__ import annotations

import numpy as np

from ml.task import Samples

K0 = 273.15


class Persistence:
    """The last reported SOH, at every horizon."""

    name = "persistence"

    def predict(self, s: Samples) -> np.ndarray:
        last = s.column("soh_reported")[:, -1]
        return np.repeat(last[:, None], s.y.shape[1], axis=1)


class SqrtTime:
    """Least squares ``SOH = c + a sqrt(t)`` over the window's reports, extrapolated to each horizon."""

    name = "sqrt_time"

    def predict(self, s: Samples) -> np.ndarray:
        soh = s.column("soh_reported")
        out = np.empty_like(s.y)
        for i in range(len(s)):
            design = np.stack([np.ones(s.t.shape[1]), np.sqrt(s.t[i])], axis=1)
            (c, a), *_ = np.linalg.lstsq(design, soh[i], rcond=None)
            out[i] = c + a * np.sqrt(s.t_target[i])
        return out


class NominalPhysics:
    """The twin's fade laws at nominal parameters (see the module docstring).

    Parameters
    ----------
    parameter_set : str
        The battery twin's cell parameter set (``battery_fmu/params``).
    """

    name = "physics_nominal"

    def __init__(self, parameter_set: str = "lfp_220ah"):
        from battery_fmu.parameters import load_cell

        self.p = load_cell(parameter_set)

    def soh(self, t_years: np.ndarray, efc_per_year: float, temperature: float, soc: float, dod: float,
            crate: float) -> np.ndarray:
        """SOH [1] after ``t_years`` at constant stressors (temperature [K], mean SOC, cycle depth, C-rate [1/h])."""
        from battery_fmu import equations as eq

        p, a = self.p, self.p.aging
        k_cal = eq.calendar_rate(temperature, eq.graphite_potential(soc, p), p)
        k_cyc = eq.cycle_rate(dod, crate, eq.cycle_temperature_factor(temperature, p), p)
        t = np.asarray(t_years, dtype=float)
        q_cal = eq.power_law_value(k_cal, t * 365.0, a.pcal, np)
        q_cyc = eq.power_law_value(k_cyc, efc_per_year * t, a.pcyc, np)
        return 1.0 - q_cal - q_cyc

    def predict(self, s: Samples) -> np.ndarray:
        out = np.empty_like(s.y)
        span = s.t[:, -1] - s.t[:, 0] + (s.t[:, 1] - s.t[:, 0])
        efc_year = s.column("efc").sum(axis=1) / span
        temp = s.column("t_cell_mean_degC").mean(axis=1) + K0
        soc = s.column("soc_mean").mean(axis=1)
        dod = s.column("cycle_depth").mean(axis=1)
        crate = s.column("c_rate_p99").mean(axis=1) * 0.5  # the mean C-rate is well under the 99th percentile
        for i in range(len(s)):
            out[i] = self.soh(s.t_target[i], efc_year[i], temp[i], soc[i], dod[i], crate[i])
        return out


BASELINES = {"persistence": Persistence, "sqrt_time": SqrtTime, "physics_nominal": NominalPhysics}

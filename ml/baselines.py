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

    def soh(
        self,
        t_years: np.ndarray,
        efc_per_year: float,
        temperature: float,
        soc: float,
        dod: float,
        crate: float,
    ) -> np.ndarray:
        """SOH [1] after ``t_years`` at constant stressors: temperature [K], SOC, depth, C-rate [1/h]."""
        from battery_fmu import equations as eq

        p, a = self.p, self.p.aging
        k_cal = eq.calendar_rate(temperature, eq.graphite_potential(soc, p), p)
        k_cyc = eq.cycle_rate(dod, crate, eq.cycle_temperature_factor(temperature, p), p)
        t = np.asarray(t_years, dtype=float)
        q_cal = eq.power_law_value(k_cal, t * 365.0, a.pcal, np)
        q_cyc = eq.power_law_value(k_cyc, efc_per_year * t, a.pcyc, np)
        return 1.0 - q_cal - q_cyc

    def constants(self, s: Samples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each window's law as constants that reproduce it: calendar and cycle rate constants and EFC
        per year, each [n].

        Each period's rates at its own stressors (its mean cell temperature, SOC, cycle depth and the
        mean C-rate of its EFC, ``efc / 12`` per hour as the twin's aging model counts a day's), then
        the constant rate that ages the same over the window in the laws' virtual-time form
        (``q = (sum k^(1/p) dx)^p``, ``dx`` the period's days or EFC): the Arrhenius law is convex, so
        the rate at the mean temperature would miss a summer's share of the fade.
        """
        from battery_fmu import equations as eq
        from battery_fmu.ops import numpy_ops

        ops, p = numpy_ops(), self.p
        a = p.aging
        period_days = (s.t[:, 1:2] - s.t[:, 0:1]) * 365.0
        efc = np.clip(s.column("efc"), 0.0, None)
        temp = s.column("t_cell_mean_degC") + K0
        soc = np.clip(s.column("soc_mean"), 0.0, 1.0)
        dod = np.clip(s.column("cycle_depth"), 0.0, 1.0)
        crate = efc / period_days / 12.0
        k_cal = eq.calendar_rate(temp, eq.graphite_potential(soc, p, ops), p, ops)
        k_cyc = eq.cycle_rate(dod, crate, eq.cycle_temperature_factor(temp, p, ops), p)
        weights = efc / np.maximum(efc.sum(axis=1, keepdims=True), 1e-12)
        k_cal_eff = np.mean(k_cal ** (1.0 / a.pcal), axis=1) ** a.pcal
        k_cyc_eff = np.sum(k_cyc ** (1.0 / a.pcyc) * weights, axis=1) ** a.pcyc
        efc_year = efc.sum(axis=1) / (period_days[:, 0] * s.t.shape[1] / 365.0)
        return k_cal_eff, k_cyc_eff, efc_year

    def fade(self, constants, t_years: np.ndarray) -> np.ndarray:
        """The law's fade [1] of each window at ``t_years`` [n, m] since the pack was new."""
        k_cal, k_cyc, efc_year = (c[:, None] for c in constants)
        a, t = self.p.aging, np.asarray(t_years, dtype=float)
        return k_cal * (t * 365.0) ** a.pcal + k_cyc * (efc_year * t) ** a.pcyc

    def predict(self, s: Samples) -> np.ndarray:
        return 1.0 - self.fade(self.constants(s), s.t_target)


class AnchoredPhysics(NominalPhysics):
    """The nominal law's fade ahead, started from the SOH the window's reports give at the origin.

    The level: each report moved to the origin along the law (``report_k + q(t_k) - q(origin)``,
    ``q`` the law's fade at the window's stressors) and averaged over the window. All of the window's
    reports count (their independent noise averages to a tenth of itself over two years) and none
    lags the origin, as a mean of the last reports would by the fade since them. The forecast is that
    level less the law's fade from the origin to each horizon. It reads the reports and the usage only.
    """

    name = "physics_anchored"

    def level(self, s: Samples, constants=None) -> np.ndarray:
        """SOH [1] at each window's origin from its reports ([n])."""
        q = self.fade(constants or self.constants(s), s.t)
        return (s.column("soh_reported") + q).mean(axis=1) - q[:, -1]

    def predict(self, s: Samples) -> np.ndarray:
        constants = self.constants(s)
        ahead = self.fade(constants, s.t_target) - self.fade(constants, s.t[:, -1:])
        return self.level(s, constants)[:, None] - ahead


BASELINES = {
    "persistence": Persistence,
    "sqrt_time": SqrtTime,
    "physics_nominal": NominalPhysics,
    "physics_anchored": AnchoredPhysics,
}

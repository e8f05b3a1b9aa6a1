"""A physics-informed forecaster: the aging law draws each vehicle's fade ahead, a network bends it.

From the window's summary (:func:`ml.forest.summarise`: mean usage, recent reported SOH, its slope in
sqrt(time), the time at the origin) a network gives, for the vehicle,

- two rate factors ``f_cal``, ``f_cyc`` in ``[1/2, 2]`` (``2^tanh``) that scale the calendar and
  cycle rate constants of the battery twin's fade laws (what the hidden manufacturing variation and
  the usage summary's blind spots do to them), and
- a correction in ``[1/2, 2]`` of the calendar and of the cycle fade on each of ``steps`` equal
  intervals from the origin to the farthest horizon.

The fade on each interval is the law's rate at the interval's middle times its length, times the
interval's correction: the rates of ``battery_fmu.equations.fade_rates`` (Gasper et al. 2023, the
twin's own laws, through the torch backend) at the law's own state there and the window's mean cell
temperature, SOC, cycle depth, C-rate and EFC per second, with the vehicle's factors applied to the
rate constants (the law's state is its closed form, so every interval is computed at once). The
fade at the origin starts the laws' virtual time: ``f k t^p`` at the origin's age and EFC. So in a
climate the network never saw the forecast still follows the law there: the factors and corrections
can move the fade by at most a factor 4 either way.

The forecast is ``SOH(tau) = clip(recent reports, 0, 1) - (fade from 0 to tau)``, read at the
horizons by linear interpolation on the grid: the rates are never negative, so it never rises, and
it stays within ``[0, 1]`` whatever the weights (monotone and bounded by construction). The loss is
the squared error at the horizons plus the residual of the aging law on every interval,
``dq - rate(q_mid) dt``: what the correction adds to the law's own fade, so the network bends the
law only where the data ask for it.

The ONNX export carries the law with the network (input the summary ``[n, features + 3]``, output
SOH ``[n, horizons]``), in float64 inside.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from ml.forest import summarise
from ml.task import RECENT, Samples
from ml.torch_fit import TorchForecaster, normaliser

K0 = 273.15
SECONDS_PER_YEAR = 365.0 * 86400.0
FACTOR_RANGE = math.log(2.0)  # log of the largest rate factor: each factor lies in [1/2, 2]
CORRECTION_RANGE = math.log(2.0)  # log of the largest learnt correction of the law's fade on an interval
DATA_SCALE = 0.005  # SOH error the data term counts as one (half a %-point)
RESIDUAL_SCALE = 0.001  # fade per interval the residual counts as one (a tenth of a %-point)
STRESSORS = ("t_cell_mean_degC", "soc_mean", "cycle_depth", "c_rate_p99", "efc")
#: Of the stressors and then the origin's age [yr]: the bounds they are clipped to, and the offset to
#: the law's units after their gain (see ``_law``).
_BOUNDS = ((-60.0, 0.0, 0.0, 0.0, 1e-6, 1.0 / 365.0), (100.0, 1.0, 1.0, 20.0, math.inf, math.inf))
_OFFSET = (K0, 0.0, 0.0, 0.0, 0.0, 0.0)


@lru_cache(maxsize=4)
def _cell(parameter_set: str):
    from battery_fmu.parameters import load_cell

    return load_cell(parameter_set)


def _network(n_inputs, hidden, steps, lo, weight, mean, scale, law):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            for name, value in (("mean", mean), ("scale", scale), ("weight", weight)):
                self.register_buffer(name, torch.tensor(value, dtype=torch.float32))
            self.register_buffer("lo", torch.tensor(lo, dtype=torch.int64))
            self.body = nn.Sequential(
                nn.Linear(n_inputs, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
            )
            self.head = nn.Linear(hidden, 2 + 2 * steps)
            self.steps = steps
            # Constants of the forward pass (not weights: rebuilt from lo and weight on loading).
            ranges = [FACTOR_RANGE] * 2 + [CORRECTION_RANGE] * (2 * steps)
            self.register_buffer("ranges", torch.tensor(ranges, dtype=torch.float64), persistent=False)
            self.register_buffer("reader", torch.tensor(_reader(lo, weight, steps)), persistent=False)

        def integrate(self, z):
            """(factors [n, 2], calendar and cycle fade per interval [n, steps] each, and the law's
            own fade per interval at the midpoint rates [n, steps] each)."""
            out = self.head(self.body((z - self.mean) / self.scale)).double()
            factors, c_cal, c_cyc = torch.exp(self.ranges * torch.tanh(out)).split([2, steps, steps], dim=1)
            return (factors, *law(z.double(), factors, c_cal, c_cyc))

        def parts(self, z):
            """(rate factors [n, 2], calendar and cycle fade per interval [n, steps] each)."""
            factors, cal, cyc, _, _ = self.integrate(z)
            return factors, cal, cyc

        def forward(self, z):
            _, cal, cyc = self.parts(z)
            at = (cal + cyc) @ self.reader  # the fade from the origin to each horizon
            start = torch.clamp(z.double()[:, -3:-2], 0.0, 1.0)  # the recent reports
            return torch.clamp(start - at, min=0.0).float()

    return Net()


def _reader(lo: np.ndarray, weight: np.ndarray, steps: int) -> np.ndarray:
    """[steps, horizons]: the fade per interval times this is the fade from the origin to each
    horizon, the cumulative fade read at the horizon by linear interpolation (one product where a
    running sum and an interpolation were a dozen operations of an exported graph)."""
    lo, weight = np.asarray(lo), np.asarray(weight, dtype=np.float64)
    i = np.arange(steps)[:, None]
    return (i < lo[None, :]) + np.where(i == lo[None, :], weight[None, :], 0.0)


def _grid(horizon_years: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Interval index and weight of each horizon on ``steps`` equal intervals up to the last."""
    pos = np.asarray(horizon_years) / max(horizon_years) * steps
    lo = np.minimum(np.floor(pos), steps - 1).astype(np.int64)
    return lo, pos - lo


class PhysicsInformedForecaster(TorchForecaster):
    """Trains :func:`_network` on the data and the aging law's residual (see the module docstring).

    Parameters
    ----------
    parameter_set : str
        The battery twin's cell parameter set whose fade laws the forecast follows.
    physics_weight : float
        Weight of the residual term against the data term.
    """

    name = "pinn"

    def __init__(
        self,
        hidden: int = 32,
        steps: int = 20,
        physics_weight: float = 1.0,
        parameter_set: str = "lfp_220ah",
        epochs: int = 150,
        lr: float = 3e-3,
        batch: int = 64,
        seed: int = 0,
        progress: Callable[[str], None] | None = None,
    ):
        super().__init__(epochs, lr, batch, seed, progress)
        self.hidden, self.steps, self.physics_weight = hidden, steps, physics_weight
        self.parameter_set = parameter_set
        self.recent = RECENT
        self.columns: list[str] = []
        self.span_years = 1.0
        self.period_s = 7 * 86400.0

    def _inputs(self, s: Samples) -> np.ndarray:
        return summarise(s, getattr(self, "recent", 4))  # pickled before the mean was longer: 4

    def to_onnx(self, example: np.ndarray):
        import warnings

        with warnings.catch_warnings():
            # The law's plain-float parameters become tensors while tracing: constants indeed.
            warnings.filterwarnings("ignore", message="torch.tensor results are registered as constants")
            return super().to_onnx(example)

    def _build(self, weights, s):
        if weights is None:
            self.columns = list(s.columns)
            self.span_years = float(np.mean(s.t_target[:, -1] - s.t[:, -1]))
            self.period_s = float(np.mean(s.t[:, 1] - s.t[:, 0])) * SECONDS_PER_YEAR
            mean, scale = normaliser(self._inputs(s))
            horizon_years = np.mean(s.t_target - s.t[:, -1:], axis=0)
        else:
            mean, scale = weights["mean"], weights["scale"]
            horizon_years = None
        if horizon_years is not None:
            lo, weight = _grid(horizon_years, self.steps)
        else:
            lo, weight = weights["lo"], weights["weight"]
        return _network(len(mean), self.hidden, self.steps, lo, weight, mean, scale, self._law)

    def _loss(self, net, z, y):
        import torch

        err = torch.sum((net(z) - y) ** 2, dim=1)
        loss = err.mean() / DATA_SCALE**2 + self.physics_weight * torch.mean(self.residual(net, z) ** 2)
        return loss, float(err.detach().sum())

    def residual(self, net, z):
        """Law residual per interval [n, 2 steps], in units of RESIDUAL_SCALE of fade: what the
        learnt correction adds to (or takes from) the law's own fade on each interval."""
        import torch

        _, cal, cyc, law_cal, law_cyc = net.integrate(z)
        return torch.cat([cal - law_cal, cyc - law_cyc], dim=1) / RESIDUAL_SCALE

    def _law(self, z, factors, c_cal, c_cyc):
        """The aging law ahead of the origin (see the module docstring), in float64.

        Returns the calendar and cycle fade per interval (the law's times the correction) and the
        law's own fade per interval at the midpoint rates, each [n, steps].
        """
        import torch

        from battery_fmu import equations as eq
        from battery_fmu.ops import torch_ops

        ops = torch_ops()
        p = _cell(self.parameter_set)
        # The window's stressors and the origin's age, each clipped to its range and put in the
        # law's units [n, 1]: temperature [K]; SOC, cycle depth [1]; the mean C-rate [1/h], well
        # under the 99th percentile; EFC per second, never zero so that the law's slope is finite;
        # the age [s]. Done on the six columns at once, as six operations of an exported graph.
        idx = [self.columns.index(name) for name in STRESSORS] + [-1]
        lo, hi, offset = (torch.tensor(row, dtype=torch.float64) for row in (*_BOUNDS, _OFFSET))
        gain = (1.0, 1.0, 1.0, 0.5, 1.0 / self.period_s, SECONDS_PER_YEAR)
        gain = torch.tensor(gain, dtype=torch.float64)
        clipped = torch.minimum(torch.maximum(z[:, idx], lo), hi)
        temp, soc, dod, crate, efc_per_s, age_s = (clipped * gain + offset).split(1, dim=1)
        a = p.aging
        f_cal, f_cyc = factors.split(1, dim=1)
        scaled = dataclasses.replace(
            p,
            aging=dataclasses.replace(
                a,
                p1=a.p1 * f_cal,
                p4=a.p4 * f_cyc,
                p5=a.p5 * f_cyc,
                p6=a.p6 * f_cyc,
            ),
        )
        k_cal = eq.calendar_rate(temp, eq.graphite_potential(soc, scaled, ops), scaled, ops)
        k_cyc = eq.cycle_rate(dod, crate, eq.cycle_temperature_factor(temp, scaled, ops), scaled)
        dt = self.span_years * SECONDS_PER_YEAR / self.steps
        # The law's own state at each interval's middle ([n, steps]: every interval at once, not one
        # after the other), the laws' virtual time started at the origin's age and EFC.
        mid_s = age_s + dt * (torch.arange(self.steps, dtype=torch.float64) + 0.5)
        q_cal = eq.power_law_value(k_cal, mid_s / 86400.0, a.pcal, ops)
        q_cyc = eq.power_law_value(k_cyc, efc_per_s * mid_s, a.pcyc, ops)
        current = efc_per_s * (2.0 * p.capacity)  # the mean current that cycles the EFC per second
        rate_cal, rate_cyc = eq.fade_rates(q_cal, q_cyc, temp, soc, current, dod, crate, scaled, ops)
        law_cal, law_cyc = rate_cal * dt, rate_cyc * dt
        return law_cal * c_cal, law_cyc * c_cyc, law_cal, law_cyc

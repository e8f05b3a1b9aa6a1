"""A physics-informed forecaster: the aging law draws each vehicle's fade ahead, a network bends it.

It reads :func:`pinn_inputs`: the window's summary (:func:`ml.forest.summarise`: mean usage, the level
the reports give at the origin, their slope in sqrt(time), the time at the origin) and the window's
law (:meth:`ml.baselines.NominalPhysics.constants`: the calendar and cycle rate constants that age as
the window's weeks did, and the EFC per year). From the usage, the age and the law (not the reports:
from those it would only learn which training vehicle it looks at; nor the temperatures,
:data:`ml.task.TEMPERATURES`, which the law's rate constants carry: a function of them learnt in the
training climates would be extrapolated in a colder one) a network gives, for the vehicle,

- two rate factors ``f_cal``, ``f_cyc`` in ``[1/2, 2]`` (``2^tanh``) that scale the law's rate
  constants (what the hidden manufacturing variation and the usage summary's blind spots do to
  them), and
- a correction in ``[1/2, 2]`` of the calendar and of the cycle fade on each of ``steps`` equal
  intervals from the origin to the farthest horizon.

The fade on each interval is the law's rate at the interval's middle times its length, times the
interval's correction: the twin's own rate functions (``battery_fmu.equations.calendar_fade_rate``,
``cycle_fade_rate``; Gasper et al. 2023, through the torch backend) at the law's own state there
with the vehicle's factors applied to the rate constants (the law's state is its closed form, so
every interval is computed at once). The fade at the origin starts the laws' virtual time:
``f k t^p`` at the origin's age and EFC. So in a climate the network never saw the forecast still
follows the law there: the factors and corrections can move the fade by at most a factor 4 either
way. With the network silent it is :class:`ml.baselines.AnchoredPhysics`.

The forecast is ``SOH(tau) = clip(level, 0, 1) - (fade from 0 to tau)``, read at the horizons by
linear interpolation on the grid: the rates are never negative, so it never rises, and it stays
within ``[0, 1]`` whatever the weights (monotone and bounded by construction). The loss is the
squared error at the horizons (of the denoised targets, :func:`ml.task.denoised_targets`), the
residual of the aging law on every interval, ``dq - rate(q_mid) dt`` (what the correction adds to
the law's own fade, so the network bends the law only where the data ask for it; weighted 64 by
default, the weight whose corrections carried best into a training climate left out), and a prior on
the factors, ``(log f / log 1.2)^2``.

The ONNX export carries the law with the network (input :func:`pinn_inputs`, ``[n, features + 6]``,
output SOH ``[n, horizons]``), in float64 inside.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from ml.baselines import AnchoredPhysics
from ml.forest import summarise, summary_names
from ml.task import TEMPERATURES, Samples, denoised_targets, seen
from ml.torch_fit import TorchForecaster, normaliser

K0 = 273.15
SECONDS_PER_YEAR = 365.0 * 86400.0
FACTOR_RANGE = math.log(2.0)  # log of the largest rate factor: each factor lies in [1/2, 2]
CORRECTION_RANGE = math.log(2.0)  # log of the largest learnt correction of the law's fade on an interval
DATA_SCALE = 0.005  # SOH error the data term counts as one (half a %-point)
RESIDUAL_SCALE = 0.001  # fade per interval the residual counts as one (a tenth of a %-point)
FACTOR_SCALE = math.log(1.2)  # a rate factor of 1.2 (or 1/1.2) costs as much as DATA_SCALE of error
LAW_INPUTS = ("k_cal", "k_cyc", "efc_per_year")  # the window's law, after the summary
LAW_UNITS = {"k_cal": "1/day^pcal", "k_cyc": "1/EFC^pcyc", "efc_per_year": "1/yr"}


def pinn_inputs(s: Samples) -> np.ndarray:
    """[n, features + 6]: the window's summary (:func:`ml.forest.summarise`) and its law
    (:meth:`ml.baselines.NominalPhysics.constants`: the rate constants and EFC per year)."""
    law = np.column_stack(AnchoredPhysics().constants(s))
    return np.column_stack([summarise(s), law]).astype(np.float32)


def input_names(columns: list[str]) -> list[str]:
    return [*summary_names(columns), *LAW_INPUTS]


@lru_cache(maxsize=4)
def _cell(parameter_set: str):
    from battery_fmu.parameters import load_cell

    return load_cell(parameter_set)


def _network(n_inputs, hidden, steps, lo, weight, mean, scale, law, mask):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            for name, value in (("mean", mean), ("scale", scale), ("weight", weight), ("mask", mask)):
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
            out = self.head(self.body((z - self.mean) / self.scale * self.mask)).double()
            factors, c_cal, c_cyc = torch.exp(self.ranges * torch.tanh(out)).split([2, steps, steps], dim=1)
            return (factors, *law(z.double(), factors, c_cal, c_cyc))

        def parts(self, z):
            """(rate factors [n, 2], calendar and cycle fade per interval [n, steps] each)."""
            factors, cal, cyc, _, _ = self.integrate(z)
            return factors, cal, cyc

        def forward(self, z):
            _, cal, cyc = self.parts(z)
            return self.soh(z, cal, cyc)

        def soh(self, z, cal, cyc):
            """SOH at the horizons from the fade per interval."""
            at = (cal + cyc) @ self.reader  # the fade from the origin to each horizon
            start = torch.clamp(z.double()[:, -6:-5], 0.0, 1.0)  # the level the reports give
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
    factor_weight : float
        Weight of the prior on the rate factors (``(log f / log 1.2)^2``) against the data term.
    weight_decay : float
        AdamW's decoupled weight decay.
    blind : tuple of str
        Features whose window means the network does not read (by default :data:`ml.task.TEMPERATURES`:
        the law reads the cell temperature itself, through its rate constants).
    """

    name = "pinn"

    def __init__(
        self,
        hidden: int = 32,
        steps: int = 20,
        physics_weight: float = 64.0,
        factor_weight: float = 1.0,
        weight_decay: float = 0.0,
        parameter_set: str = "lfp_220ah",
        blind: tuple[str, ...] = TEMPERATURES,
        epochs: int = 150,
        lr: float = 3e-3,
        batch: int = 64,
        seed: int = 0,
        progress: Callable[[str], None] | None = None,
    ):
        super().__init__(epochs, lr, batch, seed, progress)
        self.hidden, self.steps, self.physics_weight = hidden, steps, physics_weight
        self.factor_weight, self.weight_decay = factor_weight, weight_decay
        self.parameter_set, self.blind = parameter_set, tuple(blind)
        self.columns: list[str] = []
        self.span_years = 1.0
        self.period_s = 7 * 86400.0

    def _inputs(self, s: Samples) -> np.ndarray:
        return pinn_inputs(s)

    def _targets(self, s: Samples) -> np.ndarray:
        return denoised_targets(s, AnchoredPhysics().level)

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
        mask = seen(input_names(self.columns), getattr(self, "blind", ()))
        mask[-6:-4] = 0.0  # the network sees the usage, the age and the law, not the reports
        return _network(len(mean), self.hidden, self.steps, lo, weight, mean, scale, self._law, mask)

    def _loss(self, net, z, y):
        import torch

        factors, cal, cyc, law_cal, law_cyc = net.integrate(z)
        err = torch.sum((net.soh(z, cal, cyc) - y) ** 2, dim=1)
        residual = torch.cat([cal - law_cal, cyc - law_cyc], dim=1) / RESIDUAL_SCALE
        prior = torch.log(factors) / FACTOR_SCALE
        loss = (
            err.mean() / DATA_SCALE**2
            + self.physics_weight * torch.mean(residual**2)
            + self.factor_weight * torch.mean(prior**2)
        )
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
        a = p.aging
        # the window's law (inputs): its rate constants times the vehicle's factors, its EFC per second
        k_cal = torch.clamp(z[:, -3:-2], min=1e-12) * factors[:, :1]
        k_cyc = torch.clamp(z[:, -2:-1], min=1e-12) * factors[:, 1:]
        # A vehicle that never cycles still gets a (vanishing) cycle state, so the law's slope is finite.
        efc_per_s = torch.clamp(z[:, -1:], min=1e-6) / SECONDS_PER_YEAR
        age_s = torch.clamp(z[:, -4:-3], min=1.0 / 365.0) * SECONDS_PER_YEAR
        dt = self.span_years * SECONDS_PER_YEAR / self.steps
        # The law's own state at each interval's middle ([n, steps]: every interval at once, not one
        # after the other), the laws' virtual time started at the origin's age and EFC.
        mid_s = age_s + dt * (torch.arange(self.steps, dtype=torch.float64) + 0.5)
        q_cal = eq.power_law_value(k_cal, mid_s / 86400.0, a.pcal, ops)
        q_cyc = eq.power_law_value(k_cyc, efc_per_s * mid_s, a.pcyc, ops)
        current = efc_per_s * (2.0 * p.capacity)  # the mean current that cycles the EFC per second
        law_cal = eq.calendar_fade_rate(q_cal, k_cal, p, ops) * dt
        law_cyc = eq.cycle_fade_rate(q_cyc, k_cyc, current, p, ops) * dt
        return law_cal * c_cal, law_cyc * c_cyc, law_cal, law_cyc

"""The MPC's nonlinear program: multiple shooting over N intervals to departure, solved by IPOPT.

Decision variables: the pack charge current of each interval ``U_k`` [A] (piecewise constant),
the cell states at each interval end ``X_k`` (:data:`control.prediction.STATES`) and a slack for
the target. The program is built once (CasADi SX, ``nlpsol`` with IPOPT); everything that changes
from one solve to the next is a parameter or a bound: the initial state, the interval lengths
(a horizon that shrinks to the departure ends with unused intervals), ambient temperature, health,
aging states and stressors, the target,
the weights and the limits.

Objective (all in kWh-equivalent):

    degradation_weight * 100 * sum(calendar + cycle fade)       [kWh per % of capacity]
  + resistance_weight * 100 * sum(calendar resistance growth)   [kWh per % of resistance]
  + tariff_weight * sum(price_k * grid energy_k)                [kWh per currency unit]
  + loss_weight * (battery irreversible heat + charger losses)  [per kWh]

The charger losses are priced at one efficiency (parameter ``efficiency``): the charger's at its
rated power. A charger's loss grows less than in proportion to its power (fixed overheads), a
concave function that would make the program non-convex; its convex envelope over the rated range
is the straight line through zero and the rated point, which is what this price is.
  + time_weight * sum(dt * (target - SOC_k+1)) / 3600           [per SOC-hour short of the target]
  + slack_weight * slack + smoothing * sum(dU^2)

subject to the exact interval transitions, ``SOC_N + slack >= target``, the cell voltage at each
interval end under its current ``<= v_max``, the cell temperature ``<= t_max``, the pack power
``U_k V_k <= power_limit`` and ``CURRENT_FLOOR <= U_k <= current limit`` (the charger's, the cells' rating
and the aging model's fitted C-rate, whichever is lowest).

The program is built in :mod:`control.mpc_nlp`, scaled and bounded by :mod:`control.mpc_scaling`,
and solved with the options and warm starts of :mod:`control.mpc_solver`; this module holds
:class:`ChargingProblem`, which ties them together (their public names are importable from here too).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from control.mpc_nlp import build_nlp
from control.mpc_scaling import (
    DEAD_INTERVAL,
    NX,
    PARAMETERS,
    POWER_SCALE,
    STATE_OFFSET,
    STATE_SCALE,
    bounds,
    current_floor,
    scaled,
    state_lower,
    state_upper,
)
from control.mpc_solver import HESSIAN, Solution, ipopt_options, shifted_multipliers, solution
from control.prediction import PredictionModel

__all__ = [
    "DEAD_INTERVAL",
    "HESSIAN",
    "NX",
    "PARAMETERS",
    "POWER_SCALE",
    "STATE_OFFSET",
    "STATE_SCALE",
    "ChargingProblem",
    "Solution",
]

log = logging.getLogger(__name__)

#: Parameters a solve may leave out (0: the term is off).
OPTIONAL = ("resistance_weight", "tariff_weight")


class ChargingProblem:
    """The charging NLP for one pack, built once and solved many times.

    Parameters
    ----------
    model : PredictionModel
        The pack's prediction model.
    intervals : int
        N, the number of intervals to the horizon's end.
    crate_from_current : bool
        Cycle fade with each interval's own C-rate (``True``), or with the ``crate`` parameter
        (the aging model's chunk-averaged C-rate).
    smoothing : float
        Weight of the squared current changes, per (pack rating)^2; keeps flat optima steady.
    """

    def __init__(
        self,
        model: PredictionModel,
        intervals: int = 48,
        crate_from_current: bool = False,
        smoothing: float = 1e-3,
        current_scale: float = 100.0,
    ):
        import casadi as ca

        self.model, self.n = model, int(intervals)
        self.current_scale = float(current_scale)
        self._nlp, self._fade = build_nlp(model, self.n, crate_from_current, smoothing, current_scale)
        self._solvers: dict[tuple, object] = {}
        self._warm: dict | None = None
        self._ca = ca
        self._simulator = model.function(crate_from_current).mapaccum("simulate", self.n)

    def program(self):
        """The program as a CasADi Function ``(w, p) -> (f, g)`` of the scaled variables and parameters."""
        nlp = self._nlp
        return self._ca.Function("program", [nlp["x"], nlp["p"]], [nlp["f"], nlp["g"]])

    def variables(self, currents, states) -> np.ndarray:
        """The scaled variable vector ``w`` for pack ``currents`` [A, N] and cell ``states`` (NX x N, at the
        interval ends), with the target's slack at zero. With a trailing axis of K plans (currents N x K,
        states NX x N x K), the K vectors as columns."""
        currents, states = np.asarray(currents, float), np.asarray(states, float)
        extra = currents.shape[1:]
        shape = (NX, 1) + (1,) * len(extra)
        z = (states - np.reshape(STATE_OFFSET, shape)) / np.reshape(STATE_SCALE, shape)
        z = np.swapaxes(z, 0, 1).reshape((NX * self.n, *extra))  # interval by interval
        return np.concatenate([currents / self.current_scale, z, np.zeros((1, *extra))])

    def prepare(self, time_budget: float) -> None:
        """Create the cold- and warm-start solver instances now (IPOPT set-up is not a solve)."""
        self._solver(False, time_budget)
        self._solver(True, time_budget)

    # ------------------------------------------------------------------ solver instances

    def _solver(self, warm: bool, time_budget: float):
        key = (warm, round(time_budget, 6))
        solver = self._solvers.get(key)
        if solver is None:
            solver = self._ca.nlpsol("charging", "ipopt", self._nlp, ipopt_options(warm, time_budget))
            self._solvers[key] = solver
        return solver

    @property
    def warm_start(self):
        """The last successful solve's multipliers (part of a controller's state); None after a failure."""
        return self._warm

    @warm_start.setter
    def warm_start(self, value) -> None:
        self._warm = value

    def reset_warm_start(self) -> None:
        """Forget the last solution's multipliers (a new plug-in session)."""
        self._warm = None

    # ------------------------------------------------------------------ simulation

    def simulate(self, x0, currents, dts, params: dict[str, float]) -> np.ndarray:
        """Cell states (NX x N) at the interval ends under ``currents`` [A, pack], one call."""
        stage = [
            params["T_ambient"],
            params["soh"],
            params["r_factor"],
            params["q_cal"],
            params["q_cyc"],
            params["dod"],
            params["crate"],
        ]
        out = self._simulator(
            np.asarray(x0, float),
            np.asarray(currents, float).reshape(1, -1),
            np.asarray(dts, float).reshape(1, -1),
            *[np.full((1, self.n), v) for v in stage],
        )
        return np.asarray(out[0])

    # ------------------------------------------------------------------ solve

    def solve(
        self,
        x0,
        dts,
        limits: dict[str, float],
        params: dict[str, float],
        currents,
        time_budget: float = 0.1,
        shift: int | None = None,
    ) -> Solution:
        """Solve from cell state ``x0`` over intervals of lengths ``dts`` [s], starting from ``currents``.

        ``limits``: ``current_max`` [A, pack], ``power_max`` [W, pack], ``v_max`` [V, cell], ``t_max``
        [K, cell], ``soc_max`` [1]. ``params``: every name of :data:`PARAMETERS`, and optionally
        ``prices`` (each interval's mean grid price per kWh; default 0). ``currents`` [A, pack,
        N]: the initial guess (the states are simulated from it). Intervals of length
        :data:`DEAD_INTERVAL` carry no current. ``shift``: the last successful solve's multipliers,
        moved ``shift`` intervals earlier, start IPOPT (its warm start); ``None``: a cold start.
        """
        n, cs = self.n, self.current_scale
        dts = np.asarray(dts, float)
        live = dts > 2.0 * DEAD_INTERVAL
        u_max = np.where(live, limits["current_max"], 0.0)
        currents = np.clip(np.asarray(currents, float), current_floor(u_max), u_max)
        states = self.simulate(x0, currents, dts, params)
        prices = np.broadcast_to(np.asarray(params.get("prices", 0.0), float), (n,))
        pvec = np.concatenate([np.asarray(x0, float), dts, prices, [params.get(k, 0.0) if k in OPTIONAL else params[k]
                                                                     for k in PARAMETERS]])
        upper = state_upper(limits)
        guess_states = np.clip(states, state_lower()[:, None], upper[:, None])
        z0 = np.concatenate([currents / cs, np.ravel(scaled(guess_states.T).T, order="F"), [0.0]])
        args = {"x0": z0, "p": pvec, **bounds(n, cs, u_max, limits, params["target"])}
        warm = shift is not None and self._warm is not None
        if warm:
            args.update(shifted_multipliers(self._warm, n, shift))
        solver = self._solver(warm, time_budget)
        start = time.perf_counter()
        result = solver(**args)
        elapsed = time.perf_counter() - start
        stats = solver.stats()
        success = bool(stats.get("success", False))
        self._warm = (
            (np.asarray(result["lam_x"]).ravel(), np.asarray(result["lam_g"]).ravel()) if success else None
        )
        return solution(result, stats, elapsed, x0, dts, pvec, args, n, cs, self._fade)

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
  + loss_weight * (battery irreversible heat + charger losses)  [per kWh]

The charger losses are priced at one efficiency (parameter ``efficiency``): the charger's at its
rated power. A charger's loss grows less than in proportion to its power (fixed overheads), a
concave function that would make the program non-convex; its convex envelope over the rated range
is the straight line through zero and the rated point, which is what this price is.
  + time_weight * sum(dt * (target - SOC_k+1)) / 3600           [per SOC-hour short of the target]
  + slack_weight * slack + smoothing * sum(dU^2)

subject to the exact interval transitions, ``SOC_N + slack >= target``, the cell voltage at each
interval end under its current ``<= v_max``, the cell temperature ``<= t_max``, the pack power
``U_k V_k <= power_limit`` and ``0 <= U_k <= current limit`` (the charger's, the cells' rating
and the aging model's fitted C-rate, whichever is lowest).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from control.prediction import STATES, AgingContext, PredictionModel

log = logging.getLogger(__name__)

#: Names of the scalar NLP parameters, in order (after the initial state and the N interval lengths).
PARAMETERS = (
    "T_ambient",
    "soh",
    "r_factor",
    "q_cal",
    "q_cyc",
    "dod",
    "crate",
    "target",
    "efficiency",
    "degradation_weight",
    "loss_weight",
    "time_weight",
    "slack_weight",
    "u_previous",
)
NX = len(STATES)
_INF = float("inf")
HESSIAN = "exact"
#: The states as decision variables, ``(X - offset) / scale``, are of order one: SOC as it is, the RC and
#: hysteresis voltages in 10 mV, the temperatures in 10 K around 25 degC (IPOPT converges best scaled so).
STATE_SCALE = (1.0, 0.01, 0.01, 0.01, 10.0, 10.0)
STATE_OFFSET = (0.0, 0.0, 0.0, 0.0, 298.15, 298.15)
#: Pack powers enter the constraints in kW.
POWER_SCALE = 1e3
#: Length [s] given to unused intervals at the horizon's end (a shrinking horizon): they change nothing.
DEAD_INTERVAL = 1e-3


@dataclass
class Solution:
    """One solve: the plan, what it predicts, and how IPOPT fared."""

    success: bool
    status: str
    solve_time: float  # s, wall clock
    iterations: int
    current: np.ndarray  # planned pack current per interval [A]
    states: np.ndarray  # (N + 1) x NX cell states, the first row the initial state
    voltage: np.ndarray  # cell voltage at each interval end [V]
    dts: np.ndarray  # interval lengths [s]
    cost: float
    fade: float = 0.0  # predicted capacity loss over the horizon [1]
    # The program's own vectors at the solution (scaled variables, parameters, multipliers), for checks.
    raw: dict | None = None

    @property
    def soc_end(self) -> float:
        return float(self.states[-1, 0])


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

        from battery_fmu.ops import casadi_ops

        self.model, self.n = model, int(intervals)
        ops = casadi_ops()
        n = self.n
        p = ca.SX.sym("p", NX + n + len(PARAMETERS))
        x0 = p[:NX]
        dts = p[NX : NX + n]
        par = {name: p[NX + n + k] for k, name in enumerate(PARAMETERS)}
        # Decision variables are scaled to order one: U = current_scale * zu, X = offset + scale * zx.
        self.current_scale = float(current_scale)
        zu = ca.SX.sym("zu", n)
        zx = ca.SX.sym("zx", NX, n)
        slack = ca.SX.sym("slack")
        u = zu * self.current_scale
        xs = ca.repmat(ca.DM(STATE_OFFSET), 1, n) + ca.repmat(ca.DM(STATE_SCALE), 1, n) * zx
        aging = AgingContext(
            par["q_cal"], par["q_cyc"], par["dod"], None if crate_from_current else par["crate"]
        )

        defects, voltages, powers, (fade, heat, charger_loss, shortfall, smooth) = _stages(
            model, ops, x0, xs, u, dts, par, aging, current_scale
        )
        objective = (
            par["degradation_weight"] * 100.0 * fade
            + par["loss_weight"] * (heat + charger_loss) / 3.6e6
            + par["time_weight"] * shortfall
            + par["slack_weight"] * slack
            + smoothing * smooth
        )
        g = ca.vertcat(*defects, *voltages, *powers, xs[0, n - 1] + slack)
        w = ca.vertcat(zu, ca.vec(zx), slack)
        self._fade = ca.Function("fade", [w, p], [fade])
        self._nlp = {"x": w, "p": p, "f": objective, "g": g}
        self._solvers: dict[tuple, object] = {}
        self._warm: dict | None = None
        self._ca = ca
        self._simulator = model.function(crate_from_current).mapaccum("simulate", n)

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
            opts = {
                "print_time": False,
                "error_on_fail": False,
                "ipopt": {
                    "print_level": 0,
                    "sb": "yes",
                    "max_iter": 200,
                    "tol": 1e-6,
                    # The tables are piecewise linear (the hysteresis and OCV tables have a kink every
                    # 1 and 0.5 % SOC): near an optimum on kinks there is no exact KKT point, and IPOPT
                    # stalls with its dual infeasibility well above tol. The solve ends as "acceptable"
                    # after two iterations in which the objective moved less than 1e-8 (relative) and
                    # the dynamics and limits hold to 1e-5 in the scaled variables (SOC 1e-5, RC and
                    # hysteresis voltages 0.1 uV, temperatures 0.1 mK, power 0.01 W).
                    "acceptable_tol": 1e6,
                    "acceptable_iter": 2,
                    "acceptable_constr_viol_tol": 1e-5,
                    "acceptable_obj_change_tol": 1e-8,
                    "max_wall_time": float(time_budget),
                    "mu_strategy": "adaptive",
                    "hessian_approximation": HESSIAN,
                },
            }
            # The first guess is close to the optimum (charge late at the CC current): start near it with
            # a small barrier either way; a warm start also brings the last multipliers.
            opts["ipopt"].update(
                {
                    "warm_start_init_point": "yes",
                    "warm_start_bound_push": 1e-6,
                    "warm_start_mult_bound_push": 1e-6,
                    "mu_init": 1e-5 if warm else 1e-4,
                }
            )
            solver = self._ca.nlpsol("charging", "ipopt", self._nlp, opts)
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
        [K, cell], ``soc_max`` [1]. ``params``: every name of :data:`PARAMETERS`. ``currents`` [A, pack,
        N]: the initial guess (the states are simulated from it). Intervals of length
        :data:`DEAD_INTERVAL` carry no current. ``shift``: the last successful solve's multipliers,
        moved ``shift`` intervals earlier, start IPOPT (its warm start); ``None``: a cold start.
        """
        n, cs = self.n, self.current_scale
        dts = np.asarray(dts, float)
        live = dts > 2.0 * DEAD_INTERVAL
        u_max = np.where(live, limits["current_max"], 0.0)
        currents = np.clip(np.asarray(currents, float), 0.0, u_max)
        states = self.simulate(x0, currents, dts, params)
        pvec = np.concatenate([np.asarray(x0, float), dts, [params[k] for k in PARAMETERS]])
        upper = _state_upper(limits)
        guess_states = np.clip(states, _state_lower()[:, None], upper[:, None])
        z0 = np.concatenate([currents / cs, np.ravel(_scaled(guess_states.T).T, order="F"), [0.0]])
        args = {"x0": z0, "p": pvec, **self._bounds(u_max, limits, params["target"])}
        warm = shift is not None and self._warm is not None
        if warm:
            args.update(self._shifted_multipliers(shift))
        solver = self._solver(warm, time_budget)
        start = time.perf_counter()
        result = solver(**args)
        elapsed = time.perf_counter() - start
        stats = solver.stats()
        success = bool(stats.get("success", False))
        self._warm = (
            (np.asarray(result["lam_x"]).ravel(), np.asarray(result["lam_g"]).ravel()) if success else None
        )
        return self._solution(result, stats, elapsed, x0, dts, pvec, args)

    def _bounds(self, u_max: np.ndarray, limits: dict[str, float], target: float) -> dict[str, np.ndarray]:
        """The bounds of the variables and constraints for pack current limits ``u_max`` [A, N]."""
        n = self.n
        upper = _state_upper(limits)
        return {
            "lbx": np.concatenate([np.zeros(n), np.tile(_scaled(_state_lower()), n), [0.0]]),
            "ubx": np.concatenate([u_max / self.current_scale, np.tile(_scaled(upper), n), [1.0]]),
            "lbg": np.concatenate([np.zeros(NX * n), np.full(2 * n, -_INF), [target]]),
            "ubg": np.concatenate(
                [np.zeros(NX * n), np.full(n, limits["v_max"]), np.full(n, limits["power_max"] / POWER_SCALE),
                 [_INF]]
            ),
        }

    def _solution(self, result, stats, elapsed: float, x0, dts, pvec, args) -> Solution:
        """The :class:`Solution` of one IPOPT result."""
        n, cs = self.n, self.current_scale
        w = np.asarray(result["x"]).ravel()
        success = bool(stats.get("success", False))
        z_states = w[n : n + NX * n].reshape(n, NX)
        states = np.vstack([np.asarray(x0, float), np.array(STATE_OFFSET) + np.array(STATE_SCALE) * z_states])
        g = np.asarray(result["g"]).ravel()
        lbx, ubx, lbg, ubg = args["lbx"], args["ubx"], args["lbg"], args["ubg"]
        return Solution(
            success=success,
            status=str(stats.get("return_status", "unknown")),
            solve_time=elapsed,
            iterations=int(stats.get("iter_count", -1)),
            current=w[:n] * cs,
            states=states,
            voltage=g[NX * n : NX * n + n].copy(),
            dts=dts,
            cost=float(result["f"]),
            fade=float(self._fade(w, pvec)),
            raw={
                "w": w,
                "p": pvec,
                "lam_x": np.asarray(result["lam_x"]).ravel(),
                "lam_g": np.asarray(result["lam_g"]).ravel(),
                "lbx": lbx,
                "ubx": ubx,
                "lbg": lbg,
                "ubg": ubg,
            },
        )

    def _shifted_multipliers(self, shift: int) -> dict[str, np.ndarray]:
        """The last multipliers for a horizon moved ``shift`` intervals on (the tail padded with zeros)."""
        n = self.n
        lam_x, lam_g = self._warm

        def move(block: np.ndarray, width: int) -> np.ndarray:
            cols = block.reshape(n, width)
            out = np.zeros_like(cols)
            out[: n - shift] = cols[shift:]
            return out.ravel()

        shift = min(max(int(shift), 0), n)
        lx = np.concatenate([move(lam_x[:n], 1), move(lam_x[n : n + NX * n], NX), lam_x[-1:]])
        lg = np.concatenate(
            [
                move(lam_g[: NX * n], NX),
                move(lam_g[NX * n : NX * n + n], 1),
                move(lam_g[NX * n + n : NX * n + 2 * n], 1),
                lam_g[-1:],
            ]
        )
        return {"lam_x0": lx, "lam_g0": lg}


def _stages(model, ops, x0, xs, u, dts, par, aging, current_scale):
    """Per interval: the defects of the multiple shooting, the end voltages and pack powers; and the
    objective's sums (fade [1], battery heat [J], charger loss [J], SOC-hours short, smoothing)."""
    import casadi as ca

    n, cells, ns = u.shape[0], model.cells, model.n_series
    defects, voltages, powers = [], [], []
    fade = heat = charger_loss = shortfall = smooth = 0.0
    x_prev = [x0[k] for k in range(NX)]
    u_prev = par["u_previous"]
    # Table look-ups once per node, from the node's own variables (shared by the two intervals at it).
    nodes = [model.node(x0[0], x0[4], ops, par["r_factor"])]
    nodes += [model.node(xs[0, k], xs[4, k], ops, par["r_factor"]) for k in range(n)]
    for k in range(n):
        dt = dts[k]
        out = model.interval(x_prev, u[k], dt, par["T_ambient"], par["soh"], aging, ops, par["r_factor"],
                             start=nodes[k], end=nodes[k + 1])
        defects.append((ca.vertcat(*out.state) - xs[:, k]) / ca.DM(STATE_SCALE))
        voltages.append(out.voltage_end)
        powers.append(u[k] * ns * out.voltage_end / POWER_SCALE)
        fade = fade + out.fade_calendar + out.fade_cycle
        heat = heat + out.heat_loss * cells
        charger_loss = charger_loss + out.terminal_energy * cells * (1.0 / par["efficiency"] - 1.0)
        shortfall = shortfall + dt * (par["target"] - xs[0, k]) / 3600.0
        smooth = smooth + ((u[k] - u_prev) / current_scale) ** 2
        x_prev = [xs[j, k] for j in range(NX)]
        u_prev = u[k]
    return defects, voltages, powers, (fade, heat, charger_loss, shortfall, smooth)


def _state_lower() -> np.ndarray:
    return np.array([0.0, -1.0, -1.0, -1.0, 200.0, 200.0])


def _state_upper(limits: dict[str, float]) -> np.ndarray:
    return np.array([limits["soc_max"], 1.0, 1.0, 1.0, limits["t_max"], 400.0])


def _scaled(states: np.ndarray) -> np.ndarray:
    return (states - np.array(STATE_OFFSET)) / np.array(STATE_SCALE)

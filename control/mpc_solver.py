"""Solving the MPC's program with IPOPT: the solver options, the multipliers of a warm start moved along
the receding horizon, and the :class:`Solution` read back from IPOPT's result.

The program is built by :mod:`control.mpc_nlp`; :class:`control.mpc_problem.ChargingProblem` holds the
solver instances and runs the solves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from control.mpc_scaling import NX, STATE_OFFSET, STATE_SCALE

HESSIAN = "exact"


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


def ipopt_options(warm: bool, time_budget: float) -> dict:
    """The ``nlpsol`` options of a cold (``warm=False``) or warm start within ``time_budget`` [s]."""
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
    return opts


def solution(
    result, stats, elapsed: float, x0, dts, pvec, args, n: int, current_scale: float, fade
) -> Solution:
    """The :class:`Solution` of one IPOPT result (``fade``: the program's fade Function)."""
    cs = current_scale
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
        fade=float(fade(w, pvec)),
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


def shifted_multipliers(warm: tuple, n: int, shift: int) -> dict[str, np.ndarray]:
    """The last multipliers ``warm`` for a horizon moved ``shift`` intervals on (the tail padded with
    zeros)."""
    lam_x, lam_g = warm

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

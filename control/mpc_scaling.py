"""The MPC program's layout and scaling: the parameter vector's names, the state scaling of the decision
variables, and the bounds of the variables and constraints of :class:`control.mpc_problem.ChargingProblem`.

The program (:mod:`control.mpc_nlp`) and its solves (:mod:`control.mpc_solver`) share these.
"""

from __future__ import annotations

import numpy as np

from control.prediction import STATES

#: Names of the scalar NLP parameters, in order (after the initial state, the N interval lengths and the
#: N interval prices).
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
    "resistance_weight",
    "tariff_weight",
)
NX = len(STATES)
_INF = float("inf")
#: The states as decision variables, ``(X - offset) / scale``, are of order one: SOC as it is, the RC and
#: hysteresis voltages in 10 mV, the temperatures in 10 K around 25 degC (IPOPT converges best scaled so).
STATE_SCALE = (1.0, 0.01, 0.01, 0.01, 10.0, 10.0)
STATE_OFFSET = (0.0, 0.0, 0.0, 0.0, 298.15, 298.15)
#: Pack powers enter the constraints in kW.
POWER_SCALE = 1e3
#: Length [s] given to unused intervals at the horizon's end (a shrinking horizon): they change nothing.
DEAD_INTERVAL = 1e-3
#: The least current [A, pack] of a live interval: a plan's "off". At zero current the cell step changes
#: side (the hysteresis target takes its discharge branch, ``|I|`` turns), so the defects' derivatives
#: jump there; IPOPT relaxes bounds by 1e-8 (relative), so a bound of 0 let an interval that is off go a
#: hair negative, and the Newton steps cycled across the jump (up to 200 iterations where a tariff plan
#: has most of its intervals off). Kept above zero, relaxed or not: 1e-5 A over 40 h is 2e-6 of SOC.
CURRENT_FLOOR = 1e-5


def bounds(
    n: int, current_scale: float, u_max: np.ndarray, limits: dict[str, float], target: float
) -> dict[str, np.ndarray]:
    """The bounds of the variables and constraints for pack current limits ``u_max`` [A, N]."""
    upper = state_upper(limits)
    return {
        "lbx": np.concatenate(
            [current_floor(u_max) / current_scale, np.tile(scaled(state_lower()), n), [0.0]]
        ),
        "ubx": np.concatenate([u_max / current_scale, np.tile(scaled(upper), n), [1.0]]),
        "lbg": np.concatenate([np.zeros(NX * n), np.full(2 * n, -_INF), [target]]),
        "ubg": np.concatenate(
            [np.zeros(NX * n), np.full(n, limits["v_max"]), np.full(n, limits["power_max"] / POWER_SCALE),
             [_INF]]
        ),
    }


def current_floor(u_max: np.ndarray) -> np.ndarray:
    """The least current [A] of each interval: :data:`CURRENT_FLOOR`, 0 where the interval takes none."""
    return np.minimum(CURRENT_FLOOR, u_max)


def state_lower() -> np.ndarray:
    return np.array([0.0, -1.0, -1.0, -1.0, 200.0, 200.0])


def state_upper(limits: dict[str, float]) -> np.ndarray:
    return np.array([limits["soc_max"], 1.0, 1.0, 1.0, limits["t_max"], 400.0])


def scaled(states: np.ndarray) -> np.ndarray:
    return (states - np.array(STATE_OFFSET)) / np.array(STATE_SCALE)

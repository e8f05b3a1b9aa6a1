"""Driving a cycle when the battery cannot deliver what the trace asks: the car falls behind the trace.

The driver aims at the trace's speed at the end of each piece of a second (as FASTSim's trace-miss
handling does: speed is caught up, distance is not). Starting from the car's actual speed ``v0``, the
acceleration is constant over the piece; when the battery power this needs (motor DC power plus the
auxiliaries, at every quadrature node) exceeds ``P_discharge_max``, or the motor's torque limit where the
car accelerates harder than the trace, the end speed is lowered (bisection) until it does not. The car's
distance is the integral of its actual speed, so a power-limited run covers less than the trace.

Pure functions, SI units: speed [m/s], power [W], energy [J], time [s].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridges.ev_model import GAUSS_W, GAUSS_X, CycleTable, StepEnergy, integrate_nodes, node_state

#: Bisection iterations on the end speed (2^-40 of the bracket: far below any measurable speed).
_ITERATIONS = 40


@dataclass
class Piece:
    """One piece of a second driven from the car's actual speed."""

    energy: StepEnergy
    speed: float  # at the end [m/s]
    distance: float  # covered [m]
    limited: bool  # the battery (or motor) held the car below the trace


def drive_piece(
    table: CycleTable, k: int, x0: float, x1: float, v0: float, p_aux: float, p_dmax: float, p_cmax: float
) -> Piece:
    """Drive the part ``[k + x0, k + x1]`` of second ``k`` of ``table``'s cycle from speed ``v0`` [m/s].

    ``p_aux`` [W] auxiliary load, ``p_dmax`` [W] largest power the battery delivers, ``p_cmax`` [W]
    largest power it accepts (regen above it goes to the friction brakes).
    """
    dt = x1 - x0
    target = table.speed[k] + (table.speed[k + 1] - table.speed[k]) * x1
    trace_accel = table.speed[k + 1] - table.speed[k]
    grade = np.full(3, table.cycle.grade[k])
    p = table.params

    def state(v_end: float):
        a = (v_end - v0) / dt
        speed = v0 + (v_end - v0) * GAUSS_X
        return node_state(p, speed, np.full(3, a), grade, table.regen_strength), a

    def feasible(v_end: float) -> bool:
        s, a = state(v_end)
        if float(np.max(s.p_elec)) + p_aux > p_dmax:
            return False
        # catching up: no harder than the motor allows (on the trace itself the model follows regardless)
        return a <= trace_accel + 1e-12 or not bool(np.any(s.over_limit))

    limited = not feasible(target)
    v_end = target
    if limited:
        lo = 0.0  # standing still (or rolling to a stop) needs no traction power
        hi = target
        if not feasible(lo):
            lo, hi = 0.0, 0.0  # not even that: the auxiliaries alone exceed the limit
        for _ in range(_ITERATIONS):
            if hi - lo < 1e-9:
                break
            mid = 0.5 * (lo + hi)
            if feasible(mid):
                lo = mid
            else:
                hi = mid
        v_end = lo
    s, _ = state(v_end)
    energy = integrate_nodes(p, s, dt * GAUSS_W, p_aux, p_cmax)
    if limited:
        energy.over_limit_time = 0.0  # the car was held back, not pushed beyond the motor
    return Piece(energy, v_end, 0.5 * (v0 + v_end) * dt, limited)

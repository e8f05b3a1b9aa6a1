"""The MPC's horizon: the grid of intervals a plan is solved on, its first guess, and the plan applied step by step.

A plan is ``(t0, dts, currents)``: the time [s] it was solved at, its interval lengths [s] and the pack
current [A] of each interval. An overnight horizon ends at the departure (shrinking, the tail made of
unused intervals of :data:`control.mpc_problem.DEAD_INTERVAL`); a fast one recedes, ``intervals`` x
``resolution`` from now.
"""

from __future__ import annotations

import math

import numpy as np

from control.mpc_problem import DEAD_INTERVAL


def new_grid(now: float, n: int, resolution: float, departure: float | None, first_guess_current: float,
             charge_needed: float, late: bool):
    """Interval lengths [s] and the first guess [A] for a fresh horizon at ``now`` [s].

    ``departure`` [s]: the overnight horizon's end (None: a receding horizon of ``n`` x ``resolution``).
    The guess delivers ``charge_needed`` [C] at ``first_guess_current`` [A], as late as possible
    (``late``, overnight: close to the optimum, which charges late) or at once (fast).
    """
    if departure is None:
        dts = np.full(n, resolution)
    else:
        left = departure - now
        live = min(n, max(1, math.ceil(left / resolution - 1e-9)))
        dts = np.concatenate([np.full(live, left / live), np.full(n - live, DEAD_INTERVAL)])
    guess = np.zeros(n)
    need = charge_needed
    for k in range(n - 1, -1, -1) if late else range(n):
        if need <= 1e-9:
            break
        if dts[k] > 2.0 * DEAD_INTERVAL:
            charge = min(first_guess_current * dts[k], need)
            guess[k], need = charge / dts[k], need - charge
    return dts, guess


def moved_grid(plan, now: float, pad: float):
    """The last plan's grid and currents moved on to ``now`` [s]: the interval holding ``now`` starts
    there, the passed ones drop off, the tail is padded with intervals of ``pad`` [s] (unused ones, or
    more of a fast horizon). Returns (interval lengths, currents, intervals passed), or None past its end."""
    t0, dts, currents = plan
    ends = t0 + np.cumsum(dts)
    k = int(np.searchsorted(ends, now, side="right"))
    n = len(dts)
    if k >= n or ends[k] - now <= 2.0 * DEAD_INTERVAL:
        return None
    new_dts = np.concatenate([[ends[k] - now], dts[k + 1 :], np.full(k, pad)])
    new_currents = np.concatenate([currents[k:], np.zeros(k)])
    return new_dts, new_currents, k


def step_current(plan, now: float, h: float, full: float, duty_cycle: bool) -> float:
    """The plan's mean current [A] over the step ``[now, now + h]``, which may straddle intervals.

    The program prices charger losses at the rated power (the convex envelope of a loss that grows
    less than in proportion to power). With ``duty_cycle`` an interval's charge is delivered at the
    charger's ``full`` current over the interval's last part, which realises that price: a plan of
    40 % of full current becomes full current over the last 40 % of the interval, the same charge at
    the measured curve's best efficiency, and later.
    """
    t0, dts, currents = plan
    ends = t0 + np.cumsum(dts)
    first = int(np.searchsorted(ends, now, side="right"))
    charge = 0.0
    for k in range(first, len(currents)):
        start, end = ends[k] - dts[k], ends[k]
        if start >= now + h:
            break
        planned = float(currents[k])
        if duty_cycle and 0.0 < planned < full:
            start, planned = end - dts[k] * planned / full, full
        charge += planned * max(min(now + h, end) - max(now, start), 0.0)
    return charge / h


def next_boundary(plan) -> float:
    """The end [s] of the plan's first interval, where it is solved again."""
    t0, dts, _ = plan
    return t0 + dts[0]

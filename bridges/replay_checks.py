"""Plausibility of a recorded drive before it is replayed: units and gaps that would replay silently wrong.

A log in the wrong units still replays as "complete": motor speed in rpm instead of rad/s (x 9.55: far
above the motor's top speed, and power to match), wheel speed in km/h instead of m/s (x 3.6: the
distance comes out 3.6 times too long), or a long gap in the recording (interpolated across, inventing
the distance and energy of the missing minutes). Each check names the first sample at fault:

- **motor speed against wheel speed**: ``outputAV1`` against ``wheelspeed x gear_ratio / wheel_radius``
  of the preset, over the samples where the car moves (> 2 m/s); the median ratio must lie within
  ``RATIO_TOLERANCE`` of 1. A ratio near 60 / 2 pi (rpm) or 3.6 (km/h) is named as such. Refused.
- **motor speed against the preset's maximum** (with ``LIMIT_MARGIN``). Refused.
- **motor power against the preset's peak** (with ``LIMIT_MARGIN``). Refused: wrong units or the wrong
  preset (set ``preset:``).
- **gaps**: a spacing above ``GAP_FACTOR`` times the median spacing (and at least ``GAP_MIN`` seconds) is a
  warning naming the sample after it; the replay interpolates across it.

Set ``plausibility: false`` on the ``log_replay`` unit for a car whose gearing differs from its preset's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from bridges.errors import TelemetryError
from cosim.errors import EvtwinWarning

#: Largest relative difference between motor speed and wheel speed x gear ratio / radius.
RATIO_TOLERANCE = 0.3
#: Margin over the preset's top motor speed and peak power before a sample is refused.
LIMIT_MARGIN = 1.1
#: A gap is this many usual spacings (median) long ...
GAP_FACTOR = 10.0
#: ... and at least this long [s].
GAP_MIN = 5.0
#: Wheel speed below which the ratio is not checked (creeping: wheel slip and rounding dominate) [m/s].
MOVING = 2.0

#: Ratios (motor speed / wheel-derived speed) that betray a unit mix-up.
_KNOWN_FACTORS = (
    (60 / (2 * math.pi), "motor speed in rpm instead of rad/s?"),
    (1 / 3.6, "wheel speed in km/h instead of m/s?"),
)


def check(path, params, power_rows: list, speed_rows: list) -> None:
    """Refuse or warn about an implausible log; rows are ``(t, p_e, loss, torque, av, label)`` and
    ``(t, speed, label)``. ``params``: the preset's :class:`~bridges.ev_model.VehicleParams`."""
    motor = params.motor
    for t, p_e, _, _, av, label in power_rows:
        if av > motor.max_speed * LIMIT_MARGIN:
            raise TelemetryError(
                f"{path}: {label} (t = {t:g} s): motor speed {av:.0f} rad/s is above the preset's maximum "
                f"{motor.max_speed:.0f} rad/s (motor speed in rpm instead of rad/s? or set `preset:`)"
            )
        if p_e > motor.peak_power * LIMIT_MARGIN:
            raise TelemetryError(
                f"{path}: {label} (t = {t:g} s): motor power {p_e / 1e3:.0f} kW is above the preset's peak "
                f"{motor.peak_power / 1e3:.0f} kW (torque or speed in other units? or set `preset:`)"
            )
    _check_ratio(path, params, power_rows, speed_rows)
    for rows, what in ((power_rows, "powertrain"), (speed_rows, "speed")):
        if _check_gaps(path, [r[0] for r in rows], [r[-1] for r in rows], what):
            break  # one warning: the same gap usually shows in both


def _check_ratio(path, params, power_rows: list, speed_rows: list) -> None:
    t_v = np.array([r[0] for r in speed_rows])
    v = np.array([r[1] for r in speed_rows])
    t_p = np.array([r[0] for r in power_rows])
    av = np.array([r[4] for r in power_rows])
    wheel = np.interp(t_p, t_v, v) * params.gear_ratio / params.wheel_radius
    moving = np.interp(t_p, t_v, v) > MOVING
    if moving.sum() < 3:
        return
    ratio = av[moving] / wheel[moving]
    median = float(np.median(ratio))
    if abs(median - 1.0) <= RATIO_TOLERANCE:
        return
    first = int(np.flatnonzero(moving)[np.argmax(np.abs(ratio - 1.0) > RATIO_TOLERANCE)])
    guess = next((why for f, why in _KNOWN_FACTORS if abs(median / f - 1.0) < 0.1), "")
    raise TelemetryError(
        f"{path}: {power_rows[first][-1]} (t = {t_p[first]:g} s): motor speed {av[first]:.1f} rad/s is "
        f"{median:.2f} times wheel speed x gear ratio / radius ({wheel[first]:.1f} rad/s; the median over the "
        f"moving samples){'; ' + guess if guess else ''}"
    )


def _check_gaps(path, times: list, labels: list, what: str) -> bool:
    """Warn about the first long gap; whether there was one."""
    if len(times) < 3:
        return False
    dt = np.diff(np.asarray(times))
    usual = float(np.median(dt))
    limit = max(GAP_FACTOR * usual, GAP_MIN)
    big = np.flatnonzero(dt > limit)
    if big.size:
        i = int(big[0])
        more = f" ({big.size - 1} more)" if big.size > 1 else ""
        warnings.warn(
            f"{path}: {labels[i + 1]}: a gap of {dt[i]:g} s in the {what} samples after t = {times[i]:g} s "
            f"(usually {usual:g} s){more}; the replay interpolates across it",
            EvtwinWarning,
            stacklevel=3,
        )
    return bool(big.size)

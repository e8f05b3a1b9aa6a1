"""A vehicle's per-period usage features (:data:`ml.dataset.FEATURES`) from its telemetry and its twin.

The forecaster was trained on a fleet run's daily table (:mod:`fleet.daily`) aggregated per period
(:func:`ml.dataset.aggregate`). Here the same two functions make the same table from what the service
stores: the twin's states kept every minute of data (``history``) cut the telemetry into steps, and each
step is handed to :class:`fleet.daily.DailySummary` as a simulation step would be, so every feature has
the one definition. A step's signals:

- ``P_battery``: the mean of ``current_A * voltage_V`` over the step, each sample's current held for the
  time since the previous sample, up to :data:`service.twin.MAX_HOLD_S` (as the twin reads it);
- ``distance``: ``speed_mps`` integrated the same way (no speed: no distance);
- ``P_regen``: the power returned while the vehicle moves; ``I_charge``: the current into the pack
  while it stands still;
- ``SOC``, ``T_cell``, ``EFC``, ``SOH_capacity``, ``SOH_resistance``: the twin's estimates at the step's end;
- ``T_ambient``: the twin's estimate of the temperature the housing exchanges heat with
  (``t_boundary_degC``). Telemetry carries no ambient temperature, so this is its stand-in: the ambient
  for an air-cooled pack, the coolant for a liquid-cooled one. (States kept before the twin reported it
  give the cell temperature instead.)

Days are counted from the vehicle's first day of telemetry (the model's age axis). A day without any
telemetry is taken as a parked day at the last known state: no usage, the same SOC, temperatures and SOH.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fleet.daily import COLUMNS, DAY, DailySummary
from ml.dataset import aggregate
from service.twin import MAX_HOLD_S

ZERO_CELSIUS = 273.15
#: Daily columns that keep their value over a day without telemetry (the others are usage: zero).
LEVELS = ("soc_min", "soc_max", "soc_mean", "t_cell_min_degC", "t_cell_mean_degC", "t_cell_max_degC",
          "t_ambient_mean_degC", "soh_capacity", "soh_resistance")


def step_signals(
    samples: Sequence[dict[str, Any]], states: Sequence[dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """(times [unix s] of ``states``, [n, 12] the :data:`fleet.daily.SIGNALS` of the step ending at each).

    ``samples``: the stored telemetry in time order; ``states``: the twin's kept states in time order. Row 0
    is the state at the start (its step values are zero); samples up to it are not counted.
    """
    ts = np.array([s["last_sample_t"] for s in states], dtype=float)
    t = np.array([s["t"] for s in samples], dtype=float)
    current = np.array([s["current_A"] for s in samples], dtype=float)
    volt = np.array([s["voltage_V"] for s in samples], dtype=float)
    speed = np.array([s.get("speed_mps") or 0.0 for s in samples], dtype=float)
    hold = np.minimum(np.diff(t, prepend=t[:1]), MAX_HOLD_S) if len(t) else t
    step = np.searchsorted(ts, t, side="left")  # sample k belongs to the step ending at ts[step[k]]
    keep = (step > 0) & (step < len(ts))
    step, hold = step[keep], hold[keep]
    energy = (current * volt)[keep] * hold
    moving = speed[keep] > 0.0

    def per_step(x: np.ndarray) -> np.ndarray:
        return np.bincount(step, weights=x, minlength=len(ts))

    h = np.diff(ts, prepend=ts[:1])
    h[0] = 1.0  # the start: no step
    held = per_step(hold)
    v_mean = np.where(held > 0.0, per_step(volt[keep] * hold) / np.where(held > 0.0, held, 1.0), 0.0)
    charging = (current[keep] < 0.0) & ~moving
    out = np.column_stack([
        np.cumsum(per_step(speed[keep] * hold)),
        per_step(energy) / h,
        per_step(np.where(moving & (energy < 0.0), -energy, 0.0)) / h,
        [s["soc"] for s in states],
        per_step(current[keep] * hold) / h,
        v_mean,
        [s["temperature_degC"] + ZERO_CELSIUS for s in states],
        [s["efc"] for s in states],
        [s["soh_capacity"] for s in states],
        [s["soh_resistance"] for s in states],
        [s.get("t_boundary_degC", s["temperature_degC"]) + ZERO_CELSIUS for s in states],
        per_step(np.where(charging, -current[keep] * hold, 0.0)) / h,
    ])
    out[0, [1, 2, 4, 11]] = 0.0
    return ts, out


def daily_table(
    samples: Sequence[dict[str, Any]],
    states: Sequence[dict[str, Any]],
    capacity_Ah: float,
    first_day: int | None = None,
    from_day: int | None = None,
) -> dict[str, np.ndarray]:
    """The :mod:`fleet.daily` table of the vehicle's days, one row a calendar day (UTC).

    ``capacity_Ah``: the pack's nominal capacity [A.h]; ``first_day``: the vehicle's first day of telemetry
    [days since the epoch], the table's day 0 (default: the first state's); ``from_day``: the first row's
    day (default ``first_day``; what comes before it is left out).
    """
    if len(states) < 2:
        return {name: np.zeros(0) for name in COLUMNS}
    ts, signals = step_signals(samples, _with_rests(samples, states))
    summary = DailySummary(capacity_Ah)
    summary.reset(ts[0])
    for t, v in zip(ts, signals, strict=True):
        summary.add(float(t), list(map(float, v)))
    summary.finish()
    first = int(ts[0] // DAY) if first_day is None else int(first_day)
    return _every_day(summary.table(), first, first if from_day is None else int(from_day))


def _with_rests(samples: Sequence[dict[str, Any]], states: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``states`` with the last known state repeated where a gap without telemetry ends, so that a gap is a
    rest of its own (counted in the days it spans) rather than part of the step after it."""
    t = np.array([s["t"] for s in samples], dtype=float)
    out = [states[0]]
    for prev, state in zip(states[:-1], states[1:], strict=True):
        k = int(np.searchsorted(t, prev["last_sample_t"], side="right"))
        if k < len(t):
            start = t[k] - min(t[k] - t[k - 1], MAX_HOLD_S) if k > 0 else t[k]
            if start > prev["last_sample_t"] and start < state["last_sample_t"]:
                out.append(dict(prev, last_sample_t=float(start)))
        out.append(state)
    return out


def _every_day(table: dict[str, np.ndarray], first_day: int, from_day: int) -> dict[str, np.ndarray]:
    """``table`` with a row for each day from ``from_day`` on, numbered from ``first_day`` (days without
    telemetry parked, see above)."""
    keep = table["day"] >= from_day
    days = table["day"][keep] - from_day
    if not len(days):
        return {name: np.zeros(0) for name in COLUMNS}
    n = int(days[-1]) + 1
    src = np.maximum(np.searchsorted(days, np.arange(n), side="right") - 1, 0)  # the last day with data
    out = {}
    for name in COLUMNS:
        column = np.asarray(table[name], dtype=float)[keep]
        if name in LEVELS:
            out[name] = column[src]
        else:
            out[name] = np.zeros(n)
            out[name][days] = column
    out["day"] = np.arange(n, dtype=np.int32) + (from_day - first_day)
    return out


def period_features(
    samples: Sequence[dict[str, Any]],
    states: Sequence[dict[str, Any]],
    capacity_Ah: float,
    period_days: int,
    first_day: int | None = None,
    from_day: int | None = None,
) -> dict[str, np.ndarray]:
    """:func:`ml.dataset.aggregate` of :func:`daily_table`: the features per whole period from ``from_day``,
    ``soh_true`` (here the twin's capacity SOH at each period's end) and ``t_years`` (the vehicle's age then,
    from ``first_day``)."""
    return aggregate(daily_table(samples, states, capacity_Ah, first_day, from_day), period_days)

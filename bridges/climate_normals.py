"""An hourly year of air temperature built from published monthly climate normals.

Input: the twelve monthly normals of the daily maximum and daily minimum temperature of a station
(e.g. NOAA's 1991-2020 U.S. Climate Normals). Output: 8760 hourly values, hour 0 = 1 January 00:00
local standard time, no leap day.

The model, in two parts:

1. Seasonal course. The daily maximum and minimum follow a periodic piecewise-linear curve through
   one value per month, placed at the middle of the month. The twelve anchor values are solved for
   (a 12 x 12 linear system) so that each calendar month's mean of the daily values equals the
   published normal exactly: plain interpolation between the normals themselves would flatten
   the peaks of summer and winter.
2. Diurnal course. Within a day the hourly values follow the ASHRAE fraction ``f(h)`` of the daily
   range (ASHRAE Handbook - Fundamentals 2009, ch. 14, table 6): the minimum at 05:00, the maximum at
   14:00-15:00 solar time. The range they span is ``k (Tmax - Tmin)``, centred on (Tmax + Tmin) / 2:
   a normal's maximum and minimum are the extremes of a continuous record (thermometers, 5-minute
   ASOS means), which the hourly readings of a day miss, since air temperature wanders between the
   hours. ``k`` = :data:`HOURLY_SAMPLED_RANGE` is measured on two real hourly years, not fitted to
   any station the model is checked on (:func:`sampled_range_fraction`). The daily mean of the hourly
   values is ``(Tmax + Tmin) / 2 - 0.036 k (Tmax - Tmin)``, a little under the (max + min) / 2 by
   which NOAA defines a monthly mean temperature.

No day-to-day weather: every day of a month follows the smooth seasonal course. That is what a
normal describes; a fleet study wanting weather spells uses a real hourly year (TMY) instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Days of each month of a 365-day year.
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
#: ASHRAE Handbook - Fundamentals 2009, ch. 14, table 6: fraction of the daily range below the
#: daily maximum at each clock hour 0..23 (hour 0 is the table's hour 24).
ASHRAE_RANGE_FRACTION = (
    0.82, 0.88, 0.92, 0.95, 0.98, 1.00, 0.98, 0.91, 0.74, 0.55, 0.38, 0.23,
    0.13, 0.05, 0.00, 0.00, 0.06, 0.14, 0.24, 0.39, 0.50, 0.59, 0.68, 0.75,
)
_DAYS = sum(MONTH_DAYS)
#: Share of the daily extreme range (Tmax - Tmin) that a day's 24 hourly readings span: the mean of
#: :func:`sampled_range_fraction` over the two TMY3 years shipped in pvlib's wheel, Greensboro NC
#: (0.953) and Sand Point AK (0.905); ``tests/test_climates.py`` recomputes it from the files.
HOURLY_SAMPLED_RANGE = 0.93
#: Sampling intervals [h] over which the loss of range is measured and extrapolated to continuous.
_SAMPLING_STEPS_H = (1, 2, 3, 4)


def fahrenheit_to_celsius(values: Sequence[float]) -> np.ndarray:
    """Degrees Fahrenheit to degrees Celsius."""
    return (np.asarray(values, dtype=float) - 32.0) * 5.0 / 9.0


def _month_of_day() -> np.ndarray:
    return np.repeat(np.arange(12), MONTH_DAYS)


def _interpolation_matrix() -> np.ndarray:
    """Daily values (365) of the periodic linear curve through 12 mid-month anchors, as a 365 x 12 matrix."""
    ends = np.cumsum((0,) + MONTH_DAYS)
    mids = 0.5 * (ends[:-1] + ends[1:])  # mid-month, in days from 1 January 00:00
    days = np.arange(_DAYS) + 0.5  # each day's middle
    # Extend the anchors by one period on both sides so the curve wraps from December to January.
    xs = np.concatenate([mids - _DAYS, mids, mids + _DAYS])
    matrix = np.zeros((_DAYS, 12))
    for j in range(12):
        unit = np.zeros(36)
        unit[[j, j + 12, j + 24]] = 1.0
        matrix[:, j] = np.interp(days, xs, unit)
    return matrix


def daily_course(monthly_normals: Sequence[float]) -> np.ndarray:
    """365 daily values whose calendar-month means equal ``monthly_normals`` (12 values)."""
    normals = np.asarray(monthly_normals, dtype=float)
    if normals.shape != (12,):
        raise ValueError(f"need 12 monthly normals, got {normals.size}")
    daily = _interpolation_matrix()
    month = _month_of_day()
    means = np.stack([daily[month == m].mean(axis=0) for m in range(12)])  # 12 x 12
    anchors = np.linalg.solve(means, normals)
    return daily @ anchors


def hourly_year(tmax_normals: Sequence[float], tmin_normals: Sequence[float],
                sampled_range: float = HOURLY_SAMPLED_RANGE) -> np.ndarray:
    """8760 hourly temperatures [same unit as the normals] from monthly normal daily max and min.

    ``sampled_range``: the share of (Tmax - Tmin) the hourly values of a day span (1: they reach
    the normal extremes).
    """
    tmax = daily_course(tmax_normals)
    tmin = daily_course(tmin_normals)
    if np.any(tmin > tmax):
        raise ValueError("a monthly normal minimum exceeds the maximum")
    span = sampled_range * (tmax - tmin)
    top = 0.5 * (tmax + tmin + span)
    fraction = np.asarray(ASHRAE_RANGE_FRACTION)
    return (top[:, None] - fraction[None, :] * span[:, None]).ravel()


def _sampled_ranges(hourly: Sequence[float], step: int) -> float:
    """Mean daily range [input unit] of readings every ``step`` hours, averaged over the start hours."""
    days = np.asarray(hourly, dtype=float).reshape(_DAYS, 24)
    return float(np.mean([np.ptp(days[:, start::step], axis=1).mean() for start in range(step)]))


def sampled_range_fraction(hourly: Sequence[float]) -> float:
    """Share of the continuous daily range that the hourly readings of a measured year span.

    Readings every 2, 3, 4 hours span less than hourly ones, as hourly ones span less than a
    continuous record. The mean daily range ``R`` at sampling interval ``dt`` is fitted with
    ``R(dt) = R0 - c dt**p`` (``p`` free: 2 for a smooth daily peak, 0.5 for a random walk between
    readings; real years give 0.7-0.8) and the result is ``R(1 h) / R0``.
    """
    steps = np.asarray(_SAMPLING_STEPS_H, dtype=float)
    ranges = np.array([_sampled_ranges(hourly, int(s)) for s in steps])
    best = None
    for p in np.arange(0.3, 2.0001, 0.001):
        design = np.column_stack([np.ones_like(steps), -steps**p])
        coef, residual, *_ = np.linalg.lstsq(design, ranges, rcond=None)
        error = float(np.sum((design @ coef - ranges) ** 2))
        if best is None or error < best[0]:
            best = (error, coef[0])
    return float(ranges[0] / best[1])


def monthly_statistics(hourly: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(monthly mean, monthly mean of the daily range max - min) of an hourly 365-day year."""
    days = np.asarray(hourly, dtype=float).reshape(_DAYS, 24)
    month = _month_of_day()
    ranges = days.max(axis=1) - days.min(axis=1)
    means = np.array([days[month == m].mean() for m in range(12)])
    mean_ranges = np.array([ranges[month == m].mean() for m in range(12)])
    return means, mean_ranges

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
2. Diurnal course. Within a day, ``T(h) = Tmax - f(h) (Tmax - Tmin)`` with ``f`` the ASHRAE
   fraction of the daily temperature range (ASHRAE Handbook - Fundamentals 2009, ch. 14, table 6):
   the minimum at 05:00, the maximum at 14:00-15:00 solar time. The hourly values of a day reach the
   normal maximum and minimum exactly; their mean is ``Tmax - 0.536 (Tmax - Tmin)``, a little under
   the (max + min) / 2 by which NOAA defines a monthly mean temperature.

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


def hourly_year(tmax_normals: Sequence[float], tmin_normals: Sequence[float]) -> np.ndarray:
    """8760 hourly temperatures [same unit as the normals] from monthly normal daily max and min."""
    tmax = daily_course(tmax_normals)
    tmin = daily_course(tmin_normals)
    if np.any(tmin > tmax):
        raise ValueError("a monthly normal minimum exceeds the maximum")
    fraction = np.asarray(ASHRAE_RANGE_FRACTION)
    return (tmax[:, None] - fraction[None, :] * (tmax - tmin)[:, None]).ravel()


def monthly_statistics(hourly: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(monthly mean, monthly mean of the daily range max - min) of an hourly 365-day year."""
    days = np.asarray(hourly, dtype=float).reshape(_DAYS, 24)
    month = _month_of_day()
    ranges = days.max(axis=1) - days.min(axis=1)
    means = np.array([days[month == m].mean() for m in range(12)])
    mean_ranges = np.array([ranges[month == m].mean() for m in range(12)])
    return means, mean_ranges

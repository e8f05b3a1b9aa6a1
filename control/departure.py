"""Departure times: when the car must be ready, from daily or weekly clock times.

Time 0 of a run is Monday 00:00 (the scenario schedule's convention), so a clock time maps to
absolute seconds without a calendar. A day may have several departures (a ride-hail driver's shifts,
each after a charging break): ``{every_day: ["06:00", "11:15", "16:15"]}``. A charger given a
departure input uses that instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

DAY = 86400.0
WEEK = 7 * DAY
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS = {"every_day": _DAYS, "weekdays": _DAYS[:5], "weekend": _DAYS[5:]}


class DepartureError(ValueError):
    """A departure setting that cannot be read; the message says what was expected."""


def _clock(text: str, where: str) -> float:
    """Seconds after midnight of ``"HH:MM"``."""
    try:
        hours, minutes = str(text).split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        raise DepartureError(f"{where}: expected a clock time 'HH:MM', got {text!r}") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise DepartureError(f"{where}: expected a clock time between 00:00 and 23:59, got {text!r}")
    return h * 3600.0 + m * 60.0


def _is_list(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _clocks(value, where: str) -> tuple[float, ...]:
    """A day's departures [s after midnight] from ``"HH:MM"`` or a list of them, in order."""
    if not _is_list(value):
        return (_clock(value, where),)
    times = [_clock(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not times:
        raise DepartureError(f"{where}: expected at least one clock time, got an empty list")
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            raise DepartureError(
                f"{where}[{i}]: departures of a day must be in increasing order, "
                f"got {value[i]!r} after {value[i - 1]!r}"
            )
    return tuple(times)


class Departures:
    """Clock times of departure, repeated every day or every week.

    Parameters
    ----------
    spec : str, list or mapping
        ``"07:30"`` (every day), ``["06:00", "11:15"]`` (every day, several departures), or
        ``{"weekdays": "07:30", "sat": ["10:00", "15:00"]}`` with keys ``mon`` ... ``sun``,
        ``weekdays``, ``weekend``, ``every_day`` (a day named alone wins over a group), each a clock
        time or a list of them. Days without a time have no departure.
    """

    def __init__(self, spec: str | Sequence[str] | Mapping[str, str | Sequence[str]]):
        self.spec = spec
        per_day: dict[str, tuple[float, ...]] = {}
        if isinstance(spec, str) or _is_list(spec):
            per_day = {d: _clocks(spec, "departure") for d in _DAYS}
        elif isinstance(spec, Mapping):
            unknown = [k for k in spec if k not in _DAYS and k not in _GROUPS]
            if unknown:
                import difflib

                close = difflib.get_close_matches(unknown[0], list(_DAYS) + list(_GROUPS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise DepartureError(
                    f"departure: unknown day {unknown[0]!r}{hint} "
                    f"(known: {', '.join(_DAYS + tuple(_GROUPS))})"
                )
            for group, days in _GROUPS.items():
                if group in spec:
                    for d in days:
                        per_day[d] = _clocks(spec[group], f"departure.{group}")
            for d in _DAYS:
                if d in spec:
                    per_day[d] = _clocks(spec[d], f"departure.{d}")
        else:
            raise DepartureError(
                f"departure: expected 'HH:MM', a list of them, or a mapping of days to them, got {spec!r}"
            )
        if not any(per_day.values()):
            raise DepartureError("departure: no day has a departure time")
        # Seconds into the week, sorted.
        self.week_times = sorted(i * DAY + s for i, d in enumerate(_DAYS) for s in per_day.get(d, ()))

    def next_after(self, t: float) -> float:
        """The first departure time [s] strictly after ``t`` [s]."""
        week = math.floor(t / WEEK)
        for w in (week, week + 1):
            for s in self.week_times:
                candidate = w * WEEK + s
                if candidate > t + 1e-9:
                    return candidate
        return (week + 2) * WEEK + self.week_times[0]  # unreachable: every week has a departure

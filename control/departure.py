"""Departure times: when the car must be ready, from a daily or weekly clock time.

Time 0 of a run is Monday 00:00 (the scenario schedule's convention), so a clock time maps to
absolute seconds without a calendar. A charger given a departure input uses that instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

DAY = 86400.0
WEEK = 7 * DAY
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS = {"every_day": _DAYS, "weekdays": _DAYS[:5], "weekend": _DAYS[5:]}


class DepartureError(ValueError):
    """A departure setting that cannot be read; the message says what was expected."""


def _clock(text: str, where: str) -> float:
    try:
        hours, minutes = str(text).split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        raise DepartureError(f"{where}: expected a clock time 'HH:MM', got {text!r}") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise DepartureError(f"{where}: expected a clock time between 00:00 and 23:59, got {text!r}")
    return h * 3600.0 + m * 60.0


class Departures:
    """Clock times of departure, repeated every day or every week.

    Parameters
    ----------
    spec : str or mapping
        ``"07:30"`` (every day), or ``{"weekdays": "07:30", "sat": "10:00"}`` with keys ``mon`` ...
        ``sun``, ``weekdays``, ``weekend``, ``every_day`` (a day named alone wins over a group).
        Days without a time have no departure.
    """

    def __init__(self, spec: str | Mapping[str, str]):
        self.spec = spec
        per_day: dict[str, float] = {}
        if isinstance(spec, str):
            per_day = {d: _clock(spec, "departure") for d in _DAYS}
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
                        per_day[d] = _clock(spec[group], f"departure.{group}")
            for d in _DAYS:
                if d in spec:
                    per_day[d] = _clock(spec[d], f"departure.{d}")
        else:
            raise DepartureError(f"departure: expected 'HH:MM' or a mapping of days to 'HH:MM', got {spec!r}")
        if not per_day:
            raise DepartureError("departure: no day has a departure time")
        # Seconds into the week, sorted.
        self.week_times = sorted(i * DAY + per_day[d] for i, d in enumerate(_DAYS) if d in per_day)

    def next_after(self, t: float) -> float:
        """The first departure time [s] strictly after ``t`` [s]."""
        week = math.floor(t / WEEK)
        for w in (week, week + 1):
            for s in self.week_times:
                candidate = w * WEEK + s
                if candidate > t + 1e-9:
                    return candidate
        return (week + 2) * WEEK + self.week_times[0]  # unreachable: every week has a departure

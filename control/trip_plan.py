"""The trips ahead: what the owner plans (the charger may see it) and what is actually driven (it may not).

Unit type ``trip_plan``. Each day has its trips (nominal distances per drive session, by weekday);
the day's actual distances are the nominal ones times a factor drawn uniformly from ``variation``
(seeded per day, so a run is reproducible and every policy of an experiment drives the same days).
A long trip (``long_trip``: e.g. 250 km on the first Saturday of each month) replaces that day's
trips and is part of the plan from the start of the run, so a charger sees it at least a day ahead.

Outputs, wired as ``docs/charging.md`` shows:

- ``trip_distance`` [m]: the actual distance of the current (or next) drive session, for the vehicle
  (``ev``'s ``trip_distance`` input: it parks when it has driven that far);
- ``planned_distance`` [m]: the nominal distance of the next departure's trips (the plan, without
  the day's variation), for the vehicle's consumption forecast (``ev``'s ``E_planned``). With
  ``plan_for: day`` (one departure a day) that is the next day's trips; with ``plan_for: drive``
  (several departures a day, a charging window before each drive session: a ride-hail driver's
  shifts) it is the next drive session's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from cosim.errors import ScenarioError
from cosim.unit import INPUT, OUTPUT, Port, PythonUnit

DAY = 86400.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GROUPS = {"every_day": DAYS, "weekdays": DAYS[:5], "weekend": DAYS[5:]}
#: A mean month [d]: the long trip falls on the first chosen weekday of each such month.
MONTH = 365.25 / 12.0
#: What one departure's plan holds: the day's trips, or the next drive session's.
PLAN_FOR = ("day", "drive")


def distance_m(value: Any, where: str) -> float:
    """A distance: a number [m] or a text with a unit (``"28.5 km"``, ``"250 km"``, ``"30 mi"``)."""
    from cosim.scenario.model import to_unit

    try:
        metres = float(value) if isinstance(value, (int, float)) else to_unit(str(value).strip(), "m")
    except (TypeError, ValueError) as err:
        raise ScenarioError(f"{where}: expected a distance such as '28.5 km', got {value!r} ({err})") from None
    if not metres >= 0.0:
        raise ScenarioError(f"{where}: a distance must be >= 0, got {value!r}")
    return metres


def trips_by_weekday(spec: Mapping[str, Any]) -> list[tuple[float, ...]]:
    """Nominal distances [m] of each weekday's drive sessions (Monday first) from ``{weekdays: [..], sat: [..]}``."""
    if not isinstance(spec, Mapping):
        raise ScenarioError(f"trip_plan: trips: expected a mapping of days to lists of distances, got {spec!r}")
    per_day: dict[str, tuple[float, ...]] = {}
    for key, value in spec.items():
        if key not in DAYS and key not in GROUPS:
            raise ScenarioError(f"trip_plan: trips: unknown day {key!r} (known: {', '.join(DAYS + tuple(GROUPS))})")
        items = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        dists = tuple(distance_m(v, f"trip_plan: trips.{key}") for v in items)
        for day in GROUPS.get(key, (key,)):
            if key in DAYS or day not in spec:  # a day named alone wins over a group
                per_day[day] = dists
    return [per_day.get(d, ()) for d in DAYS]


class TripPlan(PythonUnit):
    """The day's trips: planned (nominal, with the long trips) and actual (times the day's factor).

    Parameters
    ----------
    trips : mapping
        Nominal distance of each drive session by day, e.g. ``{weekdays: [28.5 km, 28.5 km], sat: [28.5 km]}``.
    variation : (float, float)
        The day's factor on the nominal distances is drawn uniformly from this range (default 0.7-1.3).
    seed : int
        Seed of the daily factors.
    long_trip : mapping, optional
        ``{distance: 250 km, day: sat}``: on the first such weekday of each month (of 365.25/12 days)
        the day's trips are this one trip, without variation.
    plan_for : str
        What one departure's plan holds: ``"day"`` (the day's trips: one departure a day) or
        ``"drive"`` (the next drive session: a charging window between drive sessions).
    """

    PORTS: ClassVar[tuple[Port, ...]] = (
        Port("drive", INPUT, "1", "1 while a drive is scheduled (the schedule's drive flag)", 0.0, 0.0, 1.0),
        Port("trip_distance", OUTPUT, "m", "Actual distance of the current or next drive session", 0.0, 0.0),
        Port("planned_distance", OUTPUT, "m", "Planned distance of the next departure's trips (see plan_for)",
             0.0, 0.0),
        Port("day_factor", OUTPUT, "1", "Factor on today's nominal distances", 1.0, 0.0),
        Port("long_trips", OUTPUT, "1", "Long trips begun so far", 0.0, 0.0),
    )
    can_save_state: ClassVar[bool] = True

    def __init__(
        self,
        trips: Mapping[str, Any],
        variation: Sequence[float] = (0.7, 1.3),
        seed: int = 1,
        long_trip: Mapping[str, Any] | None = None,
        plan_for: str = "day",
    ):
        super().__init__()
        if plan_for not in PLAN_FOR:
            raise ScenarioError(
                f"trip_plan: plan_for: expected one of {', '.join(PLAN_FOR)}, got {plan_for!r}"
            )
        self.plan_for = plan_for
        self.week = trips_by_weekday(trips)
        lo, hi = (float(v) for v in variation)
        if not 0.0 <= lo <= hi:
            raise ScenarioError(f"trip_plan: variation must be [low, high] with 0 <= low <= high, got {variation!r}")
        self.variation, self.seed = (lo, hi), int(seed)
        self._factors: dict[int, float] = {}
        self.long_distance, self.long_day = 0.0, -1
        if long_trip:
            day = str(long_trip.get("day", "sat"))
            if day not in DAYS:
                raise ScenarioError(f"trip_plan: long_trip.day: expected one of {', '.join(DAYS)}, got {day!r}")
            self.long_distance = distance_m(long_trip.get("distance", 0.0), "trip_plan: long_trip.distance")
            self.long_day = DAYS.index(day)

    # ------------------------------------------------------------------ the calendar

    def is_long_trip_day(self, day: int) -> bool:
        """Whether day ``day`` (0 = the first Monday) is a long trip's: the first such weekday of its month."""
        if self.long_day < 0 or day % 7 != self.long_day:
            return False
        return int(day // MONTH) != int((day - 7) // MONTH) or day < 7

    def factor(self, day: int) -> float:
        """The day's factor on its nominal distances (uniform in ``variation``, seeded by the day)."""
        known = self._factors.get(day)
        if known is None:
            # Drawn once per day: a generator made at every step was a sixth of a CC-CV run's time.
            lo, hi = self.variation
            known = float(np.random.default_rng([self.seed, day]).uniform(lo, hi)) if hi > lo else lo
            self._factors[day] = known
        return known

    def planned(self, day: int) -> tuple[float, ...]:
        """Nominal distances [m] of the day's drive sessions (the long trip on its days)."""
        if self.is_long_trip_day(day):
            return (self.long_distance,)
        return self.week[day % 7]

    def actual(self, day: int) -> tuple[float, ...]:
        """Distances [m] actually driven in the day's drive sessions."""
        if self.is_long_trip_day(day):
            return (self.long_distance,)
        f = self.factor(day)
        return tuple(f * d for d in self.week[day % 7])

    # ------------------------------------------------------------------ stepping

    def setup(self, start_time: float) -> None:
        self._day = int(start_time // DAY)
        self._session = 0  # drive sessions begun today
        self._driving = False
        self.long_trips = 0.0
        self._update(start_time)

    def do_step(self, t: float, h: float) -> None:
        self._update(t)

    def _update(self, t: float) -> None:
        day = int((t + 1e-6) // DAY)
        if day != self._day:
            self._day, self._session = day, 0
        driving = self.drive >= 0.5
        if driving and not self._driving:
            self._session += 1
            if self.is_long_trip_day(day) and self._session == 1:
                self.long_trips += 1.0
        self._driving = driving
        actual = self.actual(day)
        index = self._session - 1 if driving else self._session
        self.trip_distance = actual[index] if 0 <= index < len(actual) else 0.0
        self.day_factor = 1.0 if self.is_long_trip_day(day) else self.factor(day)
        if self.plan_for == "drive":
            self.planned_distance = self._next_drive_planned(day)
        else:
            self.planned_distance = self._next_day_planned(day)

    def _next_day_planned(self, day: int) -> float:
        """Nominal distance of the trips of the first day from now whose trips have not begun."""
        start = day if self._session == 0 else day + 1
        for d in range(start, start + 8):
            planned = self.planned(d)
            if planned:
                return float(sum(planned))
        return 0.0

    def _next_drive_planned(self, day: int) -> float:
        """Nominal distance of the next drive session not begun yet (today's, else the next day's first)."""
        today = self.planned(day)
        if self._session < len(today):
            return float(today[self._session])
        for d in range(day + 1, day + 9):
            planned = self.planned(d)
            if planned:
                return float(planned[0])
        return 0.0

    def save_state(self) -> Any:
        return (self._day, self._session, self._driving, self.long_trips, self.trip_distance,
                self.planned_distance, self.day_factor)

    def restore_state(self, state: Any) -> None:
        (self._day, self._session, self._driving, self.long_trips, self.trip_distance,
         self.planned_distance, self.day_factor) = state

    def metadata(self) -> dict[str, str]:
        return {"type": "trip_plan", "variation": f"{self.variation[0]:g}-{self.variation[1]:g}",
                "seed": str(self.seed), "long_trip_km": f"{self.long_distance / 1e3:g}",
                "plan_for": self.plan_for}

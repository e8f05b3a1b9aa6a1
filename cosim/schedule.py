"""The usage schedule: a daily or weekly pattern of phases, repeated, with the ambient temperature.

The engine knows phases only by name and macro step (``drive`` at 1 s, ``charge`` at 10 s,
``park`` at 3600 s, or any name a scenario chooses). The schedule gives the master its
timeline (one segment per phase interval, so phase boundaries are hit exactly) and is itself
a unit, ``schedule``, whose outputs the scenario connects:

- one Boolean flag per phase (``drive``, ``park``, ...): 1 while that phase is on;
- ``phase``: index of the current phase in the declaration order;
- ``time_in_phase`` [s]: time spent in the current interval when the macro step begins;
- ``session``: 1-based count of the intervals of the current phase so far (trip, charge
  session); 0 before the pattern first starts;
- ``T_ambient`` [K]: the ambient temperature, a constant or an hourly profile, as its mean
  over the macro step.

Time 0 is Monday 00:00 of the first week. Before the first session of the first period the
default phase holds (an overnight charge does not start "yesterday").
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.sources import LINEAR, TimeSource, _Column, _read_csv
from cosim.timeline import Segment
from cosim.unit import OUTPUT, Port

DAY = 86400.0
WEEK = 7 * DAY


@dataclass(frozen=True, slots=True)
class Session:
    """One interval of a pattern: ``phase`` from ``start`` [s into the period] for ``duration`` [s]."""

    start: float
    duration: float
    phase: str


@dataclass(frozen=True, slots=True)
class Ambient:
    """The ambient temperature: a constant [K] or a profile file with its columns and units."""

    constant: float | None = None
    file: Path | None = None
    time_column: str = "t_hours"
    time_unit: str = "h"
    column: str = "T_degC"
    unit: str = "degC"

    @staticmethod
    def profile(name: str) -> Ambient:
        """A climate registered by a package (entry-point group ``evtwin.climates``), by name.

        Raises
        ------
        ValueError
            For a name no package registers, listing the registered ones.
        """
        from cosim.registry import climate

        return climate(name)


class Schedule:
    """A repeating pattern of phases.

    Parameters
    ----------
    steps : mapping of str to float
        Macro step [s] of each phase, in declaration order.
    default : str
        Phase between sessions.
    sessions : sequence of Session
        The pattern; ``start`` counts from the start of the period (Monday 00:00 for a weekly one).
    period : float
        ``86400`` (daily) or ``604800`` (weekly) [s].
    ambient : Ambient
        The ambient temperature.

    Raises
    ------
    ValueError
        When sessions overlap (also across the end of the period), name an unknown phase, or
        have a non-positive duration.
    """

    def __init__(
        self,
        steps: Mapping[str, float],
        default: str,
        sessions: Sequence[Session],
        period: float = DAY,
        ambient: Ambient | None = None,
    ):
        self.steps = dict(steps)
        self.phases = list(self.steps)
        if default not in self.steps:
            raise ValueError(f"default phase {default!r} is not one of the phases {self.phases}")
        for name, h in self.steps.items():
            if not (h > 0 and math.isfinite(h)):
                raise ValueError(
                    f"phase {name!r}: the macro step must be a positive number of seconds (got {h!r})"
                )
        reserved = {"phase", "time_in_phase", "session", "T_ambient"} & set(self.steps)
        if reserved:
            raise ValueError(
                f"phase names {sorted(reserved)} are taken by the schedule's own outputs; rename them"
            )
        self.default = default
        self.period = float(period)
        self.ambient = ambient or Ambient(constant=298.15)
        self._intervals = self._build(sorted(sessions, key=lambda s: s.start))
        self._starts = [a for a, _, _, _ in self._intervals]
        self._per_period = {p: sum(1 for _, _, q, _ in self._intervals if q == p) for p in self.phases}

    def _build(self, sessions: list[Session]) -> list[tuple[float, float, str, int]]:
        for s in sessions:
            if s.phase not in self.steps:
                raise ValueError(
                    f"session at {_clock(s.start)}: phase {s.phase!r} is not one of {self.phases}"
                )
            if not 0 <= s.start < self.period:
                raise ValueError(
                    f"session at {s.start} s: start must lie within the period (0 .. {self.period:g} s)"
                )
            if not 0 < s.duration <= self.period:
                raise ValueError(
                    f"session at {_clock(s.start)}: duration must be > 0 and at most the period "
                    f"(got {s.duration:g} s)"
                )
        if not sessions:
            return [(0.0, self.period, self.default, 0)]
        origin = sessions[0].start
        out: list[tuple[float, float, str, int]] = []
        ordinal = {p: 0 for p in self.phases}
        cursor = origin
        for s, nxt in zip(sessions, [*sessions[1:], None]):
            end = s.start + s.duration
            limit = nxt.start if nxt is not None else origin + self.period
            if end > limit + 1e-9:
                other = nxt if nxt is not None else sessions[0]
                raise ValueError(
                    f"session {s.phase!r} at {_clock(s.start)} lasting {s.duration / 3600:g} h overlaps "
                    f"the session {other.phase!r} at {_clock(other.start)}"
                    + ("" if nxt is not None else " of the next period")
                )
            if s.start > cursor:
                out.append((cursor, s.start, self.default, ordinal[self.default]))
                ordinal[self.default] += 1
            out.append((s.start, end, s.phase, ordinal[s.phase]))
            ordinal[s.phase] += 1
            cursor = end
        if cursor < origin + self.period:
            out.append((cursor, origin + self.period, self.default, ordinal[self.default]))
        return out

    @property
    def origin(self) -> float:
        """Start [s] of the first interval of period 0."""
        return self._intervals[0][0]

    def segments(self, start: float, stop: float) -> Iterator[Segment]:
        """The timeline from ``start`` to ``stop`` [s], one segment per phase interval."""
        t = start
        if t < self.origin:
            end = min(self.origin, stop)
            yield Segment(t, end, self.steps[self.default], self.default)
            t = end
        while t < stop:
            p, i = self._find(t)
            a, b, phase, _ = self._intervals[i]
            end = min(p * self.period + b, stop)
            # Integer period offsets keep the boundaries exact over years.
            yield Segment(t, end, self.steps[phase], phase)
            t = end

    def _find(self, t: float) -> tuple[int, int]:
        """(period index, interval index) holding time ``t`` >= origin."""
        u = t - self.origin
        p = math.floor(u / self.period)
        local = t - p * self.period
        i = bisect.bisect_right(self._starts, local) - 1
        if i < 0:
            p, i = p - 1, len(self._intervals) - 1
        elif local >= self._intervals[i][1] and i == len(self._intervals) - 1:
            p, i = p + 1, 0
        return p, i

    def state(self, t: float) -> tuple[str, float, float, int]:
        """``(phase, interval start [s], interval end [s], session)`` for an instant inside an interval."""
        if t < self.origin:
            return self.default, -math.inf, self.origin, 0
        p, i = self._find(t)
        a, b, phase, ordinal = self._intervals[i]
        return phase, p * self.period + a, p * self.period + b, p * self._per_period[phase] + ordinal + 1


class ScheduleUnit(TimeSource):
    """The schedule as a unit: phase flags, phase index, time in phase, session, ambient temperature."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        ports = [
            Port(p, OUTPUT, "1", f"1 while the phase {p!r} is on", start=0, type="Boolean")
            for p in schedule.phases
        ]
        ports += [
            Port(
                "phase",
                OUTPUT,
                "1",
                "index of the current phase: "
                + ", ".join(f"{i} = {p}" for i, p in enumerate(schedule.phases)),
                start=0,
                type="Integer",
            ),
            Port(
                "time_in_phase",
                OUTPUT,
                "s",
                "time spent in the current phase interval at the start of the step",
            ),
            Port(
                "session",
                OUTPUT,
                "1",
                "1-based count of the intervals of the current phase so far",
                start=0,
                type="Integer",
            ),
            Port(
                "T_ambient",
                OUTPUT,
                "K",
                "ambient temperature, mean over the macro step",
                start=298.15,
                min=0.0,
            ),
        ]
        self._ports = tuple(ports)
        self._column = self._ambient_column(schedule.ambient)
        self._start = 0.0
        super().__init__()

    @staticmethod
    def _ambient_column(ambient: Ambient) -> _Column | None:
        if ambient.file is None:
            return None
        from cosim import si

        cols = _read_csv(Path(ambient.file))
        for c in (ambient.time_column, ambient.column):
            if c not in cols:
                raise ValueError(
                    f"ambient profile {ambient.file}: no column {c!r}; columns: {', '.join(cols)}"
                )
        tg, to = si.conversion(ambient.time_unit, "s")
        vg, vo = si.conversion(ambient.unit, "K")
        x = [tg * v + to for v in cols[ambient.time_column]]
        y = [vg * v + vo for v in cols[ambient.column]]
        if len(x) < 2:
            raise ValueError(f"ambient profile {ambient.file}: needs at least two rows")
        # Close the loop: one more sample interval after the last row returns to the first value.
        x.append(x[-1] + (x[1] - x[0]))
        y.append(y[0])
        return _Column(x, y, LINEAR, x[-1] - x[0])

    def ports(self) -> Sequence[Port]:
        return self._ports

    def _ambient(self, t: float, h: float) -> float:
        if self._column is None:
            return self.schedule.ambient.constant
        if h <= 0:
            return self._column.value_and_integral(t)[0]
        return self._column.mean(t, t + h)

    def _update(self, t: float, h: float) -> None:
        mid = t + 0.5 * h if h > 0 else t
        if not self._span[0] <= mid < self._span[1]:
            # A new phase interval: the flags, index and session change only here.
            phase, begun, end, session = self.schedule.state(mid)
            for p in self.schedule.phases:
                setattr(self, p, 1 if p == phase else 0)
            self.phase = self.schedule.phases.index(phase)
            self.session = session
            self._span = (begun, end)
            self._begun = max(begun, self._start)
        self.time_in_phase = t - self._begun
        self.T_ambient = self._ambient(t, h)

    def setup(self, start_time: float) -> None:
        self._start = start_time
        self._span = (math.inf, -math.inf)
        self._update(start_time, 0.0)

    def do_step(self, t: float, h: float) -> None:
        self._update(t, h)

    def save_state(self) -> Any:
        return None


def clock_seconds(text: str) -> float:
    """Seconds after midnight of a 24-hour clock time ``"HH:MM"`` (``"07:30"``, ``"7:30"``, ``"18:05"``).

    Raises ValueError with a sentence that says what was expected (``"7.30am"`` is not a clock time).
    """
    hours, sep, minutes = str(text).strip().partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and len(hours) <= 2 and len(minutes) == 2:
        h, m = int(hours), int(minutes)
        if h < 24 and m < 60:
            return h * 3600.0 + m * 60.0
    raise ValueError(
        f"{text!r} is not a time of day; expected 24-hour 'HH:MM' from '00:00' to '23:59', e.g. '07:30' "
        "or '18:10'"
    )


def _clock(seconds: float) -> str:
    day, rest = divmod(int(round(seconds)), 86400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}"
    return f"day {day} {text}" if day else text

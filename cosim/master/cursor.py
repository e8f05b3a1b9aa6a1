"""Where a run stands within its timeline, and one macro step from there: the interactive stepping.

:meth:`Master.run <cosim.master.Master.run>` steps whole segments; an interactive
:class:`~cosim.simulation.Simulation` stops between any two communication points, so it steps one
point at a time from a :class:`Cursor` with the same semantics (the same interpreter, the same event
location, the same step multiples, which a pause does not restart).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cosim.master.observer import RunStats
from cosim.timeline import Segment


@dataclass(slots=True)
class Cursor:
    """The next macro step of a segment: step ``k`` of ``n`` on the grid ``start + k * seg.step`` [s].

    ``start`` is the segment's start, or the time of the last located event (a new grid starts there).
    ``at`` is set when an interactive run stopped between two grid points: the next step starts there
    and ends on the grid (the grid stays as it was).
    """

    seg: Segment
    start: float = field(default=0.0)
    k: int = 0
    n: int = 0
    at: float | None = None

    def __post_init__(self) -> None:
        if self.n == 0:
            self.start, self.n = self.seg.start, self.seg.n_steps()

    @property
    def done(self) -> bool:
        """True when the segment is stepped to its end."""
        return self.k >= self.n

    def next_time(self) -> float:
        """The communication point [s] the next macro step ends at."""
        return self.seg.stop if self.k == self.n - 1 else self.start + (self.k + 1) * self.seg.step

    def step_start(self) -> float:
        """The time [s] the next macro step starts at."""
        return self.at if self.at is not None else self.start + self.k * self.seg.step

    def step_end(self, until: float | None) -> tuple[float, bool]:
        """The end [s] of the next macro step, cut at ``until`` when that comes first, and whether
        every unit steps to it (the segment's end, or a cut)."""
        t_end = self.next_time()
        if until is not None and until < t_end:
            return until, True
        return t_end, self.k == self.n - 1

    def moved_to(self, t_end: float) -> None:
        """Record a macro step that ended at ``t_end`` [s]: on the grid, or between two of its points."""
        if t_end < self.next_time():
            self.at = t_end
        else:
            self.k += 1
            self.at = None


class PointStepping:
    """One communication point at a time, for the interactive API (mixed into the master).

    Uses the master's ``events``, ``outs``, ``ins``, ``_observers``, ``_macro_step`` and ``_event_point``.
    """

    def _point(self, cur: Cursor, stats: RunStats, until: float | None = None) -> bool:
        """Step from ``cur`` to its next communication point, or to ``until`` [s] when that comes first
        (every unit steps to it, as at a segment's end); True when an event stopped the run."""
        if self.events:
            return self._event_point(cur, stats, None, until)
        t = cur.step_start()
        t_end, sync = cur.step_end(until)
        self._macro_step(t, t_end - t, sync)
        for obs in self._observers:
            obs.sample(t_end, self.outs, self.ins)
        stats.steps += 1
        stats.end = t_end
        cur.moved_to(t_end)
        return False

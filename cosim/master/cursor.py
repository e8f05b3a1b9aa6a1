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
    """

    seg: Segment
    start: float = field(default=0.0)
    k: int = 0
    n: int = 0

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


class PointStepping:
    """One communication point at a time, for the interactive API (mixed into the master).

    Uses the master's ``events``, ``outs``, ``ins``, ``_observers``, ``_macro_step`` and ``_event_point``.
    """

    def _point(self, cur: Cursor, stats: RunStats) -> bool:
        """Step from ``cur`` to its next communication point; True when an event stopped the run."""
        if self.events:
            return self._event_point(cur, stats, None)
        k, n, h = cur.k, cur.n, cur.seg.step
        t = cur.start + k * h
        t_end = cur.next_time()
        self._macro_step(t, t_end - t, k == n - 1)
        for obs in self._observers:
            obs.sample(t_end, self.outs, self.ins)
        stats.steps += 1
        stats.end = t_end
        cur.k += 1
        return False

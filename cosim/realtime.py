"""Real-time pacing: a run held to the wall clock, for a live simulator or hardware in the loop.

:class:`Pacer` is an observer: at each communication point ``t`` it waits until the wall clock
reaches ``wall_0 + (t - t_0) / factor`` (``factor`` 1 is real time, 10 ten times faster). A point
reached after its deadline is an overrun: it is counted with its lateness and not waited for, and
the next points keep their deadlines on the same clock (the run catches up rather than drifting).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cosim.master.observer import Observer


class Pacer(Observer):
    """Paces a run to ``factor`` times the wall clock and counts the points reached late.

    Parameters
    ----------
    factor : float
        Simulated seconds per wall-clock second (> 0).
    clock, sleep : callables
        The wall clock [s] and a way to wait [s]; ``time.perf_counter`` and ``time.sleep``.
    """

    def __init__(
        self,
        factor: float,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not factor > 0:
            raise ValueError(f"the real-time factor must be > 0 (got {factor!r})")
        self.factor = float(factor)
        self._clock, self._sleep = clock, sleep
        self.t0 = self.wall0 = 0.0
        #: Points paced, points reached late, the largest and the summed lateness [s] (wall clock).
        self.points = self.overruns = 0
        self.max_late = self.total_late = 0.0

    def start(self, master: Any, t0: float) -> None:
        self.t0, self.wall0 = t0, self._clock()

    def sample(self, t: float, outs: list, ins: list) -> None:
        if t == self.t0:
            return
        self.points += 1
        late = self._clock() - (self.wall0 + (t - self.t0) / self.factor)
        if late > 0.0:
            self.overruns += 1
            self.total_late += late
            if late > self.max_late:
                self.max_late = late
        else:
            self._sleep(-late)

    def report(self) -> dict[str, float]:
        """``factor``, ``points``, ``overruns``, ``max_lateness_s``, ``total_lateness_s``."""
        return {
            "factor": self.factor,
            "points": self.points,
            "overruns": self.overruns,
            "max_lateness_s": self.max_late,
            "total_lateness_s": self.total_late,
        }

"""What a run tells the outside: observers called at every communication point, and the run's statistics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cosim.master.stepping import Master

_INF = math.inf


class Observer:
    """Watches a run: results writers and summary reductions implement it."""

    #: False when :meth:`sample` has nothing left to do once :meth:`fast_sampling` took over.
    samples_each_point: bool = True

    def start(self, master: Master, t0: float) -> None:
        """Called once before the first sample."""

    def sample(self, t: float, outs: list, ins: list) -> None:
        """Called at every communication point ``t`` [s] (and at the start) with every unit's values.

        ``outs[i]``/``ins[i]`` are the bound outputs/inputs of ``master.slots[i]``; the
        sequences are not modified later, so an observer may keep references.
        """

    def event(self, t: float, name: str) -> None:
        """Called when an event fires at ``t`` [s]."""

    def fast_sampling(self) -> list:
        """Optional fast path for samples taken at every point: entries with ``pack_into``,
        ``buffer``, ``vectors``, ``row_bytes``, ``start``, ``check`` and ``save``
        (:class:`cosim.results.writer.FastSampling`).

        The master's generated loop then takes ``pos, next_check = start()``, and at every
        communication point packs ``t`` followed by ``*outs[i]`` or ``*ins[i]`` for each
        ``(is_output, i)`` of ``vectors`` with ``pack_into(buffer, pos, ...)``, advances ``pos``
        by ``row_bytes``, and calls ``pos, next_check = check(pos)`` once ``pos >= next_check``;
        it hands ``pos`` back with ``save(pos)`` when the segment ends or fails. :meth:`sample`
        must then leave those rows out. Asked once, after the first sample, and only when the
        whole run can use the fast loop.
        """
        return []


@dataclass
class RunStats:
    """What a run did: end time [s], macro steps, rejected trials, events, wall and CPU time [s]."""

    start: float
    end: float = 0.0
    steps: int = 0
    rejected: int = 0
    events: list[tuple[float, str]] = field(default_factory=list)
    stopped_by: str | None = None
    wall_time: float = 0.0
    cpu_time: float = 0.0

    @property
    def real_time_factor(self) -> float:
        """Simulated time per wall-clock time."""
        return (self.end - self.start) / self.wall_time if self.wall_time > 0 else _INF

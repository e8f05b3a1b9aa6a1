"""The master's time grid: segments of constant macro step, each tagged with a phase name.

Within a segment the communication points are ``start + k * step`` for integer ``k``, and the
last step is shortened so that the segment's end is hit exactly. Segment ends (phase
boundaries) are communication points for every unit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: Relative slack when deciding whether a span is a whole number of steps (rounding noise only).
_GRID_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class Segment:
    """``[start, stop)`` stepped with macro step ``step`` [s], in phase ``phase``."""

    start: float
    stop: float
    step: float
    phase: str = ""

    def __post_init__(self) -> None:
        if not (self.stop > self.start):
            raise ValueError(f"segment must end after it starts (got {self.start} .. {self.stop} s)")
        if not (self.step > 0 and math.isfinite(self.step)):
            raise ValueError(f"macro step must be a positive number of seconds (got {self.step!r})")

    def n_steps(self) -> int:
        """Number of macro steps, the last one possibly shorter."""
        ratio = (self.stop - self.start) / self.step
        nearest = round(ratio)
        if nearest >= 1 and abs(ratio - nearest) <= _GRID_SLACK * max(1.0, ratio):
            return nearest
        return math.ceil(ratio)


def fixed(start: float, stop: float, step: float, phase: str = "") -> list[Segment]:
    """A single segment: a constant macro step from ``start`` to ``stop`` [s]."""
    return [Segment(float(start), float(stop), float(step), phase)]


def truncate(segments: Iterable[Segment], stop: float) -> Iterator[Segment]:
    """The segments cut at ``stop`` [s]."""
    for seg in segments:
        if seg.start >= stop:
            return
        if seg.stop > stop:
            yield Segment(seg.start, stop, seg.step, seg.phase)
            return
        yield seg


def snap(segments: Iterable[Segment], grid: float, t0: float) -> Iterator[Segment]:
    """The segments with every boundary moved to the nearest point of ``t0 + k * grid`` [s].

    Segments that become empty are dropped (their time goes to the neighbours); the last end moves
    too, so a run may end up to half a grid step earlier or later than asked.
    """
    start = None
    pending = None
    for seg in segments:
        a = t0 + round((seg.start - t0) / grid) * grid
        b = t0 + round((seg.stop - t0) / grid) * grid
        if start is None:
            start = a
        if b <= start:
            continue
        if pending is not None:
            yield Segment(start, pending.stop, pending.step, pending.phase)
            start = pending.stop
        pending = Segment(start, b, seg.step, seg.phase)
    if pending is not None:
        yield Segment(start, pending.stop, pending.step, pending.phase)

"""How rows reach the buffers: the master's generated loop (every point) and decimated groups."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from cosim.results.format import OutputGroup
from cosim.results.rows import RowBuffer


class FastSampling(NamedTuple):
    """A row buffer the master's generated loop fills itself (see :meth:`Observer.fast_sampling`)."""

    pack_into: Any
    buffer: memoryview
    vectors: list[tuple[bool, int]]
    row_bytes: int
    start: Callable[[], tuple[int, int]]  # () -> (pos, next_check)
    check: Callable[[int], tuple[int, int]]  # (pos) -> (pos, next_check)
    save: Callable[[int], None]  # (pos) -> None


def fast_entry(buf: RowBuffer, check_buffer: Callable[[RowBuffer], None]) -> FastSampling:
    """The entry for ``buf``; ``check_buffer(buf)`` flushes when it is full or when it is time."""
    # An interrupt inside check() after the rows were written leaves the loop a stale position.
    handed = [buf.epoch]

    def start() -> tuple[int, int]:
        handed[0] = buf.epoch
        return buf.pos, buf.next_check

    def check(pos: int) -> tuple[int, int]:
        buf.pos = pos
        check_buffer(buf)
        handed[0] = buf.epoch
        return buf.pos, buf.next_check

    def save(pos: int) -> None:
        if buf.epoch == handed[0]:
            buf.pos = pos

    vectors = [(is_out, i) for is_out, i, _ in buf.vectors]
    return FastSampling(buf.pack, buf.view, vectors, buf.row_bytes, start, check, save)


class Decimated:
    """A group recorded at some points only (``every`` n-th, or ``interval`` apart), with its own buffer."""

    __slots__ = ("spec", "buffer", "count", "t_row", "skipped")

    def __init__(self, spec: OutputGroup, buffer: RowBuffer):
        self.spec, self.buffer = spec, buffer
        self.count = 0
        self.t_row = -math.inf  # time of the last row
        self.skipped = math.nan  # the last point, when it was not recorded

    def due(self, t: float) -> bool:
        """Whether the point at ``t`` [s] is recorded (the first always is)."""
        spec = self.spec
        if self.t_row > -math.inf:
            if spec.interval > 0.0:
                if t - self.t_row < spec.interval * (1.0 - 1e-12):
                    self.skipped = t
                    return False
            else:
                self.count += 1
                if self.count < spec.every:
                    self.skipped = t
                    return False
        self.count = 0
        self.t_row = t
        self.skipped = math.nan
        return True

"""The result file's format: its name, run states, the attributes every file reserves, output groups."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMAT = "evtwin-result 1"
STATUS_RUNNING = "running"
STATUS_COMPLETE = "complete"
STATUS_INTERRUPTED = "interrupted"

#: Numeric root attributes of every file, created at the start; ``end_time``, ``steps``,
#: ``wall_time``, ``cpu_time`` and ``real_time_factor`` follow the rows at each flush.
RUN_NUMBERS: dict[str, type] = {
    "end_time": float,
    "steps": int,
    "rejected_steps": int,
    "wall_time": float,
    "cpu_time": float,
    "real_time_factor": float,
}
#: What ``/progress`` holds (then the rows of each group, ``rows:<group>``): one small dataset
#: written in place after each flush with a single write, so that a kill never leaves it half
#: updated, and never ahead of the rows (the root attributes of the same names follow it).
PROGRESS = ("end_time", "steps", "wall_time", "cpu_time", "real_time_factor", "events")

#: Text root attributes of every file and their reserved size [bytes] (longer text is cut).
RUN_TEXTS: dict[str, int] = {"status": 4096, "finished_at": 64, "stopped_by": 256}

#: The first bytes of every HDF5 file.
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class OutputGroup:
    """Signals recorded together on one time base.

    Parameters
    ----------
    name : str
        Group name (``/time/<name>``).
    signals : sequence of str
        ``unit.port`` names.
    every : int
        Record every ``every``-th communication point (the first and the last are always recorded).
    interval : float
        Instead of ``every``: record when at least ``interval`` [s] passed since the last row.
    """

    name: str
    signals: Sequence[str]
    every: int = 1
    interval: float = 0.0

    @property
    def at_every_point(self) -> bool:
        return self.every == 1 and not self.interval > 0.0


def write_attrs(obj: Any, attrs: Mapping[str, Any]) -> None:
    """Store attributes; anything but str, bool, int and float goes in as JSON text."""
    for key, value in attrs.items():
        if value is None:
            continue
        obj.attrs[key] = plain_or_json(value)


def plain_or_json(value: Any) -> Any:
    if isinstance(value, str | bool | int | float | np.floating | np.integer):
        return value
    return json.dumps(value, default=str)


def fixed_text(text: str, size: int) -> bytes:
    """``text`` as UTF-8 in at most ``size`` bytes, cut on a character boundary with a mark."""
    data = text.encode("utf-8")
    if len(data) <= size:
        return data
    mark = " [...]".encode()
    return data[: size - len(mark)].decode("utf-8", "ignore").encode("utf-8") + mark

"""Fleet mode's timeline: a car still plugged in after its charge has ended steps like a parked car.

The schedule keeps a car plugged in from its arrival to its departure (eight hours at home, an hour
at a DC charger), at the charge phase's macro step (900 s at home, 10 s at a DC charger) so that
the charger's current follows the pack. Once the charger has ended its session (its ``done``
output: the target SOC or the taper's cut-off reached) its current stays zero until the car is
unplugged, and the pack only rests; most of a commuter's night is that. So the session runs in
chunks of its own steps on its own grid, every charging step the same as before, and after the
chunk in which the charger reports ``done`` the rest of the session takes the park phase's long
steps, split at midnight (where the daily summary's days end), up to the departure.

The master takes segments as it goes (:meth:`cosim.master.Master.run` reads its timeline lazily),
so the timeline can look at the charger between chunks; the engine knows nothing of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cosim.timeline import Segment

DAY = 86400.0
#: Simulated time [s] of a charging session between looks at whether its charger is done, at least
#: two of its steps (two 900 s steps at home, thirty 10 s steps at a DC charger): after the charge
#: ends, at most this much goes in the charge phase's steps.
LOOK_EVERY = 300.0


def idle_when_charged(segments: Iterable[Segment], units: Mapping[str, Any], chargers: Mapping[str, str],
                      idle_step: float) -> Iterator[Segment]:
    """``segments`` with each charging phase's time after its charger is done in steps of ``idle_step`` [s].

    ``units``: the master's units by name; ``chargers``: phase name -> the name of the charger unit
    plugged in during it (a unit with a ``done`` output that stays 1 until it is unplugged).
    """
    for seg in segments:
        name = chargers.get(seg.phase)
        if name is None or seg.step >= idle_step:
            yield seg
            continue
        yield from _session(seg, units[name], idle_step)


def _session(seg: Segment, charger: Any, idle_step: float) -> Iterator[Segment]:
    """One charging segment: chunks on its own grid while the charger works, then long steps."""
    per_chunk = max(2, round(LOOK_EVERY / seg.step))
    total = seg.n_steps()
    k = 0
    while k < total:
        if k > 0 and charger.done >= 0.5:
            yield from _idle(seg.start + k * seg.step, seg.stop, idle_step, seg.phase)
            return
        end = k + per_chunk
        # the chunk's end on the segment's own grid (the same communication points as one segment)
        yield Segment(seg.start + k * seg.step, seg.stop if end >= total else seg.start + end * seg.step,
                      seg.step, seg.phase)
        k = end


def _idle(start: float, stop: float, step: float, phase: str) -> Iterator[Segment]:
    """``[start, stop)`` in steps of ``step`` [s], a segment per day so that midnight is a step's end."""
    t = start
    while t < stop:
        midnight = (math.floor(t / DAY) + 1) * DAY
        end = min(midnight, stop)
        yield Segment(t, end, step, phase)
        t = end

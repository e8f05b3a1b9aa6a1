"""The end-of-run summary: reductions of signals computed during the run, at full rate.

Integrals weight each communication point's value by the step that ends there (a unit's
outputs after a step stand for that step), which is exact for the mean values that time
sources and ``transfer: mean`` hand over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cosim.master import Master, Observer
from cosim.unit import OUTPUT


class SummaryObserver(Observer):
    """Computes min, max, mean, initial, final, delta and integral of some signals during a run.

    Parameters
    ----------
    rows : sequence of SummaryRow-like objects
        Each with ``signal``, ``reduce``, ``gain``, ``offset``, ``label`` and ``unit``.
    """

    def __init__(self, rows: Sequence):
        self.rows = list(rows)
        self._signals = list(dict.fromkeys(r.signal for r in self.rows))

    def start(self, master: Master, t0: float) -> None:
        self._at = []
        for sig in self._signals:
            i, causality, pos = master.locate(sig)
            self._at.append((causality == OUTPUT, i, pos))
        n = len(self._signals)
        self.t0 = self.t_last = t0
        self.first = [math.nan] * n
        self.last = [math.nan] * n
        self.lo = [math.inf] * n
        self.hi = [-math.inf] * n
        self.integral = [0.0] * n
        self._started = False

    def sample(self, t: float, outs: list, ins: list) -> None:
        h = t - self.t_last
        self.t_last = t
        last, lo, hi, integral = self.last, self.lo, self.hi, self.integral
        for k, (is_out, i, pos) in enumerate(self._at):
            v = (outs if is_out else ins)[i][pos]
            last[k] = v
            if v < lo[k]:
                lo[k] = v
            if v > hi[k]:
                hi[k] = v
            integral[k] += v * h
        if not self._started:
            self.first = list(last)
            self._started = True

    # The master's C core (cosim.master.native) does sample()'s work itself between these calls.
    def native_reductions(self) -> list[tuple[bool, int, int]]:
        """The signals reduced: ``(is_output, slot index, position)`` each, after :meth:`start`."""
        return list(self._at)

    def reduction_state(self, k: int) -> tuple[float, float, float, float]:
        """``(last, min, max, integral)`` of signal ``k`` so far."""
        return self.last[k], self.lo[k], self.hi[k], self.integral[k]

    def set_reduction_state(self, k: int, state: tuple[float, float, float, float], t_last: float) -> None:
        """Signal ``k``'s reductions as the core left them at ``t_last`` [s]."""
        self.last[k], self.lo[k], self.hi[k], self.integral[k] = state
        self.t_last = t_last

    def values(self) -> list[tuple[str, float, str]]:
        """``(label, value, unit)`` per row."""
        out = []
        span = self.t_last - self.t0
        for r in self.rows:
            k = self._signals.index(r.signal)
            raw = {
                "min": self.lo[k],
                "max": self.hi[k],
                "initial": self.first[k],
                "final": self.last[k],
                "delta": self.last[k] - self.first[k],
                "integral": self.integral[k],
                "mean": self.integral[k] / span if span > 0 else self.last[k],
            }[r.reduce]
            out.append((r.label, r.gain * raw + r.offset, r.unit))
        return out

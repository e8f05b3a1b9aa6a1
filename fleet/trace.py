"""A vehicle's full-resolution trace: every communication point of its run (1 s while driving).

Asked for per vehicle (the fleet file's ``traces``, or ``evtwin fleet run --trace ID``); such a vehicle
runs at full resolution, and its file keeps ``trace/<signal>`` beside the daily table. About 13 signals
x 8 bytes per point: some 130 MB a vehicle-year of the commute, so ask for a few vehicles.
"""

from __future__ import annotations

from array import array

import numpy as np

from cosim.master import Master, Observer
from cosim.unit import OUTPUT
from fleet.daily import SIGNALS

#: The signals a trace keeps: the daily summary's and the vehicle's speed.
TRACE_SIGNALS = (*SIGNALS, "vehicle.speed")


class Trace(Observer):
    """Keeps time [s] and :data:`TRACE_SIGNALS` (SI units) at every communication point."""

    def start(self, master: Master, t0: float) -> None:
        self._at = []
        for sig in TRACE_SIGNALS:
            i, causality, pos = master.locate(sig)
            self._at.append((causality == OUTPUT, i, pos))
        self._t = array("d")
        self._columns = [array("d") for _ in TRACE_SIGNALS]

    def sample(self, t: float, outs: list, ins: list) -> None:
        self._t.append(t)
        for column, (is_out, i, pos) in zip(self._columns, self._at, strict=True):
            column.append((outs if is_out else ins)[i][pos])

    def columns(self) -> dict[str, np.ndarray]:
        """``t`` and one array per signal (named as in the scenario, e.g. ``battery.SOC``)."""
        out = {"t": np.frombuffer(self._t, dtype=float).copy()}
        out.update({sig: np.frombuffer(col, dtype=float).copy()
                    for sig, col in zip(TRACE_SIGNALS, self._columns, strict=True)})
        return out

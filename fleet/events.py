"""The day's strandings and missed charging targets, counted from the vehicle and its chargers.

An observer of the engine beside the daily summary (:class:`fleet.daily.DailySummary`), at every
communication point:

- a stranding: the vehicle's ``stranded`` output rises (the pack could no longer power the car; it
  stays 1 until the drive ends, so each stranded drive counts once);
- a missed target: a charger's ``plugged`` input falls (the car leaves) while the SOC it read at that
  step's start, the SOC the car left with, is more than the charger's tolerance
  (:data:`control.charger_unit.MISSED_TOLERANCE`, 1e-3) under the ``goal_soc`` its session charged to.

Each is counted in the day of the step it happened in. The signals must be observed (the fleet's
scenarios list them in their summary rows: :data:`SIGNALS`).
"""

from __future__ import annotations

from collections.abc import Sequence

from control.charger_unit import MISSED_TOLERANCE
from cosim.master import Master, Observer
from cosim.unit import OUTPUT
from fleet.daily import DailySummary


def signals(chargers: Sequence[str]) -> list[str]:
    """The signals :class:`SessionEvents` reads, for the charger units ``chargers``."""
    return ["vehicle.stranded"] + [f"{c}.{port}" for c in chargers for port in ("plugged", "SOC", "goal_soc")]


class SessionEvents(Observer):
    """Counts strandings and missed targets into ``daily`` (see the module's docstring)."""

    def __init__(self, daily: DailySummary, chargers: Sequence[str]):
        self.daily, self.chargers = daily, list(chargers)

    def start(self, master: Master, t0: float) -> None:
        def at(signal: str) -> tuple[bool, int, int]:
            i, causality, pos = master.locate(signal)
            return causality == OUTPUT, i, pos

        self._stranded_at = at("vehicle.stranded")
        self._charger_at = [tuple(at(f"{c}.{port}") for port in ("plugged", "SOC", "goal_soc"))
                            for c in self.chargers]
        self._was_stranded = False
        self._was_plugged = [False] * len(self.chargers)

    def sample(self, t: float, outs: list, ins: list) -> None:
        is_out, i, pos = self._stranded_at
        stranded = (outs if is_out else ins)[i][pos] >= 0.5
        if stranded and not self._was_stranded:
            self.daily.count("stranded_events")
        self._was_stranded = stranded
        for j, ports in enumerate(self._charger_at):
            plugged, soc, goal = ((outs if o else ins)[i][pos] for o, i, pos in ports)
            if self._was_plugged[j] and plugged < 0.5 and soc < goal - MISSED_TOLERANCE:
                self.daily.count("missed_targets")
            self._was_plugged[j] = plugged >= 0.5

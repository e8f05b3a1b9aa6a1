"""A battery and a charger wired as ``docs/charging.md`` recommends, run by the engine's :class:`Master`.

For tests, benchmarks and examples that need a charging loop without a scenario file: the
battery's outputs feed the charger's inputs of the same name with a delay of one step, the
charger's ``I_charge`` feeds the battery directly, and a source unit gives the plug-in state,
the vehicle's load and the ambient temperature as functions of time (held over each step).
Each step ``[t, t + h]`` the charger reads the battery's state at ``t`` and sets the current
for the step, then the battery advances with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from cosim.connection import Connection
from cosim.master import Master, Observer
from cosim.sources import TimeSource
from cosim.timeline import Segment
from cosim.unit import INPUT, OUTPUT, Port, Unit

#: Battery outputs recorded (and passed on to charger inputs of the same name).
BATTERY_OUTPUTS = (
    "SOC",
    "V_terminal",
    "I_terminal",
    "P_terminal",
    "T_cell",
    "T_housing",
    "SOH_capacity",
    "SOH_resistance",
    "I_charge_max",
    "EFC",
    "Q_heat",
)


class Conditions(TimeSource):
    """Plug-in state [1], vehicle load [W] and ambient temperature [K] as functions of time [s]."""

    PORTS: ClassVar[tuple[Port, ...]] = (
        Port("plugged", OUTPUT, "1", "1 while plugged in", 1.0),
        Port("P_load", OUTPUT, "W", "Power the vehicle draws", 0.0),
        Port("T_ambient", OUTPUT, "K", "Ambient temperature", 298.15),
    )

    def __init__(self, plugged: Callable[[float], float], load: Callable[[float], float],
                 ambient: Callable[[float], float]):
        super().__init__()
        self._functions = (plugged, load, ambient)

    def setup(self, start_time: float) -> None:
        self.do_step(start_time, 0.0)

    def do_step(self, t: float, h: float) -> None:
        plugged, load, ambient = self._functions
        self.plugged, self.P_load, self.T_ambient = float(plugged(t)), float(load(t)), float(ambient(t))


@dataclass
class Trace:
    """Signals at the end of each step; ``time`` [s]. Charger outputs carry a ``charger.`` prefix."""

    time: np.ndarray
    signals: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.signals[name]


class _Recorder(Observer):
    def __init__(self, names: Sequence[tuple[str, str]]):
        self.names = names  # (trace name, unit.port)
        self.times: list[float] = []
        self.rows: list[list[float]] = []

    def start(self, master: Master, t0: float) -> None:
        self._at = [master.locate(signal) for _, signal in self.names]
        self._t0 = t0

    def sample(self, t: float, outs: list, ins: list) -> None:
        if t == self._t0:
            return
        self.times.append(t)
        self.rows.append([(outs if c == OUTPUT else ins)[i][k] for i, c, k in self._at])

    def trace(self) -> Trace:
        data = np.array(self.rows, dtype=float).reshape(len(self.rows), len(self.names))
        return Trace(np.array(self.times), {name: data[:, j] for j, (name, _) in enumerate(self.names)})


def charging_master(battery: Unit, charger: Unit, ambient: float | Callable[[float], float] = 298.15,
                    plugged: Callable[[float], float] | None = None,
                    load: Callable[[float], float] | None = None) -> tuple[Master, list[tuple[str, str]]]:
    """The engine's master for ``battery`` and ``charger`` (configured, not set up) in the recommended
    wiring, and the signals a :class:`Trace` records, as ``(name, unit.port)``."""
    ambient_of = ambient if callable(ambient) else (lambda t, v=float(ambient): v)
    conditions = Conditions(plugged or (lambda t: 1.0), load or (lambda t: 0.0), ambient_of)
    charger_inputs = {p.name for p in charger.ports() if p.causality == INPUT}
    fed = [n for n in BATTERY_OUTPUTS if n in charger_inputs]
    wires = [
        Connection("conditions.P_load", "battery.P_load"),
        Connection("conditions.T_ambient", "battery.T_ambient"),
        Connection("conditions.T_ambient", "battery.T_coolant"),
        Connection("conditions.plugged", "charger.plugged"),
        Connection("charger.I_charge", "battery.I_charge"),
        *(Connection(f"battery.{n}", f"charger.{n}", delay=1) for n in fed),
    ]
    if "T_ambient" in charger_inputs:
        wires.append(Connection("conditions.T_ambient", "charger.T_ambient"))
    outputs = [p.name for p in charger.ports() if p.causality == OUTPUT]
    names = [("I_applied", "charger.I_charge"), *((n, f"battery.{n}") for n in BATTERY_OUTPUTS),
             ("plugged", "conditions.plugged"), *((f"charger.{n}", f"charger.{n}") for n in outputs)]
    units = {"conditions": conditions, "charger": charger, "battery": battery}
    observe = [signal for _, signal in names]
    return Master(units, wires, observe=observe), names


def run_charging(battery: Unit, charger: Unit, duration: float, step: float, t0: float = 0.0,
                 observers: Sequence[Observer] = (), **conditions) -> Trace:
    """Run the loop from ``t0`` for ``duration`` [s] in steps of ``step`` [s]; the trace of every step.

    Row ``k`` holds the current applied over step ``k`` (``I_applied``, the charger's outputs for
    it) and the battery's outputs at the step's end. ``conditions``: ``ambient``, ``plugged``,
    ``load`` of :func:`charging_master`; ``observers``: further observers of the run.
    """
    master, names = charging_master(battery, charger, **conditions)
    recorder = _Recorder(names)
    master.run([Segment(t0, t0 + duration, step)], observers=[recorder, *observers])
    return recorder.trace()

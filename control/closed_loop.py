"""A battery and a charger in closed loop, without a scenario: for tests, benchmarks and examples.

The wiring is the one ``docs/charging.md`` recommends for a scenario: the battery's outputs feed
the charger's inputs of the same name with a delay of one step, and the charger's ``I_charge``
feeds the battery directly. Each step ``[t, t + h]``: the charger reads the battery's state at
``t`` and sets the current for the step, then the battery advances with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cosim.unit import INPUT, Unit

#: Battery outputs recorded (and passed on to charger inputs of the same name).
BATTERY_OUTPUTS = (
    "SOC",
    "V_terminal",
    "I_terminal",
    "P_terminal",
    "T_cell",
    "T_housing",
    "SOH_capacity",
    "I_charge_max",
    "EFC",
    "Q_heat",
)


@dataclass
class Trace:
    """Signals at the end of each step; ``time`` [s]. Charger outputs carry a ``charger.`` prefix."""

    time: np.ndarray
    signals: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.signals[name]


class ClosedLoop:
    """Step a battery unit and a charger unit together.

    Parameters
    ----------
    battery, charger : Unit
        Not yet bound or set up; the loop binds and sets them up at ``start``.
    ambient : float or callable
        Ambient temperature [K], or a function of time [s] returning it.
    plugged : callable, optional
        Function of time [s] returning 1.0 while plugged in (default: always).
    load : callable, optional
        Power drawn by the vehicle [W] as a function of time [s] (default: none).
    """

    def __init__(
        self,
        battery: Unit,
        charger: Unit,
        ambient: float | Callable[[float], float] = 298.15,
        plugged: Callable[[float], float] | None = None,
        load: Callable[[float], float] | None = None,
    ):
        self.battery, self.charger = battery, charger
        self.ambient = ambient if callable(ambient) else (lambda t, v=float(ambient): v)
        self.plugged = plugged or (lambda t: 1.0)
        self.load = load or (lambda t: 0.0)
        charger_inputs = [p.name for p in charger.ports() if p.causality == INPUT]
        self._fed = [n for n in BATTERY_OUTPUTS if n in charger_inputs]
        self._charger_in = ["plugged", *self._fed] + (["T_ambient"] if "T_ambient" in charger_inputs else [])
        self._charger_out = [p.name for p in charger.ports() if p.causality == "output"]
        battery.bind(["P_load", "I_charge", "T_ambient", "T_coolant"], list(BATTERY_OUTPUTS))
        charger.bind(self._charger_in, self._charger_out)
        self.current = 0.0
        self.t = 0.0
        self._battery_out: dict[str, float] = {}

    def start(self, t0: float = 0.0) -> None:
        self.t = t0
        self.battery.setup(t0)
        self.charger.setup(t0)
        self._battery_out = dict(zip(BATTERY_OUTPUTS, self.battery.get_outputs(), strict=True))

    def save(self):
        """A snapshot of the loop (both units' states, time, the signals between them)."""
        return (
            self.battery.save_state(),
            self.charger.save_state(),
            self.t,
            self.current,
            dict(self._battery_out),
        )

    def restore(self, snapshot) -> None:
        battery, charger, self.t, self.current, out = snapshot
        self.battery.restore_state(battery)
        self.charger.restore_state(charger)
        self._battery_out = dict(out)

    def _feed_charger(self, t: float) -> None:
        out = self._battery_out
        values = [self.plugged(t)] + [out[n] for n in self._fed]
        if "T_ambient" in self._charger_in:
            values.append(self.ambient(t))
        self.charger.set_inputs(values)

    def run(self, duration: float, step: float) -> Trace:
        """Advance by ``duration`` [s] in steps of ``step`` [s]; the trace of every step.

        Row ``k`` holds the current applied over step ``k`` (``I_applied``, the charger's outputs
        for it) and the battery's outputs at the step's end.
        """
        n = int(round(duration / step))
        t0 = self.t
        rows, times = [], []
        for k in range(n):
            t = t0 + k * step
            amb = self.ambient(t)
            self._feed_charger(t)
            self.charger.do_step(t, step)
            cout = dict(zip(self._charger_out, self.charger.get_outputs(), strict=True))
            self.current = cout["I_charge"]
            self.battery.set_inputs([self.load(t), self.current, amb, amb])
            self.battery.do_step(t, step)
            self._battery_out = out = dict(zip(BATTERY_OUTPUTS, self.battery.get_outputs(), strict=True))
            rows.append([self.current, *out.values(), self.plugged(t), *cout.values()])
            times.append(t + step)
        self.t = t0 + n * step
        names = ["I_applied", *BATTERY_OUTPUTS, "plugged", *(f"charger.{c}" for c in self._charger_out)]
        data = np.array(rows, dtype=float).reshape(len(rows), len(names))
        return Trace(np.array(times), {name: data[:, i] for i, name in enumerate(names)})

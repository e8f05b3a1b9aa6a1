"""The vehicle contract finds each promise a unit breaks (the vehicle tests rely on it finding none)."""

from __future__ import annotations

import math

from bridges.vehicle_contract import SHARED_OUTPUTS, output_problems, port_problems
from cosim.unit import INPUT, OUTPUT, Port, PythonUnit


class Broken(PythonUnit):
    PORTS = (
        Port("P_charge_max", INPUT, "W", "charge limit", start=-1.0, min=0.0),
        *(Port(n, OUTPUT, u, n) for n, u in SHARED_OUTPUTS.items() if n not in ("speed", "P_aux")),
        Port("speed", OUTPUT, "km/h", "wheel speed", min=0.0),
        Port("P_aux", OUTPUT, "W", "", max=5000.0),
    )

    def setup(self, start_time):
        pass

    def do_step(self, t, h):
        pass


def test_each_broken_port_promise_is_named():
    assert port_problems(Broken()) == [
        "P_charge_max: start -1.0 is below its min 0.0",
        "P_aux: no description",
        "output 'speed' [m/s] is missing (got 'km/h')",
        "input 'T_ambient' is missing",
    ]


def test_each_broken_output_value_is_named():
    unit = Broken()
    for name in SHARED_OUTPUTS:
        setattr(unit, name, 0.0)
    unit.speed, unit.P_aux, unit.P_loss = -1.0, 6000.0, math.nan
    assert output_problems(unit) == [
        "P_loss = nan is not a finite float",
        "speed = -1.0 is below its min 0.0",
        "P_aux = 6000.0 is above its max 5000.0",
    ]

"""Checks every vehicle unit must pass: declared ports the engine can use, and sane outputs."""

from __future__ import annotations

import math

from cosim import si
from cosim.unit import CAUSALITIES, OUTPUT

#: Ports every vehicle source shares, so a scenario can swap one for another.
SHARED_OUTPUTS = {
    "P_battery": "W",
    "speed": "m/s",
    "distance": "m",
    "motor_torque": "N.m",
    "motor_speed": "rad/s",
    "P_regen": "W",
    "P_aux": "W",
    "P_loss": "W",
}


def check_ports(unit) -> None:
    ports = list(unit.ports())
    names = [p.name for p in ports]
    assert len(names) == len(set(names)), "port names must be unique"
    for p in ports:
        assert p.causality in CAUSALITIES
        assert si.is_known(p.unit), (p.name, p.unit)
        assert p.description, p.name
        if p.causality != OUTPUT and p.min is not None:
            assert p.start >= p.min, p.name
    units = {p.name: p.unit for p in ports if p.causality == OUTPUT}
    for name, unit_symbol in SHARED_OUTPUTS.items():
        assert units.get(name) == unit_symbol, name
    assert {p.name for p in ports if p.causality != OUTPUT} >= {"P_charge_max", "T_ambient"}


def check_outputs(unit) -> None:
    for p in unit.ports():
        if p.causality != OUTPUT:
            continue
        value = getattr(unit, p.name)
        assert isinstance(value, float) and math.isfinite(value), (p.name, value)
        if p.min is not None:
            assert value >= p.min - 1e-9, (p.name, value)
        if p.max is not None:
            assert value <= p.max + 1e-9, (p.name, value)

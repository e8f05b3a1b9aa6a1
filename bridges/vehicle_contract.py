"""What every vehicle unit (``ev``, ``beamng``, ``log_replay``) promises, so a scenario can swap them.

The shared outputs carry the same names and units; the inputs include the battery's charge limit and
the ambient temperature; every port is described in a unit the engine knows; outputs are finite and
within their declared range. Each function returns the broken promises, one sentence each (empty when
the unit keeps them).
"""

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

#: Inputs every vehicle source takes.
SHARED_INPUTS = ("P_charge_max", "T_ambient")


def port_problems(unit) -> list[str]:
    """Broken promises in the unit's declared ports."""
    ports = list(unit.ports())
    names = [p.name for p in ports]
    problems = []
    if len(names) != len(set(names)):
        problems.append(f"port names repeat: {sorted(n for n in set(names) if names.count(n) > 1)}")
    for p in ports:
        if p.causality not in CAUSALITIES:
            problems.append(f"{p.name}: causality {p.causality!r} is not one of {CAUSALITIES}")
        if not si.is_known(p.unit):
            problems.append(f"{p.name}: unit {p.unit!r} is not known")
        if not p.description:
            problems.append(f"{p.name}: no description")
        if p.causality != OUTPUT and p.min is not None and not p.start >= p.min:
            problems.append(f"{p.name}: start {p.start!r} is below its min {p.min!r}")
    units = {p.name: p.unit for p in ports if p.causality == OUTPUT}
    for name, unit_symbol in SHARED_OUTPUTS.items():
        if units.get(name) != unit_symbol:
            problems.append(f"output {name!r} [{unit_symbol}] is missing (got {units.get(name)!r})")
    inputs = {p.name for p in ports if p.causality != OUTPUT}
    problems += [f"input {name!r} is missing" for name in SHARED_INPUTS if name not in inputs]
    return problems


def output_problems(unit) -> list[str]:
    """Broken promises in the unit's current output values (read as attributes)."""
    problems = []
    for p in unit.ports():
        if p.causality != OUTPUT:
            continue
        value = getattr(unit, p.name)
        if not (isinstance(value, float) and math.isfinite(value)):
            problems.append(f"{p.name} = {value!r} is not a finite float")
            continue
        if p.min is not None and value < p.min - 1e-9:
            problems.append(f"{p.name} = {value!r} is below its min {p.min!r}")
        if p.max is not None and value > p.max + 1e-9:
            problems.append(f"{p.name} = {value!r} is above its max {p.max!r}")
    return problems

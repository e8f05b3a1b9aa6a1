"""The unit definitions of an SSP (``ssd:Units`` in the system structure, ``ssv:Units`` in a parameter set).

SSP 1.0 names a connector's or a value's unit and defines each name once, as FMI does: exponents of
the SI base units with ``factor`` and ``offset`` (``si = factor * value + offset``). Tools name units
their own way (``Celsius``, ``kiloW``, ``l_per_min``); where evtwin's unit registry reads a name as the
file defines it, the name stays, and otherwise a value is carried over in SI, in the coherent unit of
its dimension (``kg.m2.s-3`` for a power): the file's definition decides, not evtwin's reading of the name.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cosim import si
from cosim.errors import ScenarioError

SSC = "http://ssp-standard.org/SSP1/SystemStructureCommon"
#: The attributes of ``ssc:BaseUnit``, in the order of :class:`cosim.si.Unit`'s exponents.
BASE = ("kg", "m", "s", "A", "K", "mol", "cd", "rad")


def read_units(parent: ET.Element | None, where: Path) -> dict[str, si.Unit]:
    """``{name: Unit}`` of the ``ssc:Unit`` children of ``parent`` (an ``ssd:Units`` or ``ssv:Units``)."""
    units: dict[str, si.Unit] = {}
    for node in [] if parent is None else parent.iterfind(f"{{{SSC}}}Unit"):
        name = node.get("name", "")
        base = node.find(f"{{{SSC}}}BaseUnit")
        try:
            attrs = {} if base is None else base.attrib
            exponents = tuple(int(attrs.get(b, 0)) for b in BASE)
            units[name] = si.Unit(exponents, float(attrs.get("factor", 1.0)), float(attrs.get("offset", 0.0)))
        except ValueError as err:
            raise ScenarioError(f"{where}: unit {name!r}: its ssc:BaseUnit is not a number: {err}") from None
    return units


def agrees(name: str, unit: si.Unit) -> bool:
    """Whether evtwin's registry reads ``name`` as ``unit``."""
    try:
        ours = si.parse(name)
    except si.UnitError:
        return False
    return (
        ours.exponents == unit.exponents
        and math.isclose(ours.factor, unit.factor, rel_tol=1e-12)
        and math.isclose(ours.offset, unit.offset, rel_tol=1e-12, abs_tol=1e-12)
    )


def quantity(value: float, name: str | None, units: dict[str, si.Unit]) -> Any:
    """``value`` in unit ``name`` as a scenario states it: ``{value, unit}`` in a unit evtwin reads as the
    file defines it (in SI when the registry reads the name otherwise), or the bare value without a unit."""
    if not name:
        return value
    unit = units.get(name)
    if unit is None or agrees(name, unit):
        return {"value": value, "unit": name}
    return {"value": unit.factor * value + unit.offset, "unit": si.Unit(unit.exponents).dimension}

"""Named values a scenario states once and several units take as parameters.

A fact that several units need (how many cells a pack has in series, say) is stated in one place
and taken from there, so that a contradiction cannot pass silently. The engine gives the names no
meaning; a value comes from

- the scenario's ``shared:`` section, which wins: ``shared: {capacity_Ah: 150 Ah}``, or else
- a unit that states it: :meth:`cosim.unit.Unit.shared_values` (a vehicle preset knows its pack), or else
- a parameter the scenario sets on a unit that takes the name: ``battery: {parameters:
  {coolant_connected: true}}`` reaches every other unit that takes ``coolant_connected``.

A unit takes a shared value into one of its parameters

- by declaring it: :attr:`cosim.unit.Unit.SHARED_PARAMETERS` maps a parameter to a shared name
  (a built-in type that always needs the fact), or
- by its scenario entry: ``shared: [n_series, capacity_Ah]`` (a parameter of the same name) or
  ``shared: {capacity_Ah: cell_capacity_Ah}`` (parameter: name) - what an FMU needs.

A parameter the scenario also sets explicitly must agree with the shared value; two units stating
different values for a name the scenario does not settle are a contradiction too. Both are problems
``evtwin validate`` reports with the file and line of each side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cosim.scenario.checking import out_of_range
from cosim.scenario.model import to_unit
from cosim.unit import PARAMETER


@dataclass(frozen=True)
class SharedValue:
    """A shared value and where it was stated (a key path in the scenario, for messages)."""

    value: Any
    where: tuple
    origin: str  # "the scenario's shared section" or "unit 'vehicle'"


def provided_values(unit: Any) -> dict[str, Any]:
    """What a constructed unit states for the scenario (none for units without the method)."""
    method = getattr(unit, "shared_values", None)
    return dict(method()) if callable(method) else {}


def bind_shared_values(model, plans: Mapping[str, Any], bad: Callable[[tuple, str], None]) -> dict[str, Any]:
    """Resolve the shared values and fill every bound parameter of ``plans`` (converted to its port's
    unit); report each contradiction through ``bad(where, message)``. Returns the values by name."""
    values = _collect(model, plans, bad)
    _collect_parameters(model, plans, values)
    for name, plan in plans.items():
        spec = model.units.get(name)
        for parameter, (shared, explicit) in _bindings(plan, spec).items():
            _bind(plan, spec, parameter, shared, explicit, values, bad)
    return {k: v.value for k, v in values.items()}


def _collect(model, plans, bad) -> dict[str, SharedValue]:
    values: dict[str, SharedValue] = {}
    stated = getattr(model, "shared", None) or {}
    for name, value in stated.items():
        values[name] = SharedValue(value, ("shared", name), "the scenario's shared section")
    for unit_name, plan in plans.items():
        for name, value in (getattr(plan, "shared_values", None) or {}).items():
            mine = SharedValue(value, ("units", unit_name), f"unit {unit_name!r}")
            known = values.get(name)
            if known is None:
                values[name] = mine
            elif known.where[0] == "units" and not _same(known.value, value):
                bad(mine.where, f"states {name} = {value!r}, but {known.origin} states {known.value!r}: "
                                f"settle it once in the scenario's shared section (shared: {{{name}: ...}})")
    return values


def _collect_parameters(model, plans, values: dict[str, SharedValue]) -> None:
    """Add the names nothing else states from the parameters the scenario sets on units that take them
    (the first such unit in the file states it; another that disagrees is a contradiction, :func:`_bind`)."""
    for unit_name, plan in plans.items():
        spec = model.units.get(unit_name)
        explicit = getattr(spec, "parameters", None) or {}
        for parameter, (shared, _) in _bindings(plan, spec).items():
            if shared not in values and parameter in explicit and parameter in plan.parameters:
                where = ("units", unit_name, "parameters", parameter)
                values[shared] = SharedValue(plan.parameters[parameter], where,
                                             f"unit {unit_name!r} (its parameter {parameter})")


def _bindings(plan, spec) -> dict[str, tuple[str, bool]]:
    """Parameter -> (shared name, bound by the scenario entry) for one unit: its type's declaration,
    then its scenario entry."""
    out = {k: (v, False) for k, v in (getattr(plan, "shared_parameters", None) or {}).items()}
    given = getattr(spec, "shared", None) if spec is not None else None
    if isinstance(given, Mapping):
        out.update({k: (v, True) for k, v in given.items()})
    elif given:
        out.update({name: (name, True) for name in given})
    return out


def _bind(plan, spec, parameter: str, shared: str, explicit: bool, values: dict[str, SharedValue], bad) -> None:
    where = ("units", plan.name, "shared")
    port = plan.ports.get(parameter)
    if port is None or port.causality != PARAMETER:
        bad(where, f"{plan.name!r} has no parameter {parameter!r} to take the shared value {shared!r}")
        return
    found = values.get(shared)
    if found is None:
        if explicit:
            bad(where, f"no value for the shared name {shared!r}: no unit states it and the scenario's "
                       f"shared section does not (shared: {{{shared}: ...}})")
        return
    try:
        value = _converted(found.value, port)
        problem = None if port.type in ("Boolean", "String") else out_of_range(port, value)
        if problem:
            raise ValueError(problem)
    except ValueError as err:
        bad(found.where, f"{shared} = {found.value!r} does not fit parameter {plan.name}.{parameter} "
                         f"[{port.unit}]: {err}")
        return
    if spec is not None and parameter in spec.parameters and parameter in plan.parameters:
        if not _same(plan.parameters[parameter], value):
            bad(("units", plan.name, "parameters", parameter),
                f"{plan.parameters[parameter]!r} contradicts the shared value {shared} = {found.value!r} "
                f"stated by {found.origin}: state it once (remove this line, or change it there)")
        return
    plan.parameters[parameter] = value


def _converted(value: Any, port) -> Any:
    if port.type in ("Boolean", "String"):
        return value
    v = to_unit(value, port.unit)
    return int(v) if port.type == "Integer" and float(v).is_integer() else v


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b

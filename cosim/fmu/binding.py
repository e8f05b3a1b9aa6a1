"""Checking the names given to an :class:`~cosim.fmu.adapter.FMUUnit`, before the run.

:func:`settable_values` checks and converts the values of ``configure`` (parameters and inputs
that may be set, in range, of the right type); :func:`bindable` checks a name given to ``bind``
(an input port to set, or any scalar numeric or Boolean variable to read). Both raise
:class:`~cosim.fmu.variables.UnknownNameError` with close matches for a wrong name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cosim.fmu.description import FMUDescription
from cosim.fmu.variables import UnknownNameError, Variable, settable_value, unknown_name_message
from cosim.unit import INPUT, PARAMETER


def settable_values(
    description: FMUDescription,
    variables: Mapping[str, Variable],
    parameters: Mapping[str, Any],
    unit_name: str,
) -> dict[str, Any]:
    """The values of ``parameters`` as they will be set, by name; raises on the first bad one."""
    settable = {
        v.name: v
        for v in description.variables
        if v.is_port and v.causality in (PARAMETER, INPUT) and v.variability != "constant"
    }
    staged = {}
    for name, value in parameters.items():
        if name not in settable:
            what = ""
            if name in variables:
                what = f" ({name!r} is {_a(variables[name].causality)}, which cannot be set)"
            raise UnknownNameError(
                unknown_name_message(
                    f"unit {unit_name!r} (FMU {description.model_name!r})",
                    "parameter or input",
                    name,
                    settable,
                )
                + what
            )
        staged[name] = settable_value(settable[name], value, f"unit {unit_name!r}")
    return staged


def bindable(
    variables: Mapping[str, Variable], name: str, role: str, unit_name: str, model_name: str
) -> Variable:
    """The variable ``name`` if it can be bound as ``role`` (``"input"`` or ``"output"``)."""
    v = variables.get(name)
    pool = (
        [x.name for x in variables.values() if x.is_port and x.causality == INPUT]
        if role == "input"
        else list(variables)
    )
    if v is None:
        raise UnknownNameError(
            unknown_name_message(f"unit {unit_name!r} (FMU {model_name!r})", role, name, pool)
        )
    why = v.unsupported()
    if why is not None:
        raise UnknownNameError(f"unit {unit_name!r}: {name!r} is {why}")
    if role == "input" and not (v.is_port and v.causality == INPUT):
        raise UnknownNameError(
            f"unit {unit_name!r}: {name!r} is {_a(v.causality)}, not an input; inputs: "
            f"{', '.join(sorted(pool)) or '(none)'}"
        )
    if v.port_type not in ("Real", "Integer", "Boolean") or not v.scalar:
        raise UnknownNameError(
            f"unit {unit_name!r}: {name!r} is {_a(v.type) if v.scalar else 'an array'}; only "
            "scalar numeric and Boolean variables can be connected or recorded"
        )
    return v


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word

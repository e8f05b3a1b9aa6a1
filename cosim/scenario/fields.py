"""The field types of scenario files: quantities with units, durations, clock times and names.

A quantity may be written as a number (in the port's or the field's SI unit), as ``"30 min"``,
or as ``{value: 30, unit: min}``. Each type checks its value and says in a sentence what was
expected; the JSON Schema keeps the patterns for editors.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from cosim import si

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY_TEXT = re.compile(rf"^\s*({_NUMBER})\s*(.*?)\s*$")
NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
SIGNAL = r"^[A-Za-z_][A-Za-z0-9_]*\.[^.\s][^\s]*$"

QUANTITY_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": rf"^\s*{_NUMBER}\s*\S*\s*$", "examples": ["30 min", "25 degC"]},
        {
            "type": "object",
            "properties": {"value": {"type": "number"}, "unit": {"type": "string"}},
            "required": ["value"],
            "additionalProperties": False,
        },
    ]
}


def split_quantity(value: Any) -> tuple[float, str | None]:
    """``(number, unit or None)`` from ``3``, ``"30 min"`` or ``{value: 30, unit: min}``.

    Raises ValueError saying which forms are accepted.
    """
    expected = "a number, a text such as '30 min', or {value: 30, unit: min}"
    if isinstance(value, bool):
        raise ValueError(f"expected {expected}")
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        m = _QUANTITY_TEXT.match(value)
        if not m:
            raise ValueError(f"expected {expected}")
        return float(m.group(1)), (m.group(2) or None)
    if isinstance(value, dict):
        extra = set(value) - {"value", "unit"}
        if (
            extra
            or "value" not in value
            or isinstance(value["value"], bool)
            or not isinstance(value["value"], int | float)
        ):
            raise ValueError(f"expected {expected}")
        unit = value.get("unit")
        return float(value["value"]), (None if unit is None else str(unit))
    raise ValueError(f"expected {expected}")


def to_unit(value: Any, unit: str) -> float:
    """A quantity expressed in ``unit`` (a bare number is taken to be in ``unit`` already)."""
    number, given = split_quantity(value)
    if given is None:
        return number
    try:
        g, o = si.conversion(given, unit)
    except si.UnknownUnit as err:
        raise ValueError(si.unknown_unit(err.name, err.symbol, like=unit)) from None
    except si.UnitError as err:
        raise ValueError(f"{given!r} is not a unit of the expected kind [{unit}]: {err}") from None
    return g * number + o


def _seconds(value: Any) -> float:
    try:
        return to_unit(value, "s")
    except ValueError as err:
        raise ValueError(f"expected a duration ({err})") from None


def _positive_seconds(value: Any) -> float:
    seconds = _seconds(value)
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"expected a duration > 0 and finite (found {seconds:g} s)")
    return seconds


def _finite_seconds(value: Any) -> float:
    seconds = _seconds(value)
    if not math.isfinite(seconds):
        raise ValueError(f"expected a finite time (found {seconds:g} s)")
    return seconds


def _clock_time(value: Any) -> str:
    from cosim.schedule import clock_seconds

    try:
        clock_seconds(value)
    except ValueError:
        raise ValueError(
            "expected a 24-hour time of day 'HH:MM' from '00:00' to '23:59', e.g. '07:30'"
        ) from None
    return str(value)


def _kelvin(value: Any) -> float:
    try:
        return to_unit(value, "K")
    except ValueError as err:
        raise ValueError(f"expected a temperature ({err})") from None


Seconds = Annotated[
    float,
    BeforeValidator(_seconds),
    WithJsonSchema({**QUANTITY_SCHEMA, "description": "a duration: seconds, '30 min' or {value, unit}"}),
]
PositiveSeconds = Annotated[
    float,
    BeforeValidator(_positive_seconds),
    WithJsonSchema({**QUANTITY_SCHEMA, "description": "a duration > 0: seconds, '30 min' or {value, unit}"}),
]
Time = Annotated[
    float,
    BeforeValidator(_finite_seconds),
    WithJsonSchema({**QUANTITY_SCHEMA, "description": "a time: seconds, '2 d' or {value, unit}"}),
]
ClockTime = Annotated[
    str,
    BeforeValidator(_clock_time),
    WithJsonSchema({"type": "string", "pattern": r"^([01]?\d|2[0-3]):[0-5]\d$", "examples": ["07:30"]}),
]
Kelvin = Annotated[
    float,
    BeforeValidator(_kelvin),
    WithJsonSchema({**QUANTITY_SCHEMA, "description": "a temperature: kelvin, '25 degC' or {value, unit}"}),
]
Quantity = Annotated[
    Any,
    WithJsonSchema(
        {**QUANTITY_SCHEMA, "description": "a number in the port's unit, or 'value unit', or {value, unit}"}
    ),
]


def _name(value: str) -> str:
    if not re.match(NAME, value):
        raise ValueError(
            "a name of letters, digits and '_' that does not start with a digit, e.g. 'battery_2'"
        )
    return value


def _signal(value: str) -> str:
    if not re.match(SIGNAL, value):
        raise ValueError(
            "'unit.port': a unit's name, a dot and a port name, without spaces, e.g. 'battery.SOC'"
        )
    return value


Name = Annotated[str, AfterValidator(_name), WithJsonSchema({"type": "string", "pattern": NAME})]
SignalName = Annotated[str, AfterValidator(_signal), WithJsonSchema({"type": "string", "pattern": SIGNAL})]
Positive = Annotated[int, Field(ge=1)]

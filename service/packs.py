"""A vehicle's pack as the service takes it: a vehicle preset's, or stated in the request.

Both resolve to the battery twin's own parameter names (:data:`battery_fmu.interface.INTERFACE`):
``parameter_set``, ``capacity_Ah`` (per cell), ``n_series``, ``n_parallel``, ``coolant_connected``;
what a preset does not state takes the twin's default, as in a scenario.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from battery_fmu.interface import INTERFACE
from battery_fmu.parameters import CellParameters, ParameterError, load_cell

#: The pack parameters a request may state, with the twin's defaults and ranges.
PACK_FIELDS = ("parameter_set", "capacity_Ah", "n_series", "n_parallel", "coolant_connected")
_DEFAULTS = {v.name: v for v in INTERFACE if v.name in PACK_FIELDS}


class PackError(ValueError):
    """A pack the service cannot build; the message names the field."""


def resolve(preset: str | None, pack: dict[str, Any] | None) -> dict[str, Any]:
    """The full pack from a preset id or from stated parameters (exactly one of them)."""
    if (preset is None) == (pack is None):
        raise PackError("give either 'preset' (a vehicle preset id) or 'pack' (its parameters), not both or neither")
    if preset is not None:
        from bridges.presets import get_preset
        from cosim.errors import ScenarioError

        try:
            stated = get_preset(preset).pack()
        except ScenarioError as err:
            raise PackError(f"preset: {err}") from None
    else:
        unknown = sorted(set(pack) - set(PACK_FIELDS))
        if unknown:
            raise PackError(f"pack: unknown field {unknown[0]!r}; fields: {', '.join(PACK_FIELDS)}")
        stated = dict(pack)
    full = {name: stated.get(name, _DEFAULTS[name].start) for name in PACK_FIELDS}
    for name in ("capacity_Ah", "n_series", "n_parallel"):
        v = _DEFAULTS[name]
        value = full[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not v.min <= value <= v.max:
            raise PackError(f"pack.{name} must be a number within [{v.min:g}, {v.max:g}] {v.unit}, got {value!r}")
        if v.type == "Integer" and not float(value).is_integer():
            raise PackError(f"pack.{name} must be an integer, got {value!r}")
    full["n_series"], full["n_parallel"] = int(full["n_series"]), int(full["n_parallel"])
    full["capacity_Ah"] = float(full["capacity_Ah"])
    full["coolant_connected"] = bool(full["coolant_connected"])
    cell(full)  # the parameter set must exist
    return full


@lru_cache(maxsize=32)
def _cell(parameter_set: str, capacity_Ah: float) -> CellParameters:
    return load_cell(parameter_set, capacity_Ah)


def cell(pack: dict[str, Any]) -> CellParameters:
    """The cell parameters of a resolved pack (cached: loading a set reads its tables)."""
    name = str(pack["parameter_set"])
    if "/" in name or "\\" in name or name.endswith(".toml"):
        raise PackError(f"pack.parameter_set must name a shipped parameter set, got {name!r}")
    try:
        return _cell(name, pack["capacity_Ah"])
    except (ParameterError, FileNotFoundError, OSError) as err:
        raise PackError(f"pack.parameter_set {name!r}: {err}") from None

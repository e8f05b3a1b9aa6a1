"""The pack a live twin estimates: a vehicle preset's (declared once, in ``bridges``) or stated in SI.

A pack is the battery twin's own parameters (:data:`battery_fmu.interface.INTERFACE`): ``parameter_set``,
``capacity_Ah`` (per cell), ``n_series``, ``n_parallel``, ``coolant_connected``, and optionally ``soh``
(capacity relative to nominal when the twin starts, 1 by default). What is not stated takes the battery
twin's default, as in a scenario.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from battery_fmu.aging_laws import aging_model
from battery_fmu.interface import INTERFACE
from battery_fmu.parameters import CellParameters, load_cell

FIELDS = ("parameter_set", "capacity_Ah", "n_series", "n_parallel", "coolant_connected")
_DEFAULTS = {v.name: v.start for v in INTERFACE if v.name in FIELDS}


def resolve(pack: dict[str, Any]) -> dict[str, Any]:
    """The full pack of ``{"preset": id}`` or of stated parameters; ValueError naming a bad field."""
    if not isinstance(pack, dict):
        raise ValueError(f"pack must be an object, got {type(pack).__name__}")
    stated = dict(pack)
    if "preset" in stated:
        from bridges.presets import get_preset
        from cosim.errors import ScenarioError

        try:
            preset = get_preset(str(stated.pop("preset")))
        except ScenarioError as err:  # it names the closest ids
            raise ValueError(f"pack.preset: {err}") from None
        stated = {**preset.pack(), **stated}
    unknown = sorted(set(stated) - set(FIELDS) - {"soh"})
    if unknown:
        raise ValueError(f"pack: unknown field {unknown[0]!r}; fields: preset, soh, {', '.join(FIELDS)}")
    full = {name: stated.get(name, _DEFAULTS[name]) for name in FIELDS}
    full["soh"] = stated.get("soh", 1.0)
    for name, low in (("capacity_Ah", 1e-3), ("n_series", 1), ("n_parallel", 1), ("soh", 0.05)):
        value = full[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= low:
            raise ValueError(f"pack.{name} must be a number >= {low:g}, got {value!r}")
    if full["soh"] > 1.0:
        raise ValueError(f"pack.soh must be within (0, 1], got {full['soh']!r}")
    for name in ("n_series", "n_parallel"):
        if not float(full[name]).is_integer():
            raise ValueError(f"pack.{name} must be an integer, got {full[name]!r}")
        full[name] = int(full[name])
    full["capacity_Ah"], full["soh"] = float(full["capacity_Ah"]), float(full["soh"])
    full["coolant_connected"] = bool(full["coolant_connected"])
    cell(full)
    return full


@lru_cache(maxsize=32)
def _cell(parameter_set: str, capacity_Ah: float) -> CellParameters:
    return load_cell(parameter_set, capacity_Ah)


def cell(pack: dict[str, Any]) -> CellParameters:
    """The cell of a resolved pack (cached: a parameter set reads its tables when it loads)."""
    name = str(pack["parameter_set"])
    if "/" in name or "\\" in name or name.endswith(".toml"):
        raise ValueError(f"pack.parameter_set must name a shipped parameter set, got {name!r}")
    return _cell(name, pack["capacity_Ah"])


@lru_cache(maxsize=32)
def _aging_prototype(params: CellParameters):
    return aging_model(params, warn=_ignore)


def aging(params: CellParameters, state: list):
    """The aging model of ``params`` at ``state`` (:meth:`AgingModel.get_state`), its out-of-range notes
    ignored: an estimate or a projection goes on. A copy of one model per cell, whose look-up tables take
    a noticeable time to build, so that a twin restored for every request is quick."""
    model = copy.copy(_aging_prototype(params))
    model.set_state(state)
    return model


def _ignore(message: str) -> None:
    """The aging model's notes on its fitted range: not the service's to log."""

"""A request's pack (a preset id, or stated parameters) as the API takes it: resolved by the live twin's
own rules (:mod:`service.twin_pack`), its errors turned into one message naming the field."""

from __future__ import annotations

from typing import Any

from battery_fmu.parameters import CellParameters, ParameterError
from service import twin_pack


class PackError(ValueError):
    """A pack the service cannot build; the message names the field."""


def resolve(preset: str | None, pack: dict[str, Any] | None) -> dict[str, Any]:
    """The full pack from a preset id or from stated parameters (exactly one of them)."""
    if (preset is None) == (pack is None):
        raise PackError(
            "give either 'preset' (a vehicle preset id) or 'pack' (its parameters), not both or neither"
        )
    try:
        return twin_pack.resolve({"preset": preset} if preset is not None else dict(pack))
    except (ValueError, ParameterError, OSError) as err:
        raise PackError(str(err)) from None


def cell(pack: dict[str, Any]) -> CellParameters:
    """The cell parameters of a resolved pack."""
    return twin_pack.cell(pack)

"""Checking and resolving the BeamNG unit's settings.

The problems in them, the EV preset, whole frame counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridges.presets import get_preset
from cosim.errors import ScenarioError


def _settings_problems(
    driver: str,
    steps_per_second: Any,
    control_interval: float,
    aggression: float,
    position: Sequence[float],
    rotation: Sequence[float],
) -> list[str]:
    problems = []
    if driver not in ("ai", "trace"):
        problems.append(f"driver must be 'ai' or 'trace' (got {driver!r})")
    if not isinstance(steps_per_second, int) or steps_per_second <= 0:
        problems.append(f"steps_per_second must be a positive integer (got {steps_per_second!r})")
    elif not _is_whole(control_interval * steps_per_second):
        problems.append(
            f"control_interval {control_interval!r} s must be a whole number of simulator frames "
            f"at steps_per_second={steps_per_second}"
        )
    if not 0.0 <= aggression <= 1.0:
        problems.append(f"aggression must be between 0 and 1 (got {aggression!r})")
    if len(tuple(position)) != 3 or len(tuple(rotation)) != 4:
        problems.append("position needs 3 numbers (x, y, z) and rotation 4 (quaternion x, y, z, w)")
    return problems


def _preset(preset: str | None, vehicle_model: str):
    """The EV preset named, or else the one of the BeamNG model."""
    try:
        return get_preset(preset or vehicle_model)
    except ScenarioError:
        if preset:
            raise
        raise ScenarioError(
            f"no EV preset for BeamNG model {vehicle_model!r}; set `preset` to the closest "
            "car (`evtwin vehicles` lists them)"
        ) from None


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9 * max(1.0, abs(x))

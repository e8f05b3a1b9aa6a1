"""Telemetry samples: their fields, physical ranges and the checks of a batch.

A batch's valid samples are stored even when others are not; each problem names the sample's
index in the batch and the field, in FastAPI's own error format (``loc``, ``msg``, ``type``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: The sample fields in storage order: name -> (min, max, unit, required). Ranges are physical
#: bounds for a road vehicle's pack, wide enough for any real one: a value outside is a sensor or
#: transmission fault, not a state to estimate from.
FIELDS: dict[str, tuple[float, float, str, bool]] = {
    "t": (946_684_800.0, 4_102_444_800.0, "s (unix time, 2000-2100)", True),
    "current_A": (-5_000.0, 5_000.0, "A, positive discharging", True),
    "voltage_V": (0.0, 2_000.0, "V", True),
    "temperature_degC": (-60.0, 150.0, "degC", True),
    "speed_mps": (-20.0, 150.0, "m/s", False),
    "motor_torque_Nm": (-20_000.0, 20_000.0, "N m", False),
    "motor_speed_radps": (-5_000.0, 5_000.0, "rad/s", False),
    "soc_bms": (0.0, 1.0, "1", False),
}
COLUMNS = tuple(FIELDS)


def _problem(index: int, field: str, msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", "samples", index, field], "msg": msg, "type": kind}


def check_sample(index: int, sample: dict[str, Any]) -> dict[str, Any] | None:
    """The first problem of one sample's values (None when it is valid)."""
    for name, (lo, hi, unit, required) in FIELDS.items():
        value = sample.get(name)
        if value is None:
            if required:
                return _problem(index, name, "field required", "missing")
            continue
        if not math.isfinite(value):
            return _problem(index, name, f"{name} must be a finite number, got {value}", "value_error")
        if not lo <= value <= hi:
            return _problem(
                index,
                name,
                f"{name} = {value:g} is outside the physical range [{lo:g}, {hi:g}] {unit}",
                "out_of_range",
            )
    return None


def check_batch(
    samples: Sequence[dict[str, Any]], oldest_allowed: float | None, window_s: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """``(valid samples, problems, repeats within the batch)``.

    A sample must be in range, no earlier than the one before it in the batch (an equal time repeats
    it: counted as a duplicate, not stored twice) and no older than ``oldest_allowed`` [s] (the
    newest stored sample less the late-sample window ``window_s`` [s]; None before the first).
    """
    valid, problems, repeats = [], [], 0
    previous = -math.inf
    for i, sample in enumerate(samples):
        problem = check_sample(i, sample)
        if problem is None:
            t = sample["t"]
            if t < previous:
                problem = _problem(
                    i,
                    "t",
                    f"t = {t!r} is earlier than the sample before it ({previous!r}): "
                    "a batch must be in time order",
                    "out_of_order",
                )
            elif oldest_allowed is not None and t < oldest_allowed:
                problem = _problem(
                    i,
                    "t",
                    f"t = {t!r} is more than {window_s:g} s older than the newest "
                    "stored sample: too late to accept",
                    "too_late",
                )
            elif t == previous:
                repeats += 1
                continue
        if problem is not None:
            problems.append(problem)
            continue
        previous = sample["t"]
        valid.append(sample)
    return valid, problems, repeats


def as_row(fleet: str, vehicle_id: str, sample: dict[str, Any]) -> tuple:
    """The database row of a valid sample."""
    return (fleet, vehicle_id, *(sample.get(name) for name in COLUMNS))


def from_row(row: Sequence[Any]) -> dict[str, Any]:
    """A stored sample (the columns of :data:`COLUMNS`) as the twin takes it: absent optionals left out."""
    return {name: value for name, value in zip(COLUMNS, row, strict=True) if value is not None}

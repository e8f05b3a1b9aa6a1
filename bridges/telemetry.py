"""BeamNG telemetry: electrical power from powertrain samples, and the JSON log format.

A telemetry sample (one line of a log, or one reading of BeamNG's PowertrainSensor) holds the sim
time, some Electrics values and the powertrain devices::

    {"time": 12.35,
     "electrics": {"wheelspeed": 13.2, "throttle": 0.0, "brake": 0.1, "regenThrottle": 0.4},
     "powertrain": {"rearMotor": {"outputTorque1": -85.0, "outputAV1": 361.0}, "rearDiff": {...}}}

Electrical power at the battery's DC bus comes from every motor device: ``outputTorque1 x outputAV1``
(mechanical, negative while regenerating) plus the motor/inverter losses of :mod:`bridges.powertrain`.
Motor devices are those named in the settings, else every device whose name contains ``motor``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bridges.powertrain import MotorLossModel

#: Electrics keys copied into the log and the unit's outputs.
ELECTRICS_KEYS = (
    "wheelspeed",
    "airspeed",
    "throttle",
    "brake",
    "regenThrottle",
    "regenStrength",
    "regenFromBrake",
    "regenFromOnePedal",
    "maxRegenStrength",
    "gear",
)


class SampleError(ValueError):
    """A sample that cannot be used; the message names the field."""


def motor_names(devices: Mapping[str, Any], wanted: Sequence[str] | None) -> list[str]:
    """The motor devices among ``devices``: those in ``wanted``, or every name containing ``motor``."""
    if wanted:
        missing = [n for n in wanted if n not in devices]
        if missing:
            raise SampleError(f"no powertrain device {missing[0]!r} (devices: {', '.join(sorted(devices))})")
        return list(wanted)
    names = [n for n in devices if isinstance(devices[n], Mapping) and "motor" in n.lower()]
    if not names:
        raise SampleError(
            f"no motor device among the powertrain devices ({', '.join(sorted(devices))}); "
            "name them with the `motor_devices` setting"
        )
    return names


#: Longest quotation of a value in an error message [characters]: a log of column lists would
#: otherwise quote a whole column.
EXCERPT = 60


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """``repr(value)``, cut to about ``limit`` characters with what was left out said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} items, " if isinstance(value, (list, tuple, dict)) else ""
    return f"{text[:limit]}... ({size}{len(text)} characters)"


def number(value: Any, name: str) -> float:
    """``value`` as a finite float, or :class:`SampleError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SampleError(f"{name} is {excerpt(value)}, expected a number")
    x = float(value)
    if not math.isfinite(x):
        raise SampleError(f"{name} is {value!r}, expected a finite number")
    return x


def device_power(
    devices: Mapping[str, Any], motors: Sequence[str], model: MotorLossModel
) -> tuple[float, float, float, float]:
    """Electrical power [W], mechanical power [W], summed torque [N.m] and top speed [rad/s] of ``motors``."""
    p_elec = p_mech = torque = 0.0
    av_max = 0.0
    for name in motors:
        dev = devices.get(name)
        if not isinstance(dev, Mapping):
            raise SampleError(f"{name} is missing")
        t = number(dev.get("outputTorque1"), f"{name}.outputTorque1")
        w = number(dev.get("outputAV1"), f"{name}.outputAV1")
        p_mech += t * w
        p_elec += model.electrical_power(t, w)
        torque += t
        av_max = max(av_max, abs(w))
    return p_elec, p_mech, torque, av_max


def split_sample(sample: Mapping[str, Any]) -> tuple[float, dict, dict]:
    """(time [s], electrics, powertrain devices) of a sample in any of the accepted shapes."""
    if not isinstance(sample, Mapping):
        raise SampleError(f"expected an object, got {type(sample).__name__}")
    raw_time = sample.get("time", sample.get("t"))
    if raw_time is None:
        raise SampleError("no 'time'")
    t = number(raw_time, "time")
    electrics = sample.get("electrics") or {}
    if not isinstance(electrics, Mapping):
        raise SampleError(f"electrics is {type(electrics).__name__}, expected an object")
    if "powertrain" in sample:
        devices = sample["powertrain"]
        if not isinstance(devices, Mapping):
            raise SampleError(f"powertrain is {type(devices).__name__}, expected an object of devices")
    else:  # a PowertrainSensor reading: devices at the top level
        devices = {
            k: v for k, v in sample.items() if isinstance(v, Mapping) and k not in ("electrics", "state")
        }
    return t, dict(electrics), dict(devices)


class TelemetryLog:
    """Appends samples to a JSON Lines file, flushed after every step so a crash keeps what was written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "w", encoding="utf-8")
        self.samples = 0

    def write(self, sample: Mapping[str, Any]) -> None:
        self._fh.write(json.dumps(sample, separators=(",", ":")) + "\n")
        self.samples += 1

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

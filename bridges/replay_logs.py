"""Reading recordings for :mod:`bridges.replay`: JSON telemetry logs and evtwin HDF5 results files
into a :class:`Recording`.

This module only reads and checks files (see :mod:`bridges.replay` for the formats and how they play);
the ``log_replay`` unit that plays a :class:`Recording` on the master clock lives in :mod:`bridges.replay`.
A malformed or partial file stops with a :class:`~bridges.errors.TelemetryError` naming the file, the
sample and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridges import replay_checks
from bridges.errors import TelemetryError
from bridges.powertrain import MotorLossModel
from bridges.telemetry import SampleError, device_power, motor_names, number, split_sample
from bridges.vehicle_params import VehicleParams

_HDF5_SUFFIXES = (".h5", ".hdf5")


@dataclass
class Recording:
    """A recording ready to play (log time [s], SI values)."""

    kind: str  # "linear" (instantaneous samples) or "step" (means over the interval ending at each time)
    t: np.ndarray
    p_motor: np.ndarray  # motor DC power [W] (kind "step": battery power minus auxiliaries)
    p_loss: np.ndarray
    torque: np.ndarray
    motor_av: np.ndarray
    speed_t: np.ndarray
    speed: np.ndarray
    distance: np.ndarray | None = None  # at speed_t, when recorded
    p_aux: np.ndarray | None = None  # recorded auxiliary power (kind "step")

    @property
    def start(self) -> float:
        """Log time that plays at the unit's start time [s]."""
        return float(min(self.t[0], self.speed_t[0])) if self.kind == "linear" else float(self.t[0])

    @property
    def end(self) -> float:
        return float(max(self.t[-1], self.speed_t[-1]))

    @property
    def _first_dt(self) -> float:
        return float(self.t[1] - self.t[0]) if len(self.t) > 1 else 0.0


# --- reading JSON logs ------------------------------------------------------------------------------
def _load_json_samples(path: Path, drop_partial_tail: bool) -> list[tuple[str, Any]]:
    """(label, sample) pairs; the label names the sample (and line) in error messages."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise TelemetryError(f"cannot read telemetry log {str(path)!r}: {err.strerror or err}") from err
    stripped = text.strip()
    if not stripped:
        raise TelemetryError(f"{path}: the telemetry log is empty")
    if stripped[0] == "[" or (stripped[0] == "{" and "\n{" not in stripped):
        return _whole_document(path, text)
    return _json_lines(path, text, drop_partial_tail)


def _whole_document(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        why = "the JSON ends early (a partial log?)" if _unclosed(text) else f"invalid JSON: {err.msg}"
        raise TelemetryError(f"{path}: line {err.lineno} column {err.colno}: {why}") from None
    if isinstance(data, dict) and "samples" in data:
        data = data["samples"]
    elif isinstance(data, dict) and ("time" in data or "t" in data):
        data = [data]
    elif isinstance(data, dict) and data and all(_is_number_key(k) for k in data):
        data = [data[k] for k in sorted(data, key=float)]  # a PowertrainSensor poll result
    if not isinstance(data, list):
        raise TelemetryError(f"{path}: expected a list of samples, an object with 'samples', or JSON Lines")
    return [(f"sample {i + 1}", s) for i, s in enumerate(data)]


def _json_lines(path: Path, text: str, drop_partial_tail: bool) -> list[tuple[str, Any]]:
    samples = []
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            samples.append((f"sample {len(samples) + 1} (line {i + 1})", json.loads(line)))
        except json.JSONDecodeError as err:
            if i == last and drop_partial_tail:
                break
            why = "is cut off (a partial log?)" if i == last else f"is not valid JSON ({err.msg})"
            hint = "; set `drop_partial_tail: true` to replay the samples before it" if i == last else ""
            raise TelemetryError(f"{path}: sample {len(samples) + 1} (line {i + 1}) {why}{hint}") from None
    return samples


def _unclosed(text: str) -> bool:
    """Whether a JSON text stops inside a string or with brackets still open (a cut-off log)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return in_string or depth > 0


def _is_number_key(k: Any) -> bool:
    try:
        float(k)
    except (TypeError, ValueError):
        return False
    return True


def read_json_log(
    path: str | Path,
    model: MotorLossModel,
    motors: list[str] | None = None,
    drop_partial_tail: bool = False,
    params: VehicleParams | None = None,
) -> Recording:
    """Read a JSON telemetry log into a :class:`Recording` (power through ``model``).

    With ``params`` (the preset's vehicle), the log is checked for plausibility first
    (:mod:`bridges.replay_checks`)."""
    path = Path(path)
    power_rows, speed_rows = [], []
    names = list(motors) if motors else None
    split_model = None
    for label, sample in _load_json_samples(path, drop_partial_tail):
        where = label
        try:
            t, electrics, devices = split_sample(sample)
            where = f"{label} (t = {t:g} s)"
            speed = electrics.get("wheelspeed", electrics.get("airspeed"))
            if speed is not None:
                key = "wheelspeed" if "wheelspeed" in electrics else "airspeed"
                speed_rows.append((t, abs(number(speed, f"electrics.{key}")), label))
            if devices:
                if names is None:
                    names = motor_names(devices, None)
                if split_model is None:
                    share = 1.0 / len(names)
                    split_model = MotorLossModel.scaled(
                        model.peak_power * share, model.max_speed, model.max_speed / model.base_speed
                    )
                p_e, p_m, torque, av = device_power(devices, names, split_model)
                power_rows.append((t, p_e, p_e - p_m, torque, av, label))
        except SampleError as err:
            raise TelemetryError(f"{path}: {where}: {err}") from None
    if not power_rows:
        raise TelemetryError(
            f"{path}: no powertrain samples with motor devices (e.g. rearMotor.outputTorque1, "
            "outputAV1); a replay needs them to know the power"
        )
    if not speed_rows:
        raise TelemetryError(f"{path}: no speed samples (electrics.wheelspeed or electrics.airspeed)")
    for rows, what in ((power_rows, "powertrain"), (speed_rows, "speed")):
        for a, b in zip(rows, rows[1:], strict=False):
            if b[0] <= a[0]:
                raise TelemetryError(
                    f"{path}: {b[-1]}: time {b[0]:g} s is not after {a[0]:g} s of the "
                    f"{what} sample before ({a[-1]})"
                )
    if params is not None:
        replay_checks.check(path, params, power_rows, speed_rows)
    pw = np.array([r[:5] for r in power_rows], dtype=float)
    sp = np.array([r[:2] for r in speed_rows], dtype=float)
    return Recording("linear", pw[:, 0], pw[:, 1], pw[:, 2], pw[:, 3], pw[:, 4], sp[:, 0], sp[:, 1])


# --- reading evtwin results -------------------------------------------------------------------------
def _unit_group(f, path: Path, unit: str | None):
    """(the signals group of the vehicle unit, its name) in the open results file ``f``: the one named,
    or the only unit that recorded both ``P_battery`` and ``speed``."""
    signals = f.get("signals")
    if signals is None:
        raise TelemetryError(f"{path}: not an evtwin results file (no /signals group)")
    candidates = sorted(u for u in signals if "P_battery" in signals[u] and "speed" in signals[u])
    if unit is None:
        if len(candidates) != 1:
            raise TelemetryError(
                f"{path}: {'several' if candidates else 'no'} units with P_battery and speed "
                f"({', '.join(candidates) or 'none'}); name one with the `unit` setting"
            )
        unit = candidates[0]
    if unit not in signals:
        raise TelemetryError(f"{path}: no unit {unit!r} in the results (units: {', '.join(sorted(signals))})")
    return signals[unit], unit


def read_results(path: str | Path, unit: str | None = None) -> Recording:
    """Read one unit's signals from an evtwin HDF5 results file into a :class:`Recording`."""
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise TelemetryError(f"cannot read results file {str(path)!r}: {err}") from err
    with f:
        group, unit = _unit_group(f, path, unit)

        def series(port: str, required: bool = True):
            if port not in group:
                if required:
                    raise TelemetryError(
                        f"{path}: unit {unit!r} has no recorded {port!r} (recorded: "
                        f"{', '.join(sorted(group))})"
                    )
                return None, None
            ds = group[port]
            t = np.asarray(f[ds.attrs["time"]][...], dtype=float)
            return t, np.asarray(ds[...], dtype=float)

        t, p_batt = series("P_battery")
        _, p_aux = series("P_aux", required=False)
        ts, speed = series("speed")
        _, distance = series("distance", required=False)
        _, p_loss = series("P_loss", required=False)
        _, torque = series("motor_torque", required=False)
        _, av = series("motor_speed", required=False)
    n = min(len(t), len(p_batt))
    if n < 2:
        raise TelemetryError(f"{path}: unit {unit!r} has fewer than two recorded points")
    bad = np.flatnonzero(~np.isfinite(p_batt[:n]))
    if bad.size:
        raise TelemetryError(
            f"{path}: {unit}.P_battery row {bad[0]} (t = {t[bad[0]]:g} s) is not a finite number"
        )
    zeros = np.zeros(n)
    aux = p_aux[:n] if p_aux is not None else zeros
    return Recording(
        "step",
        t[:n],
        p_batt[:n] - aux,
        p_loss[:n] if p_loss is not None else zeros,
        torque[:n] if torque is not None else zeros,
        av[:n] if av is not None else zeros,
        ts,
        speed,
        distance,
        aux,
    )

"""Reading recordings for :mod:`bridges.replay`: JSON telemetry logs and evtwin HDF5 results files
into a :class:`Recording`.

This module only reads and checks files (see :mod:`bridges.replay` for the formats and how they play);
the ``log_replay`` unit that plays a :class:`Recording` on the master clock lives in :mod:`bridges.replay`.
A malformed or partial file stops with a :class:`~bridges.errors.TelemetryError` naming the file, the
sample and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridges import replay_checks
from bridges.errors import TelemetryError
from bridges.log_files import ELECTRICS, POWERTRAIN, load_samples, log_files
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
def read_json_log(
    path: str | Path,
    model: MotorLossModel,
    motors: list[str] | None = None,
    drop_partial_tail: bool = False,
    params: VehicleParams | None = None,
    *,
    powertrain_path: str | Path | None = None,
    run: str | None = None,
    duplicate_times: str = "refuse",
) -> Recording:
    """Read a JSON telemetry log (one file, or the two-file layout of :mod:`bridges.log_files`) into a
    :class:`Recording` (power through ``model``).

    ``duplicate_times``: ``"refuse"`` a sample at the time of the one before (naming it), or ``"drop"``
    it (the first sample at each time is kept). With ``params`` (the preset's vehicle), the log is
    checked for plausibility first (:mod:`bridges.replay_checks`)."""
    if duplicate_times not in DUPLICATE_TIMES:
        raise TelemetryError(
            f"duplicate_times is {duplicate_times!r}; expected one of {', '.join(DUPLICATE_TIMES)}"
        )
    path = Path(path)
    files = log_files(path, Path(powertrain_path) if powertrain_path is not None else None, run)
    reader = _SampleReader(model, list(motors) if motors else None)
    power_rows, speed_rows = [], []
    for file, role in files:
        prefix = f"{file.name} " if len(files) > 1 else ""
        power, speed = reader.read(file, role, prefix, drop_partial_tail)
        power_rows += _in_time_order(path, power, "powertrain", duplicate_times)
        speed_rows += _in_time_order(path, speed, "speed", duplicate_times)
    if not power_rows:
        raise TelemetryError(
            f"{path}: no powertrain samples with motor devices (e.g. rearMotor.outputTorque1, "
            "outputAV1); a replay needs them to know the power"
        )
    if not speed_rows:
        raise TelemetryError(f"{path}: no speed samples (electrics.wheelspeed or electrics.airspeed)")
    if len(files) > 1:
        _check_same_clock(path, power_rows, speed_rows)
    if params is not None:
        replay_checks.check(path, params, power_rows, speed_rows)
    pw = np.array([r[:5] for r in power_rows], dtype=float)
    sp = np.array([r[:2] for r in speed_rows], dtype=float)
    return Recording("linear", pw[:, 0], pw[:, 1], pw[:, 2], pw[:, 3], pw[:, 4], sp[:, 0], sp[:, 1])


#: What ``duplicate_times`` may say.
DUPLICATE_TIMES = ("refuse", "drop")


class _SampleReader:
    """Samples into power rows ``(t, p_e, loss, torque, av, label)`` and speed rows ``(t, v, label)``."""

    def __init__(self, model: MotorLossModel, motors: list[str] | None):
        self.model, self.names, self.split_model = model, motors, None

    def read(self, file: Path, role: str, prefix: str, drop_partial_tail: bool) -> tuple[list, list]:
        power_rows, speed_rows = [], []
        for own, sample in load_samples(file, drop_partial_tail):
            label = prefix + own  # the sample among both files' samples
            where = own
            try:
                t, electrics, devices = split_sample(sample)
                if role == ELECTRICS:
                    devices = {}
                if role == POWERTRAIN:
                    electrics = {}
                elif not electrics:  # the Electrics sensor's values at the sample's top level
                    electrics = {
                        k: v for k, v in sample.items() if k not in ("time", "t") and k not in devices
                    }
                where = f"{own} (t = {t:g} s)"
                key = "wheelspeed" if "wheelspeed" in electrics else "airspeed"
                if key in electrics:
                    speed_rows.append((t, abs(number(electrics[key], f"electrics.{key}")), label))
                if devices:
                    p_e, p_m, torque, av = device_power(devices, self._motors(devices), self._split_model())
                    power_rows.append((t, p_e, p_e - p_m, torque, av, label))
            except SampleError as err:
                raise TelemetryError(f"{file}: {where}: {err}") from None
        return power_rows, speed_rows

    def _motors(self, devices: dict) -> list[str]:
        if self.names is None:
            self.names = motor_names(devices, None)
        return self.names

    def _split_model(self) -> MotorLossModel:
        """The loss model of one of the motors (the preset's peak shared among them)."""
        if self.split_model is None:
            m = self.model
            share = 1.0 / len(self.names)
            self.split_model = MotorLossModel.scaled(
                m.peak_power * share, m.max_speed, m.max_speed / m.base_speed
            )
        return self.split_model


def _in_time_order(path: Path, rows: list, what: str, duplicate_times: str) -> list:
    """``rows`` checked to run forward in time; samples repeating a time dropped or refused."""
    kept = rows[:1]
    for row in rows[1:]:
        before = kept[-1]
        if row[0] > before[0]:
            kept.append(row)
        elif row[0] == before[0] and duplicate_times == "drop":
            continue
        elif row[0] == before[0]:
            raise TelemetryError(
                f"{path}: {row[-1]}: time {row[0]:g} s repeats the time of the {what} sample before "
                f"({before[-1]}); set `duplicate_times: drop` to keep the first sample at each time"
            )
        else:
            raise TelemetryError(
                f"{path}: {row[-1]}: time {row[0]:g} s is not after {before[0]:g} s of the "
                f"{what} sample before ({before[-1]})"
            )
    return kept


def _check_same_clock(path: Path, power_rows: list, speed_rows: list) -> None:
    """Two files merged on time must share their clock: their spans overlap."""
    p0, p1 = power_rows[0][0], power_rows[-1][0]
    s0, s1 = speed_rows[0][0], speed_rows[-1][0]
    if p1 < s0 or s1 < p0:
        raise TelemetryError(
            f"{path}: the powertrain samples span t = {p0:g} to {p1:g} s and the electrics samples "
            f"t = {s0:g} to {s1:g} s: they do not overlap, so they cannot be merged on time (both files "
            "need the same clock, e.g. the simulator's time)"
        )


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

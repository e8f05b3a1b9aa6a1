"""Recorded-log replay (unit type ``log_replay``): a recorded drive played back on the master clock.

Two kinds of recording:

- **JSON telemetry logs** as BeamNG scripts write them, and as the ``beamng`` unit writes with
  ``log_path``: a JSON array of samples, an object ``{"samples": [...]}``, a PowertrainSensor poll result
  (readings keyed 1, 2, ...), or JSON Lines (one sample per line). A sample holds ``time`` [s] and
  ``electrics`` values and/or ``powertrain`` devices (or the devices at its top level, as a
  PowertrainSensor reading); see :mod:`bridges.telemetry`. Power comes from the motor devices'
  ``outputTorque1`` x ``outputAV1`` plus the loss model of the ``preset``; speed from ``electrics.wheelspeed``
  (or ``airspeed``); both are linear between samples.
- **Results of an earlier run** (an evtwin HDF5 results file, ``.h5``): the signals of one unit of that run
  (``unit:``, by default the one that has ``P_battery``); mean-type signals (``P_*``, ``motor_torque``) are
  held over the step they were recorded for, state-type signals (``speed``, ``distance``) are linear.

Log time 0 (or the first sample) plays at the unit's start time. A malformed or partial log stops with a
:class:`~bridges.errors.TelemetryError` naming the file, the sample and the field.

File reading and parsing live in :mod:`bridges.replay_logs`; this module holds the unit that plays a
:class:`~bridges.replay_logs.Recording`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bridges.ev_model import VehicleParams, aux_power
from bridges.presets import get_preset
from bridges.replay_logs import _HDF5_SUFFIXES, Recording, read_json_log, read_results
from cosim.unit import INPUT, OUTPUT, Port, PythonUnit

__all__ = ["LogReplayUnit", "Recording", "read_json_log", "read_results"]


# --- the unit -----------------------------------------------------------------------------------------
_OUTPUTS = (
    Port(
        "P_battery",
        OUTPUT,
        "W",
        "Mean power drawn at the battery terminals over the last step (negative while regenerating)",
    ),
    Port("speed", OUTPUT, "m/s", "Recorded speed at the end of the step", min=0.0),
    Port("distance", OUTPUT, "m", "Distance since the start of the replay", min=0.0),
    Port("motor_torque", OUTPUT, "N.m", "Mean recorded motor torque over the last step"),
    Port("motor_speed", OUTPUT, "rad/s", "Recorded motor speed at the end of the step"),
    Port("P_regen", OUTPUT, "W", "Mean electrical power returned by the motors over the last step", min=0.0),
    Port("P_aux", OUTPUT, "W", "Mean auxiliary and HVAC draw over the last step", min=0.0),
    Port("P_loss", OUTPUT, "W", "Mean motor and inverter losses over the last step"),
    Port(
        "log_done",
        OUTPUT,
        "1",
        "1 once the recording has ended (the vehicle then stands still)",
        min=0.0,
        max=1.0,
    ),
)


class LogReplayUnit(PythonUnit):
    """Replays a recorded drive.

    Parameters
    ----------
    path : str
        JSON / JSON Lines telemetry log, or an evtwin HDF5 results file.
    unit : str, optional
        For a results file: the unit whose signals to replay.
    preset : str
        EV preset for the loss model and auxiliary loads of a JSON log.
    motor_devices : sequence of str, optional
        Motor device names in a JSON log; by default every device named ``*motor*``.
    loop : bool
        Start again when the recording ends (else stand still).
    drop_partial_tail : bool
        Replay a JSON Lines log whose last line is cut off, without that line.
    plausibility : bool
        Check a JSON log's units and gaps against the preset first (:mod:`bridges.replay_checks`).

    Inputs: ``P_charge_max`` [W] (regen into the battery is limited to it), ``T_ambient`` [K].
    """

    can_save_state = True
    #: Settings that are file paths: the engine resolves them against the scenario file.
    path_settings = ("path",)

    def __init__(
        self,
        path: str,
        unit: str | None = None,
        preset: str = "model3_rwd_lfp",
        motor_devices: list[str] | None = None,
        loop: bool = False,
        drop_partial_tail: bool = False,
        plausibility: bool = True,
    ):
        self.path = Path(path)
        self.preset = get_preset(preset)
        self.params = VehicleParams.from_preset(self.preset)
        if self.path.suffix.lower() in _HDF5_SUFFIXES:
            self.rec = read_results(self.path, unit)
        else:
            self.rec = read_json_log(
                self.path, self.params.motor, motor_devices, drop_partial_tail,
                self.params if plausibility else None,
            )
        self.loop = bool(loop)
        rec = self.rec
        # cumulative distance at the speed samples (trapezoid), unless recorded
        if rec.distance is not None:
            self._dist = rec.distance - rec.distance[0]
        else:
            self._dist = np.concatenate(
                [[0.0], np.cumsum(0.5 * (rec.speed[1:] + rec.speed[:-1]) * np.diff(rec.speed_t))]
            )
        self._ports = (
            Port(
                "P_charge_max",
                INPUT,
                "W",
                "Charge power the battery accepts now; regen beyond it counts as friction braking",
                start=self.params.regen_max,
                min=0.0,
            ),
            Port("T_ambient", INPUT, "K", "Ambient temperature (auxiliary load of a JSON log)", start=296.15),
        ) + _OUTPUTS
        super().__init__()
        self._t0 = 0.0
        self._laps = 0

    def ports(self):
        return self._ports

    def metadata(self) -> dict[str, str]:
        return {
            "type": "log_replay",
            "path": str(self.path),
            "kind": self.rec.kind,
            "preset": self.preset.id,
            "duration_s": f"{self.rec.end - self.rec.start:g}",
        }

    def setup(self, start_time: float) -> None:
        self._t0 = start_time
        self._laps = 0
        self._dist_offset = 0.0
        self.distance = 0.0
        self.log_done = 0.0
        self.speed = float(np.interp(self.rec.start, self.rec.speed_t, self.rec.speed))

    def save_state(self) -> tuple:
        return (self._laps, self._dist_offset, tuple(getattr(self, p.name) for p in _OUTPUTS))

    def restore_state(self, state: tuple) -> None:
        self._laps, self._dist_offset, outputs = state
        for p, v in zip(_OUTPUTS, outputs, strict=True):
            setattr(self, p.name, v)

    def _log_time(self, t: float) -> float:
        return self.rec.start + (t - self._t0)

    def do_step(self, t: float, h: float) -> None:
        rec = self.rec
        length = rec.end - rec.start
        a, b = self._log_time(t), self._log_time(t + h)
        if self.loop and length > 0:
            a -= self._laps * length
            b -= self._laps * length
        p_aux_now = aux_power(self.params, self.T_ambient, True)
        floor = -max(0.0, self.P_charge_max)
        e = np.zeros(5)  # battery, regen, loss, torque-time, aux
        if a < rec.end:
            e += self._integrate(a, min(b, rec.end), floor, p_aux_now)
        if b > rec.end:
            if self.loop and length > 0:
                self._laps += 1
                self._dist_offset += self._dist[-1]
                e += self._integrate(rec.start, rec.start + (b - rec.end), floor, p_aux_now)
                b = rec.start + (b - rec.end)
            else:
                self.log_done = 1.0
                idle = self.params.aux_parked * (b - max(a, rec.end))
                e[0] += idle
                e[4] += idle
                b = rec.end
        self.P_battery, self.P_regen, self.P_loss, self.motor_torque, self.P_aux = (e / h).tolist()
        self.speed = float(np.interp(b, rec.speed_t, rec.speed)) if not self.log_done else 0.0
        self.motor_speed = float(np.interp(b, rec.t, rec.motor_av)) if not self.log_done else 0.0
        self.distance = self._dist_offset + float(np.interp(b, rec.speed_t, self._dist))

    def _integrate(self, a: float, b: float, floor: float, p_aux_now: float) -> np.ndarray:
        """(battery, regen, loss, torque-time, aux) energies over log time [a, b]."""
        rec = self.rec
        if b <= a:
            return np.zeros(5)
        if rec.kind == "step":
            edges = np.concatenate([[rec.t[0] - rec._first_dt], rec.t])
            lo = np.clip(edges[:-1], a, b)
            hi = np.clip(edges[1:], a, b)
            w = hi - lo
            aux = rec.p_aux
            batt = np.maximum(rec.p_motor + aux, floor)
            motor = batt - aux
            return np.array([w @ batt, w @ np.maximum(0.0, -motor), w @ rec.p_loss, w @ rec.torque, w @ aux])
        t = rec.t
        inside = (t > a) & (t < b)
        ts = np.concatenate([[a], t[inside], [b]])
        before = a < t[0]
        p = np.interp(ts, t, rec.p_motor)
        if before:  # no power recorded before the first powertrain sample
            p = np.where(ts < t[0], 0.0, p)
        p_clip = np.maximum(p, floor - p_aux_now)
        loss = np.interp(ts, t, rec.p_loss)
        torque = np.interp(ts, t, rec.torque)
        dt = np.diff(ts)

        def trap(y):
            return float(np.sum(0.5 * dt * (y[1:] + y[:-1])))

        duration = b - a
        return np.array(
            [
                trap(p_clip) + p_aux_now * duration,
                trap(np.maximum(0.0, -p_clip)),
                trap(loss),
                trap(torque),
                p_aux_now * duration,
            ]
        )

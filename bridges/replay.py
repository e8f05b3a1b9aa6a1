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

import math
import warnings
from pathlib import Path

import numpy as np

from bridges.ev_model import VehicleParams, aux_power
from bridges.presets import get_preset
from bridges.replay_logs import _HDF5_SUFFIXES, Recording, read_json_log, read_results
from cosim.errors import EvtwinWarning
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
        "P_unmet",
        OUTPUT,
        "W",
        "Mean recorded power above P_discharge_max over the last step, which the battery could not deliver",
        min=0.0,
    ),
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
        Replay a JSON log (JSON Lines or an array) that was cut off while written, without the cut sample.
    plausibility : bool
        Check a JSON log's units and gaps against the preset first (:mod:`bridges.replay_checks`).
    powertrain_path : str, optional
        The powertrain file when ``path`` is the electrics file of the two-file layout
        (:mod:`bridges.log_files`); ``path`` may also be the folder holding both.
    run : str, optional
        Part of the file names (the time stamp) picking one run in a folder of several.
    duplicate_times : str
        ``refuse`` (default) a sample at the time of the one before, naming it, or ``drop`` it.

    Inputs: ``P_charge_max`` [W] (regen into the battery is limited to it), ``P_discharge_max`` [W]
    (power drawn from the battery is limited to it; the recorded power above it is ``P_unmet``: the car
    drove as recorded, a battery that weak could not have powered it), ``T_ambient`` [K].
    """

    can_save_state = True
    #: Settings that are file paths: the engine resolves them against the scenario file.
    path_settings = ("path", "powertrain_path")

    def __init__(
        self,
        path: str,
        unit: str | None = None,
        preset: str = "model3_rwd_lfp",
        motor_devices: list[str] | None = None,
        loop: bool = False,
        drop_partial_tail: bool = False,
        plausibility: bool = True,
        powertrain_path: str | None = None,
        run: str | None = None,
        duplicate_times: str = "refuse",
    ):
        self.path = Path(path)
        self.preset = get_preset(preset)
        self.params = VehicleParams.from_preset(self.preset)
        if self.path.suffix.lower() in _HDF5_SUFFIXES:
            self.rec = read_results(self.path, unit)
        else:
            self.rec = read_json_log(
                self.path,
                self.params.motor,
                motor_devices,
                drop_partial_tail,
                self.params if plausibility else None,
                powertrain_path=powertrain_path,
                run=run,
                duplicate_times=duplicate_times,
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
            Port(
                "P_discharge_max",
                INPUT,
                "W",
                "Power the battery delivers now; recorded power above it is unmet (P_unmet)",
                start=math.inf,
                min=0.0,
            ),
            Port("T_ambient", INPUT, "K", "Ambient temperature (auxiliary load of a JSON log)", start=296.15),
        ) + _OUTPUTS
        super().__init__()
        self._t0 = 0.0
        self._laps = 0
        self._unmet_energy = self._limited_time = 0.0

    def ports(self):
        return self._ports

    def shared_values(self) -> dict:
        """The preset's pack, for the units of a scenario that take it (battery, charger)."""
        return self.preset.pack()

    def metadata(self) -> dict[str, str]:
        return {
            "type": "log_replay",
            "path": str(self.path),
            "kind": self.rec.kind,
            "preset": self.preset.id,
            "duration_s": f"{self.rec.end - self.rec.start:g}",
            # what the battery could not deliver so far (read again when the run ends)
            "unmet_energy_kWh": f"{self._unmet_energy / 3.6e6:.6g}",
            "time_power_limited_s": f"{self._limited_time:g}",
        }

    def setup(self, start_time: float) -> None:
        self._t0 = start_time
        self._laps = 0
        self._dist_offset = 0.0
        self._unmet_energy = self._limited_time = 0.0
        self._told = False
        self.distance = 0.0
        self.log_done = 0.0
        self.speed = float(np.interp(self.rec.start, self.rec.speed_t, self.rec.speed))

    def save_state(self) -> tuple:
        totals = (self._laps, self._dist_offset, self._unmet_energy, self._limited_time)
        return (totals, tuple(getattr(self, p.name) for p in _OUTPUTS))

    def restore_state(self, state: tuple) -> None:
        totals, outputs = state
        self._laps, self._dist_offset, self._unmet_energy, self._limited_time = totals
        for p, v in zip(_OUTPUTS, outputs, strict=True):
            setattr(self, p.name, v)

    def terminate(self) -> None:
        if self._unmet_energy > 0.0 and not self._told:
            self._told = True
            warnings.warn(
                f"log_replay {self.path.name}: the battery could not deliver "
                f"{self._unmet_energy / 3.6e6:.3g} kWh of the recorded drive (P_unmet; "
                f"{self._limited_time:g} s above P_discharge_max): the car drove as recorded, a battery "
                "that weak could not have powered it",
                EvtwinWarning,
                stacklevel=2,
            )

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
        limits = (-max(0.0, self.P_charge_max), max(0.0, self.P_discharge_max))
        e = np.zeros(6)  # battery, regen, loss, torque-time, aux, unmet
        if a < rec.end:
            e += self._integrate(a, min(b, rec.end), limits, p_aux_now)
        if b > rec.end:
            if self.loop and length > 0:
                self._laps += 1
                self._dist_offset += self._dist[-1]
                e += self._integrate(rec.start, rec.start + (b - rec.end), limits, p_aux_now)
                b = rec.start + (b - rec.end)
            else:
                self.log_done = 1.0
                idle = self.params.aux_parked * (b - max(a, rec.end))
                delivered = min(idle, limits[1] * (b - max(a, rec.end)))
                e += (delivered, 0.0, 0.0, 0.0, delivered, idle - delivered)
                b = rec.end
        self.P_battery, self.P_regen, self.P_loss, self.motor_torque, self.P_aux, self.P_unmet = (
            e / h
        ).tolist()
        if e[5] > 0.0:
            self._unmet_energy += float(e[5])
            self._limited_time += h
        self.speed = float(np.interp(b, rec.speed_t, rec.speed)) if not self.log_done else 0.0
        self.motor_speed = float(np.interp(b, rec.t, rec.motor_av)) if not self.log_done else 0.0
        self.distance = self._dist_offset + float(np.interp(b, rec.speed_t, self._dist))

    def _integrate(self, a: float, b: float, limits: tuple[float, float], p_aux_now: float) -> np.ndarray:
        """(battery, regen, loss, torque-time, aux, unmet) energies over log time [a, b]; ``limits``: the
        battery's (most negative, most positive) power [W]."""
        rec = self.rec
        if b <= a:
            return np.zeros(6)
        floor, ceiling = limits
        if rec.kind == "step":
            edges = np.concatenate([[rec.t[0] - rec._first_dt], rec.t])
            lo = np.clip(edges[:-1], a, b)
            hi = np.clip(edges[1:], a, b)
            w = hi - lo
            aux = rec.p_aux
            asked = np.maximum(rec.p_motor + aux, floor)
            batt = np.minimum(asked, ceiling)
            motor = asked - aux
            return np.array(
                [
                    w @ batt,
                    w @ np.maximum(0.0, -motor),
                    w @ rec.p_loss,
                    w @ rec.torque,
                    w @ aux,
                    w @ (asked - batt),
                ]
            )
        t = rec.t
        inside = (t > a) & (t < b)
        ts = np.concatenate([[a], t[inside], [b]])
        before = a < t[0]
        p = np.interp(ts, t, rec.p_motor)
        if before:  # no power recorded before the first powertrain sample
            p = np.where(ts < t[0], 0.0, p)
        p_clip = np.maximum(p, floor - p_aux_now)
        asked = p_clip + p_aux_now
        batt = np.minimum(asked, ceiling)
        loss = np.interp(ts, t, rec.p_loss)
        torque = np.interp(ts, t, rec.torque)
        dt = np.diff(ts)

        def trap(y):
            return float(np.sum(0.5 * dt * (y[1:] + y[:-1])))

        return np.array(
            [
                trap(batt),
                trap(np.maximum(0.0, -p_clip)),
                trap(loss),
                trap(torque),
                p_aux_now * (b - a),
                trap(asked - batt),
            ]
        )

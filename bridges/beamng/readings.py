"""Reading the simulator each step for :class:`~bridges.beamng.unit.BeamNGUnit`.

Speed, the lockstep clock check, and the telemetry outputs and log (a mixin of the unit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bridges.errors import BridgeError
from bridges.telemetry import ELECTRICS_KEYS


class TelemetryReading:
    """The unit's methods that read the simulator's state and Electrics (mixed into ``BeamNGUnit``)."""

    def _speed(self, state: Mapping, electrics: Mapping) -> float:
        for key in ("wheelspeed", "airspeed"):
            value = electrics.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                return abs(float(value))
        vel = state.get("vel")
        if isinstance(vel, Sequence) and len(vel) >= 3:
            return math.sqrt(sum(float(x) ** 2 for x in vel[:3]))
        raise BridgeError(
            "poll",
            self.client.vehicle_id,
            "no speed in the telemetry (no electrics wheelspeed/airspeed and no state vel)",
            "check that the vehicle spawned",
            self.name or None,
            self.client.t,
        )

    def _check_lockstep(self, state: Mapping, t_end: float) -> None:
        sim_t = _sim_time(state)
        if math.isnan(sim_t) or math.isnan(self._sim_t0):
            return
        expected = self._sim_t0 + (t_end - self._start_time)
        if abs(sim_t - expected) > 0.5 / self.sps:
            raise BridgeError(
                "step",
                self.client.vehicle_id,
                f"the simulator is at t = {sim_t:.4f} s where lockstep expects {expected:.4f} s",
                "something else is stepping or unpausing the simulation; run one client per "
                "simulator and keep it paused",
                self.name or None,
                t_end,
            )

    def _record(self, electrics: Mapping, state: Mapping, t: float) -> None:
        """Set the telemetry outputs (missing values read 0) and log the Electrics sample."""
        self.throttle = _num(electrics.get("throttle"))
        self.brake = _num(electrics.get("brake"))
        self.regen_throttle = _num(electrics.get("regenThrottle"))
        sim_t = _sim_time(state)
        self.sim_time = sim_t if not math.isnan(sim_t) else t
        if self._log is not None:
            sample = {
                "time": self.sim_time,
                "electrics": {k: electrics[k] for k in ELECTRICS_KEYS if k in electrics},
            }
            if "pos" in state:
                sample["state"] = {"pos": state.get("pos"), "vel": state.get("vel")}
            self._log.write(sample)


def _num(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0


def _sim_time(state: Mapping) -> float:
    value = state.get("time")
    return float(value) if isinstance(value, (int, float)) else math.nan

"""Power accounting for :class:`~bridges.beamng.unit.BeamNGUnit`: anchoring the integrator, the step's mean
power outputs, and holding the motors within the battery's limit (a mixin of the unit)."""

from __future__ import annotations

import warnings

from bridges.beamng.power import NoMotors
from bridges.errors import BridgeError
from bridges.ev_model import aux_power
from bridges.telemetry import SampleError
from cosim.errors import EvtwinWarning


class PowerAccounting:
    """The unit's methods that turn the powertrain readings into power outputs (mixed into ``BeamNGUnit``)."""

    def _anchor_power(self, loading: list) -> None:
        try:
            self.power.start(self._sim_t0, loading)
        except SampleError as err:
            raise BridgeError(
                "poll_powertrain", self.client.vehicle_id, f"bad powertrain reading: {err}", "",
                self.name or None, self.client.t,
            ) from None

    def _account_power(self, t: float, h: float, driving: bool) -> None:
        """The step's mean power outputs from the powertrain readings taken during it."""
        readings = self.client.poll_powertrain()
        p_aux = aux_power(self.params, self.T_ambient, driving)
        floor = -max(0.0, self.P_charge_max) - p_aux  # the battery takes no more than P_charge_max
        ceiling = self.P_discharge_max - p_aux  # nor gives more than P_discharge_max
        try:
            step = self.power.step(readings, h, floor, self.motor_speed, self._log, ceiling)
        except NoMotors as err:
            raise BridgeError(
                "poll_powertrain", self.client.vehicle_id, str(err), "", self.name or None, self.client.t
            ) from None
        except SampleError as err:
            raise BridgeError(
                "poll_powertrain",
                self.client.vehicle_id,
                f"bad powertrain reading: {err}",
                "",
                self.name or None,
                t,
            ) from None
        self.regen_events = self.power.regen_events
        self.P_battery = step.P_motor + p_aux
        self.P_regen = step.P_regen
        self.P_loss = step.P_loss
        self.P_aux = p_aux
        self.P_unmet = step.P_unmet
        self._limit_motor(step, ceiling)
        self.motor_torque = step.motor_torque
        self.motor_speed = step.motor_speed
        self.speed = self._speed_now

    def _limit_motor(self, step, ceiling: float) -> None:
        """Hold the motors within the battery's limit for the next step (:mod:`bridges.beamng.limits`)."""
        request = self.limiter.after_step(step, ceiling)
        if request is not None and "limit_lua" not in self._refused:
            if self._optional("limit_lua", self.client.lua, request):
                self.limiter.sent(request)
        elif self.limiter.unheld(step) and "limit_lua" not in self._refused:
            self._refused.add("limit_lua")
            warnings.warn(
                f"{self.name or 'beamng'}: the battery cannot deliver what BeamNG's AI asks of the motors "
                "and no `limit_lua` is set to hold them; the excess is recorded as P_unmet",
                EvtwinWarning,
                stacklevel=2,
            )

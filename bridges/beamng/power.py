"""The battery power of a BeamNG.tech vehicle, integrated from its powertrain readings.

Each powertrain reading (about every 10 ms of simulator time) gives every motor device's
``outputTorque1`` and ``outputAV1``; the electrical power is their product plus the motor/inverter
losses of :mod:`bridges.powertrain` (the model of the vehicle's preset, split evenly over its
motors). The readings are joined by straight lines (trapezoidal rule); a step accounts for the span
from the last reading of the step before to its own last reading, so no span is counted twice or
left out and the energy of a run is the integral over all readings. BeamNG does not know the
battery's charge limit: regen beyond ``P_charge_max`` is counted as friction braking. Nor does it
know the discharge limit: motor power above ``P_discharge_max`` (less the auxiliaries) is counted as
unmet (``P_unmet``), not drawn, when the simulator could not be made to hold the motor below it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bridges.ev_model import VehicleParams
from bridges.powertrain import MotorLossModel
from bridges.telemetry import SampleError, device_power, motor_names, split_sample

#: Electrical power below which the motors count as regenerating, for counting regen events [W].
#: Not zero: the PowertrainSensor reports small negative torques while the car coasts or stands
#: (-2 N.m at standstill in a sample reading), and a threshold at zero would count every flicker of
#: the sign as a braking event. The band is a choice, not a measurement: 500 W is small against the
#: tens of kilowatts of regenerative braking and large against that noise.
REGEN_EVENT_THRESHOLD = -500.0


class NoMotors(SampleError):
    """The traction motors cannot be found among the powertrain devices."""


@dataclass(frozen=True)
class StepPower:
    """Means over one step [W] (``P_*``) and [N.m] (``motor_torque``), and the motors' top speed [rad/s]."""

    P_motor: float
    P_regen: float
    P_loss: float
    motor_torque: float
    motor_speed: float
    P_unmet: float = 0.0  # mean motor power above the ceiling, which the battery could not deliver
    peak: float = 0.0  # largest motor power of the step's readings [W]


class PowerIntegrator:
    """Turns the powertrain readings of each step into mean powers, and counts regen events.

    Parameters
    ----------
    params : VehicleParams
        The vehicle whose motor model gives the losses.
    motor_devices : sequence of str, optional
        Powertrain devices that are traction motors; by default every device named ``*motor*``.
    regen_threshold : float
        See :data:`REGEN_EVENT_THRESHOLD` [W].
    """

    def __init__(
        self,
        params: VehicleParams,
        motor_devices: Sequence[str] | None = None,
        regen_threshold: float = REGEN_EVENT_THRESHOLD,
    ):
        self.params = params
        self.motor_devices = list(motor_devices) if motor_devices else None
        self.regen_threshold = regen_threshold
        self._motors: list[str] = []
        self._motor_model: MotorLossModel | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the previous readings (at set-up)."""
        self.last_point: tuple[float, float, float, float] | None = None  # (time, power, loss, torque)
        self.regen_on = False
        self.regen_events = 0.0

    def start(self, t0: float, readings: Sequence[Mapping] = (), floor: float = -float("inf")) -> None:
        """Anchor the integral at the simulator time ``t0`` [s], so the first step's energy is counted.

        The anchor takes the motors' state from the last of ``readings`` (taken while loading) when
        there are any, else the car standing at spawn (no torque, no speed: only the drive's idle loss).
        """
        self.reset()
        if readings:
            _, p, loss, torque, _ = self.points(readings[-1:], floor)[-1]
        else:
            torque = 0.0
            p = loss = float(self.params.motor.electrical_power(0.0, 0.0))
        self.last_point = (t0, p, loss, torque)

    def motors(self, devices: Mapping) -> tuple[list[str], MotorLossModel]:
        """The motor device names and the loss model of one of them; raises :class:`NoMotors`."""
        if self._motor_model is None:
            try:
                names = motor_names(devices, self.motor_devices)
            except SampleError as err:
                raise NoMotors(str(err)) from None
            m = self.params.motor
            share = 1.0 / len(names)
            self._motors = names
            self._motor_model = MotorLossModel.scaled(
                m.peak_power * share, m.max_speed, m.max_speed / m.base_speed
            )
        return self._motors, self._motor_model

    def points(self, readings: Sequence[Mapping], floor: float, log=None) -> list[tuple]:
        """``(time, limited power, loss, torque)`` of each reading; raises :class:`SampleError`."""
        points = []
        for reading in readings:
            rt, _, devices = split_sample(reading)
            motors, model = self.motors(devices)
            p_e, p_m, torque, motor_av = device_power(devices, motors, model)
            points.append((rt, max(p_e, floor), p_e - p_m, torque, motor_av))
            if log is not None:
                log.write({"time": rt, "powertrain": devices})
        return points

    def step(
        self,
        readings: Sequence[Mapping],
        h: float,
        floor: float,
        motor_speed: float,
        log=None,
        ceiling: float = float("inf"),
    ) -> StepPower:
        """Means over a step of ``h`` seconds from its readings; ``floor`` is the least power [W].

        ``ceiling`` [W] is the most the battery delivers to the motors: power above it is counted in
        ``P_unmet``, not in ``P_motor``. ``motor_speed`` [rad/s] is returned when the step brought no
        readings.
        """
        new = self.points(readings, floor, log)
        if new:
            motor_speed = new[-1][4]
        points = ([self.last_point] if self.last_point is not None else []) + [p[:4] for p in new]
        e_motor = e_regen = e_loss = torque_time = e_unmet = 0.0
        peak = max((p[1] for p in new), default=0.0)
        for (ta, pa, la, qa), (tb, pb, lb, qb) in zip(points, points[1:], strict=False):
            dt = tb - ta
            ua, ub = max(0.0, pa - ceiling), max(0.0, pb - ceiling)
            e_unmet += 0.5 * dt * (ua + ub)
            e_motor += 0.5 * dt * (pa - ua + pb - ub)
            e_regen += 0.5 * dt * (max(0.0, -pa) + max(0.0, -pb))
            e_loss += 0.5 * dt * (la + lb)
            torque_time += 0.5 * dt * (qa + qb)
        for point in points[1:] if self.last_point is not None else points:
            regen = point[1] < self.regen_threshold
            if regen and not self.regen_on:
                self.regen_events += 1
            self.regen_on = regen
        if points:
            self.last_point = points[-1]
        return StepPower(e_motor / h, e_regen / h, e_loss / h, torque_time / h, motor_speed, e_unmet / h, peak)

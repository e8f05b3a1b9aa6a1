"""Following a speed trace in BeamNG.tech: throttle and brake from a feed-forward force plus a PI term.

The feed-forward is the force that would take the car to the trace speed over ``tau`` seconds,
plus the road load at the current speed; the PI term's integral absorbs what the vehicle model
gets wrong (slope, tyre and drivetrain losses the preset does not know). Throttle is the force as
a share of the motor's torque limit at the current speed; brake is the force as a share of a 1 g
deceleration.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridges import drive_cycles
from bridges.ev_model import VehicleParams, road_load

#: Standard gravity [m/s^2]: a brake command of 1 asks for a 1 g deceleration.
G = 9.80665


@dataclass(frozen=True)
class TraceGains:
    """Gains of the trace-following controller.

    Parameters
    ----------
    tau_min : float
        Shortest time over which the feed-forward asks to close a speed error [s]. Asking to close
        it within one control interval (0.1 s by default) would swing the command between full
        throttle and full brake on small errors; half a second (five intervals) keeps it smooth.
    ki : float
        Integral gain [1/s]: the integral of the speed error [m] times ``ki`` adds to the
        acceleration asked for; with 0.3 1/s a steady speed error is worked off over a few
        seconds (1 / ki), slower than the feed-forward so that the two do not fight.
    integral_limit : float
        Anti-windup bound on the integral of the speed error [m]: at most ``ki * integral_limit``
        = 1.5 m/s^2 of correction, so that an error the car cannot remove (held at standstill,
        at its torque limit) does not wind the integral up.
    standstill_speed : float
        Below this speed the road load is left out of the feed-forward [m/s]: rolling resistance
        does not push a car that stands still, and including it would hold the brake on.
    """

    tau_min: float = 0.5
    ki: float = 0.3
    integral_limit: float = 5.0
    standstill_speed: float = 0.05


class TraceController:
    """Throttle and brake commands (0-1) that make the vehicle follow ``cycle``.

    Call :meth:`reset` when a trip starts; :meth:`command` once per control interval.
    """

    def __init__(
        self, cycle: drive_cycles.DriveCycle, params: VehicleParams, gains: TraceGains = TraceGains()
    ):
        self.cycle, self.params, self.gains = cycle, params, gains
        self.integral = 0.0

    def reset(self) -> None:
        self.integral = 0.0

    def command(self, v: float, trip_time: float, dt: float) -> tuple[float, float]:
        """Throttle and brake to reach the trace speed at ``trip_time`` [s] from speed ``v`` [m/s]."""
        target = trace_speed(self.cycle, trip_time)
        p, k = self.params, self.gains
        tau = max(dt, k.tau_min)
        error = target - v
        self.integral = max(-k.integral_limit, min(k.integral_limit, self.integral + error * dt))
        force = p.inertial_mass * (error / tau + k.ki * self.integral) + (
            road_load(p, v) if v > k.standstill_speed else 0.0
        )
        omega = v * p.gear_ratio / p.wheel_radius
        max_drive = p.motor.torque_limit(omega) * p.gear_ratio / p.wheel_radius
        if force >= 0:
            return min(1.0, force / max_drive), 0.0
        return 0.0, min(1.0, -force / (p.mass * G))


def trace_speed(cycle: drive_cycles.DriveCycle, t: float) -> float:
    """The cycle's speed at ``t`` [s] after the trip's start [m/s], linear between its 1 s samples."""
    if t <= 0:
        return float(cycle.speed[0])
    if t >= cycle.duration:
        return float(cycle.speed[-1])
    k = int(t)
    x = t - k
    return float(cycle.speed[k] + (cycle.speed[k + 1] - cycle.speed[k]) * x)

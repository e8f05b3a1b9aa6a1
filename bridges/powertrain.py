"""Motor and inverter losses as a function of torque and speed.

One loss model serves the built-in EV model and the BeamNG.tech bridge, so the electrical power drawn
for a given shaft torque and speed is the same wherever it is computed.

The form follows the classic loss decomposition of traction motors (Larminie & Lowry, *Electric Vehicle
Technology Explained*, 2nd ed., Wiley 2012, chapter on motor efficiency): copper losses grow with the
square of torque, iron losses with speed, windage with the cube of speed, plus a constant; an inverter
term proportional to current (hence to |torque|) is added for conduction and switching::

    P_loss(T, w) = k_cu T^2 + k_inv |T| + k_fe w + k_w w^3 + P_0        (P_0 only while turning or loaded)

The coefficients are project assumptions scaled from the motor's peak power ``P_max`` and peak torque
``T_max`` (base speed ``w_b = P_max / T_max``), so one set of per-unit values fits every preset:

=============  =========================================  ============
term           value at rated torque / base speed          per-unit
=============  =========================================  ============
copper         ``k_cu T_max^2``                            0.060 P_max
inverter       ``k_inv T_max``                             0.008 P_max
iron           ``k_fe w_b``                                0.003 P_max
windage        ``k_w w_b^3``                               0.0003 P_max
constant       ``P_0``                                     0.0008 P_max
=============  =========================================  ============

With these, motor plus inverter efficiency peaks near 96 % at a third of rated torque around base speed,
is about 93 % at the rated point, and falls to about 90 % at light-load highway cruising: the range
reported for current permanent-magnet drive units. The values are assumptions, not fitted to any car.

All quantities SI: torque [N.m], angular speed [rad/s], power [W]. Mechanical power ``T * w`` is positive
when motoring and negative when regenerating; electrical power is ``T * w + P_loss`` in both cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Per-unit loss coefficients (fractions of peak power at rated torque / base speed); see module doc.
PER_UNIT = {"copper": 0.060, "inverter": 0.008, "iron": 0.003, "windage": 0.0003, "constant": 0.0008}


@dataclass(frozen=True)
class MotorLossModel:
    """Motor + inverter loss model and operating limits.

    Parameters
    ----------
    peak_power : float
        Peak mechanical power, motoring and generating [W].
    peak_torque : float
        Peak shaft torque [N.m].
    max_speed : float
        Highest shaft speed [rad/s].
    k_copper : float
        Copper-loss coefficient [W/(N.m)^2].
    k_inverter : float
        Inverter conduction/switching coefficient [W/(N.m)].
    k_iron : float
        Iron-loss coefficient [W/(rad/s)].
    k_windage : float
        Windage coefficient [W/(rad/s)^3].
    p_constant : float
        Constant loss while the drive turns or carries torque [W].
    """

    peak_power: float
    peak_torque: float
    max_speed: float
    k_copper: float
    k_inverter: float
    k_iron: float
    k_windage: float
    p_constant: float

    @classmethod
    def scaled(cls, peak_power: float, max_speed: float, base_speed_ratio: float = 3.0) -> MotorLossModel:
        """The model for a motor of ``peak_power`` [W] and ``max_speed`` [rad/s].

        The base speed is ``max_speed / base_speed_ratio`` and the peak torque ``peak_power / base speed``;
        the loss coefficients follow from :data:`PER_UNIT`.
        """
        if peak_power <= 0 or max_speed <= 0 or base_speed_ratio < 1:
            raise ValueError(
                f"motor needs peak_power > 0, max_speed > 0 and base_speed_ratio >= 1 "
                f"(got {peak_power!r} W, {max_speed!r} rad/s, {base_speed_ratio!r})"
            )
        w_b = max_speed / base_speed_ratio
        t_max = peak_power / w_b
        return cls(
            peak_power=peak_power,
            peak_torque=t_max,
            max_speed=max_speed,
            k_copper=PER_UNIT["copper"] * peak_power / t_max**2,
            k_inverter=PER_UNIT["inverter"] * peak_power / t_max,
            k_iron=PER_UNIT["iron"] * peak_power / w_b,
            k_windage=PER_UNIT["windage"] * peak_power / w_b**3,
            p_constant=PER_UNIT["constant"] * peak_power,
        )

    @property
    def base_speed(self) -> float:
        """Speed above which torque is power-limited [rad/s]."""
        return self.peak_power / self.peak_torque

    def loss(self, torque, speed):
        """Motor + inverter loss [W] at shaft ``torque`` [N.m] and ``speed`` [rad/s] (scalars or arrays)."""
        w = np.abs(speed) if isinstance(speed, np.ndarray) else abs(speed)
        t_abs = np.abs(torque) if isinstance(torque, np.ndarray) else abs(torque)
        active = (
            (w > 0) | (t_abs > 0)
            if isinstance(w, np.ndarray) or isinstance(t_abs, np.ndarray)
            else (w > 0 or t_abs > 0)
        )
        return (
            self.k_copper * t_abs * t_abs
            + self.k_inverter * t_abs
            + self.k_iron * w
            + self.k_windage * w * w * w
            + self.p_constant * active
        )

    def electrical_power(self, torque, speed):
        """DC-bus power [W] (< 0 while regenerating) at ``torque`` [N.m] and ``speed`` [rad/s]."""
        return torque * speed + self.loss(torque, speed)

    def torque_limit(self, speed):
        """Largest torque magnitude available at ``speed`` [rad/s], motoring or generating [N.m]."""
        w = np.abs(speed) if isinstance(speed, np.ndarray) else abs(speed)
        with np.errstate(divide="ignore"):
            power_limited = self.peak_power / np.maximum(w, 1e-9)
        limit = np.minimum(self.peak_torque, power_limited)
        return limit if isinstance(speed, np.ndarray) else float(limit)

    def regen_torque_for_power(self, electrical_power: float, speed: float) -> float:
        """The generating torque [N.m] (<= 0) at which the drive delivers ``electrical_power`` [W] (<= 0).

        Solves ``T w + k_cu T^2 - k_inv T + k_fe w + k_w w^3 + P_0 = P`` for the root nearest zero torque:
        the smaller braking torque that yields the same electrical power. Returns 0 when even zero torque
        draws more than ``electrical_power`` allows to be returned (``P`` above the no-load loss).
        """
        w = abs(speed)
        no_load = self.k_iron * w + self.k_windage * w**3 + (self.p_constant if w > 0 else 0.0)
        if electrical_power >= no_load:
            return 0.0
        b = w - self.k_inverter
        c = no_load - electrical_power
        disc = b * b - 4.0 * self.k_copper * c
        if disc < 0.0:  # more power asked than the drive can return at this speed: best-efficiency torque
            return -b / (2.0 * self.k_copper)
        return (-b + math.sqrt(disc)) / (2.0 * self.k_copper)

    def efficiency(self, torque: float, speed: float) -> float:
        """Motoring efficiency (shaft / electrical) or generating efficiency (electrical / shaft) [1]."""
        mech = torque * speed
        elec = self.electrical_power(torque, speed)
        if mech > 0:
            return mech / elec
        if mech < 0:
            return elec / mech if elec < 0 else 0.0
        return 0.0


def electrical_power_from_telemetry(
    model: MotorLossModel, devices: list[tuple[float, float]]
) -> tuple[float, float]:
    """Electrical and mechanical power [W] of several motors from (torque [N.m], speed [rad/s]) pairs.

    The BeamNG bridge and the log replay call this with every motor device's ``outputTorque1`` and
    ``outputAV1``. Each device gets the loss model; for a car with several motors, ``model`` is the
    model of one motor scaled to that motor's share of the peak power (the caller's choice).
    """
    mech = 0.0
    elec = 0.0
    for torque, speed in devices:
        mech += torque * speed
        elec += model.electrical_power(torque, speed)
    return elec, mech

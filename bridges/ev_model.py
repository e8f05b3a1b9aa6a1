"""Longitudinal EV model on a speed trace: road load, inertia, drive losses, blended regenerative braking.

Pure functions and frozen data, no I/O. Everything SI: mass [kg], force [N], speed [m/s], power [W],
energy [J], temperature [K].

Physics, per instant::

    F_wheel = m_eff a + [f0 cos(theta) + f1 v + f2 v^2 + m g sin(theta)]   (bracket only while moving)

with ``f0, f1, f2`` from the EPA target coefficients A/B/C where known, else ``f0 = m g Crr``, ``f1 = 0``,
``f2 = rho Cd A / 2``; ``m_eff = m (1 + rotating_mass_factor)``; ``theta = atan(grade)``.

- Motoring (``F_wheel >= 0``): motor torque ``T = F_wheel r / (G eta_g)``.
- Braking: the motor takes the braking force up to the smallest of (a) the regen-strength cap
  ``strength x 0.06 g x m`` (strength 1-5, as BeamNG's ``regenStrength``: level 5 brakes at 0.3 g),
  faded linearly to zero below ``regen_fade_speed``; (b) the motor's torque/power limit; friction brakes
  take the rest. Motor torque ``T = -F_regen r eta_g / G``.
- Electrical power at the motor's DC terminals ``P_e = T w + P_loss(T, w)`` (:mod:`bridges.powertrain`),
  ``w = v G / r``. At the battery: ``P_battery = P_e + P_aux``, and while regenerating the battery accepts
  at most ``P_charge_max``: ``P_battery >= -P_charge_max``; the motor then brakes less (its torque is
  solved from the loss model) and friction takes over.

Vehicle parameters, road load, auxiliary draw and coast-down live in :mod:`bridges.vehicle_params`
(re-exported here); this module steps the model: operating points at quadrature nodes and their
integration over a cycle.

A 1 Hz trace has constant acceleration over each second, so a step of the co-simulation that covers
whole seconds integrates each second with 3-point Gauss-Legendre quadrature: exact for the traction
power (cubic in time), the copper losses (quartic) and the windage (cubic), i.e. for every smooth term;
only the kinks where braking switches between motor and friction within a second are approximated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridges.drive_cycles import DriveCycle
from bridges.vehicle_params import LBF, MPH, G, VehicleParams, aux_power, coast_down, road_load

__all__ = [
    "G", "LBF", "MPH", "REGEN_G_PER_LEVEL", "REGEN_FADE_SPEED", "GAUSS_X", "GAUSS_W",
    "VehicleParams", "road_load", "aux_power", "coast_down",
    "NodeState", "node_state", "StepEnergy", "integrate_nodes", "CycleTable",
]

#: Regen braking deceleration per regen-strength level, as a fraction of g (level 5 = 0.3 g).
REGEN_G_PER_LEVEL = 0.06
#: Below this speed regen fades linearly to zero and friction brakes stop the car [m/s] (about 7 km/h).
REGEN_FADE_SPEED = 2.0

#: 3-point Gauss-Legendre rule on [0, 1].
GAUSS_X = np.array([0.5 - math.sqrt(15) / 10, 0.5, 0.5 + math.sqrt(15) / 10])
GAUSS_W = np.array([5 / 18, 8 / 18, 5 / 18])
_GAUSS_W = GAUSS_W.tolist()
_GAUSS_W_SUM = float(GAUSS_W.sum())


@dataclass(frozen=True)
class NodeState:
    """Quantities at quadrature nodes (arrays of one shape), before the battery's charge limit."""

    speed: np.ndarray  # [m/s]
    force: np.ndarray  # force demanded at the wheels [N]
    omega: np.ndarray  # motor speed [rad/s]
    torque: np.ndarray  # motor torque [N.m]
    p_elec: np.ndarray  # motor DC power [W]
    p_brake: np.ndarray  # friction-brake power (>= 0, dissipated) [W]
    over_limit: np.ndarray  # bool: the motor cannot deliver the demanded motoring torque


def node_state(p: VehicleParams, speed, accel, grade, regen_strength: float) -> NodeState:
    """Motor and brake operating point for ``speed`` [m/s], ``accel`` [m/s^2], ``grade`` [-] (arrays).

    ``regen_strength`` (1-5) caps the regen braking force at ``strength x 0.06 g x mass``.
    """
    speed = np.asarray(speed, dtype=float)
    accel = np.asarray(accel, dtype=float)
    moving = speed > 1e-9
    force = p.inertial_mass * accel + np.where(moving, road_load(p, speed, grade), 0.0)
    # a car held at standstill needs no force (brakes hold it)
    force = np.where(moving | (force > 0), force, 0.0)
    r, gr, eta = p.wheel_radius, p.gear_ratio, p.gear_efficiency
    omega = speed * gr / r
    t_limit = p.motor.torque_limit(omega)
    motoring = force >= 0
    braking = np.where(motoring, 0.0, -force)
    cap = regen_strength * REGEN_G_PER_LEVEL * G * p.mass * np.minimum(1.0, speed / REGEN_FADE_SPEED)
    cap = np.minimum(cap, t_limit * gr / (r * eta))
    f_regen = np.minimum(braking, cap)
    torque = np.where(motoring, force * r / (gr * eta), -f_regen * r * eta / gr)
    p_elec = p.motor.electrical_power(torque, omega)
    p_brake = (braking - f_regen) * speed
    over = motoring & (torque > t_limit * (1 + 1e-9))
    return NodeState(speed, force, omega, torque, p_elec, p_brake, over)


@dataclass
class StepEnergy:
    """Energies over an interval [J], and time integrals for mean outputs."""

    battery: float = 0.0  # drawn at the battery terminals (negative: charged by regen)
    motor_elec: float = 0.0  # at the motor's DC terminals
    motor_mech: float = 0.0  # at the motor shaft
    regen: float = 0.0  # returned by the motor to the DC bus (>= 0)
    aux: float = 0.0
    brake: float = 0.0  # dissipated by friction brakes (>= 0)
    wheel: float = 0.0  # demanded at the wheels (traction - braking)
    torque_time: float = 0.0  # integral of motor torque over time [N.m.s]
    over_limit_time: float = 0.0  # time the motor could not follow the trace [s]

    def add(self, other: StepEnergy) -> None:
        # field by field (a loop over the fields' names costs several times more; a limited drive adds
        # one per second)
        self.battery += other.battery
        self.motor_elec += other.motor_elec
        self.motor_mech += other.motor_mech
        self.regen += other.regen
        self.aux += other.aux
        self.brake += other.brake
        self.wheel += other.wheel
        self.torque_time += other.torque_time
        self.over_limit_time += other.over_limit_time

    @property
    def losses(self) -> float:
        """Motor, inverter and gear losses [J]."""
        return self.motor_elec - self.wheel - self.brake


def integrate_nodes(
    p: VehicleParams, s: NodeState, weights: np.ndarray, p_aux: float, p_charge_max: float
) -> StepEnergy:
    """Integrate node quantities with ``weights`` [s], applying the battery charge limit ``p_charge_max`` [W].

    Where ``P_e + P_aux`` would push more than ``p_charge_max`` into the battery, the motor's braking
    torque is reduced until it does not (solved on the loss model) and friction brakes take the difference.
    """
    p_elec, torque, p_brake = s.p_elec, s.torque, s.p_brake
    floor = -p_charge_max - p_aux
    clipped = p_elec < floor
    if np.any(clipped):
        p_elec = p_elec.copy()
        torque = torque.copy()
        p_brake = p_brake.copy()
        ratio = p.wheel_radius * p.gear_efficiency / p.gear_ratio  # motor torque per wheel force
        for i in np.flatnonzero(clipped):
            t_new = p.motor.regen_torque_for_power(floor, s.omega[i])
            p_elec[i] = p.motor.electrical_power(t_new, s.omega[i])
            # the braking the motor no longer provides goes to the friction brakes
            p_brake[i] += (t_new - torque[i]) / ratio * s.speed[i]
            torque[i] = t_new
    e = StepEnergy()
    e.motor_elec = float(weights @ p_elec)
    e.motor_mech = float(weights @ (torque * s.omega))
    e.regen = float(weights @ np.maximum(0.0, -p_elec))
    e.aux = p_aux * float(weights.sum())
    e.battery = e.motor_elec + e.aux
    e.brake = float(weights @ p_brake)
    e.wheel = float(weights @ (s.force * s.speed))
    e.torque_time = float(weights @ torque)
    e.over_limit_time = float(weights @ s.over_limit)
    return e


class CycleTable:
    """A drive cycle evaluated once at the quadrature nodes of every second, for fast stepping.

    Parameters
    ----------
    params : VehicleParams
    cycle : DriveCycle
    regen_strength : float
        1-5.
    """

    def __init__(self, params: VehicleParams, cycle: DriveCycle, regen_strength: float):
        self.params, self.cycle, self.regen_strength = params, cycle, regen_strength
        v = cycle.speed
        n = len(v) - 1
        self.n_segments = n
        a = np.diff(v)  # constant over each 1 s segment [m/s^2]
        x = GAUSS_X[None, :]
        speed = v[:-1, None] + a[:, None] * x
        self.nodes = node_state(
            params,
            speed,
            np.broadcast_to(a[:, None], speed.shape),
            np.broadcast_to(cycle.grade[:-1, None], speed.shape),
            regen_strength,
        )
        w = GAUSS_W
        s = self.nodes
        # whole-segment integrals for the fast path (no charge limit active)
        self.seg_elec = (s.p_elec @ w).tolist()
        self.seg_mech = ((s.torque * s.omega) @ w).tolist()
        self.seg_regen = (np.maximum(0.0, -s.p_elec) @ w).tolist()
        self.seg_brake = (s.p_brake @ w).tolist()
        self.seg_wheel = ((s.force * s.speed) @ w).tolist()
        self.seg_torque = (s.torque @ w).tolist()
        self.seg_over = (s.over_limit @ w).tolist()
        self.seg_min_elec = s.p_elec.min(axis=1).tolist()
        self.seg_max_elec = s.p_elec.max(axis=1).tolist()
        # running sums of the whole-segment integrals: a step of n whole seconds costs one subtraction
        def running(values: list[float]) -> list[float]:
            return np.concatenate([[0.0], np.cumsum(values)]).tolist()

        self.cum_elec, self.cum_regen, self.cum_brake = (running(x) for x in (self.seg_elec, self.seg_regen,
                                                                               self.seg_brake))
        self.cum_wheel, self.cum_torque, self.cum_over = (running(x) for x in (self.seg_wheel, self.seg_torque,
                                                                               self.seg_over))
        self.speed = v.tolist()
        self.dist = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]))]).tolist()
        self.torque_end = (self.nodes.torque[:, -1]).tolist()

    def windows(self, n: int) -> tuple[list[float], list[float]]:
        """The lowest and highest electrical power [W] within seconds ``k .. k + n`` for every ``k`` (built
        once per ``n``): what a step of ``n`` whole seconds checks against the battery's limits."""
        cache = self.__dict__.setdefault("_windows", {})
        if n not in cache:
            view = np.lib.stride_tricks.sliding_window_view
            cache[n] = (view(np.asarray(self.seg_min_elec), n).min(axis=1).tolist(),
                        view(np.asarray(self.seg_max_elec), n).max(axis=1).tolist())
        return cache[n]

    def segment(self, k: int, p_aux: float, p_charge_max: float) -> StepEnergy:
        """Energies over the whole second ``k`` (from t = k to k + 1)."""
        if self.seg_min_elec[k] + p_aux >= -p_charge_max:
            e = StepEnergy(
                self.seg_elec[k] + p_aux,
                self.seg_elec[k],
                self.seg_mech[k],
                self.seg_regen[k],
                p_aux,
                self.seg_brake[k],
                self.seg_wheel[k],
                self.seg_torque[k],
                self.seg_over[k],
            )
            return e
        return self._segment_limited(k, p_aux, p_charge_max)

    def _segment_limited(self, k: int, p_aux: float, p_charge_max: float) -> StepEnergy:
        """:meth:`segment` where the charge limit clips regeneration within second ``k``: the arithmetic of
        :func:`integrate_nodes` on the second's three nodes as Python floats (for three numbers, numpy's
        cost per call is most of the work; a cold pack's limit clips most braking seconds)."""
        rows = self.__dict__.get("_node_rows")
        if rows is None:
            s = self.nodes
            rows = self._node_rows = list(zip(*(np.asarray(x, dtype=float).tolist() for x in (
                s.speed, s.force, s.omega, s.torque, s.p_elec, s.p_brake, s.over_limit))))
        p = self.params
        motor, floor = p.motor, -p_charge_max - p_aux
        ratio = p.wheel_radius * p.gear_efficiency / p.gear_ratio  # motor torque per wheel force
        elec = mech = regen = brake = wheel = torque_time = over = 0.0
        for w, v, force, omega, torque, p_elec, p_brake, over_limit in zip(_GAUSS_W, *rows[k]):
            if p_elec < floor:
                t_new = motor.regen_torque_for_power(floor, omega)
                p_elec = motor.electrical_power(t_new, omega)
                p_brake += (t_new - torque) / ratio * v  # the braking the motor no longer provides
                torque = t_new
            elec += w * p_elec
            mech += w * (torque * omega)
            regen += w * max(0.0, -p_elec)
            brake += w * p_brake
            wheel += w * (force * v)
            torque_time += w * torque
            over += w * over_limit
        aux = p_aux * _GAUSS_W_SUM
        return StepEnergy(elec + aux, elec, mech, regen, aux, brake, wheel, torque_time, over)

    def partial(self, k: int, x0: float, x1: float, p_aux: float, p_charge_max: float) -> StepEnergy:
        """Energies over the part ``[k + x0, k + x1]`` of second ``k`` (0 <= x0 < x1 <= 1)."""
        v0 = self.speed[k]
        a = self.speed[k + 1] - v0
        x = x0 + (x1 - x0) * GAUSS_X
        speed = v0 + a * x
        s = node_state(
            self.params, speed, np.full(3, a), np.full(3, self.cycle.grade[k]), self.regen_strength
        )
        return integrate_nodes(self.params, s, (x1 - x0) * GAUSS_W, p_aux, p_charge_max)

    def speed_at(self, t: float) -> float:
        """Speed at cycle time ``t`` [s] (linear between samples) [m/s]."""
        k = min(int(t), self.n_segments - 1)
        x = t - k
        return self.speed[k] + (self.speed[k + 1] - self.speed[k]) * x

    def distance_at(self, t: float) -> float:
        """Distance from the start of the cycle at time ``t`` [m]."""
        k = min(int(t), self.n_segments - 1)
        x = t - k
        v0, v1 = self.speed[k], self.speed[k + 1]
        return self.dist[k] + v0 * x + 0.5 * (v1 - v0) * x * x

    def integrate(self, t0: float, t1: float, p_aux: float, p_charge_max: float) -> StepEnergy:
        """Energies between cycle times ``t0`` and ``t1`` [s] (within the cycle)."""
        total = StepEnergy()
        k = int(math.floor(t0 + 1e-9))
        t = t0
        while t < t1 - 1e-9:
            end = min(t1, k + 1.0)
            x0, x1 = t - k, end - k
            if x0 <= 1e-9 and x1 >= 1.0 - 1e-9:
                total.add(self.segment(k, p_aux, p_charge_max))
            else:
                total.add(self.partial(k, max(0.0, x0), min(1.0, x1), p_aux, p_charge_max))
            t = end
            k += 1
        return total

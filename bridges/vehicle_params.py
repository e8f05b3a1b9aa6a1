"""Vehicle parameters and the loads that depend on them alone: road load, auxiliary/HVAC draw, coast-down.

:class:`VehicleParams` (SI, converted once from a :class:`bridges.presets.Preset`), the resisting force
at the wheels ``f0 cos(theta) + f1 v + f2 v^2 + m g sin(theta)`` (:func:`road_load`), the auxiliary and
HVAC draw (:func:`aux_power`) and a coast-down integration (:func:`coast_down`). Pure functions and frozen
data, no I/O. The stepping of the EV model (motor/brake operating points, quadrature over a drive cycle)
is in :mod:`bridges.ev_model`, which re-exports these names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridges.powertrain import MotorLossModel

G = 9.80665
LBF = 4.4482216152605  # N
MPH = 0.44704  # m/s


@dataclass(frozen=True)
class VehicleParams:
    """Vehicle parameters in SI units.

    Parameters
    ----------
    mass : float
        Simulated mass, vehicle plus load [kg].
    rotating_mass_factor : float
        Equivalent mass of rotating parts as a fraction of ``mass`` [1].
    f0, f1, f2 : float
        Road-load coefficients: force ``f0 + f1 v + f2 v^2`` [N, N.s/m, N.s^2/m^2].
    wheel_radius : float
        Dynamic wheel radius [m].
    gear_ratio : float
        Motor speed / wheel speed [1].
    gear_efficiency : float
        Reduction gear efficiency, both directions [1].
    motor : MotorLossModel
        Motor + inverter losses and limits (speeds at the motor shaft).
    regen_max : float
        Battery-side regen power limit used when no battery unit supplies ``P_charge_max`` [W].
    aux_base : float
        Auxiliary (12 V) load while driving [W].
    aux_parked : float
        Load while parked [W].
    hvac_heat_per_K, hvac_heat_below : float
        Heating draw per kelvin below ``hvac_heat_below`` [W/K], [K].
    hvac_cool_per_K, hvac_cool_above : float
        Cooling draw per kelvin above ``hvac_cool_above`` [W/K], [K].
    hvac_max : float
        Largest HVAC draw [W].
    charge_efficiency : float
        Wall-to-battery efficiency of AC charging [1].
    """

    mass: float
    rotating_mass_factor: float
    f0: float
    f1: float
    f2: float
    wheel_radius: float
    gear_ratio: float
    gear_efficiency: float
    motor: MotorLossModel
    regen_max: float
    aux_base: float
    aux_parked: float
    hvac_heat_per_K: float
    hvac_heat_below: float
    hvac_cool_per_K: float
    hvac_cool_above: float
    hvac_max: float
    charge_efficiency: float

    @property
    def inertial_mass(self) -> float:
        """Mass including the equivalent mass of rotating parts [kg]."""
        return self.mass * (1.0 + self.rotating_mass_factor)

    @classmethod
    def from_preset(cls, p) -> VehicleParams:
        """Convert a :class:`bridges.presets.Preset` (source units) to SI parameters.

        Raises
        ------
        ValueError
            When a value the chosen road-load model needs is missing.
        """
        mass = p.test_mass_kg
        if p.road_load == "epa":
            missing = [
                n
                for n in ("epa_target_A_lbf", "epa_target_B_lbf_per_mph", "epa_target_C_lbf_per_mph2")
                if getattr(p, n) is None
            ]
            if missing:
                raise ValueError(f"preset {p.id!r}: road_load 'epa' needs {missing}")
            f0 = p.epa_target_A_lbf * LBF
            f1 = p.epa_target_B_lbf_per_mph * LBF / MPH
            f2 = p.epa_target_C_lbf_per_mph2 * LBF / MPH**2
        elif p.road_load == "physics":
            missing = [n for n in ("drag_coef", "frontal_area_m2", "rolling_resist") if getattr(p, n) is None]
            if missing:
                raise ValueError(f"preset {p.id!r}: road_load 'physics' needs {missing}")
            f0 = mass * G * p.rolling_resist
            f1 = 0.0
            f2 = 0.5 * p.air_density_kg_m3 * p.drag_coef * p.frontal_area_m2
        else:
            raise ValueError(f"preset {p.id!r}: road_load must be 'epa' or 'physics' (got {p.road_load!r})")
        motor = MotorLossModel.scaled(
            p.motor_peak_kW * 1e3, p.motor_max_rpm * 2 * math.pi / 60, p.motor_base_speed_ratio
        )
        return cls(
            mass=mass,
            rotating_mass_factor=p.rotating_mass_factor,
            f0=f0,
            f1=f1,
            f2=f2,
            wheel_radius=p.wheel_radius_m,
            gear_ratio=p.gear_ratio,
            gear_efficiency=p.gear_efficiency,
            motor=motor,
            regen_max=p.regen_max_kW * 1e3,
            aux_base=p.aux_base_W,
            aux_parked=p.aux_parked_W,
            hvac_heat_per_K=p.hvac_heat_W_per_K,
            hvac_heat_below=p.hvac_heat_below_degC + 273.15,
            hvac_cool_per_K=p.hvac_cool_W_per_K,
            hvac_cool_above=p.hvac_cool_above_degC + 273.15,
            hvac_max=p.hvac_max_W,
            charge_efficiency=p.charge_efficiency,
        )


def road_load(p: VehicleParams, speed, grade=0.0):
    """Resisting force at the wheels while moving [N] for ``speed`` [m/s] and ``grade`` [rise/run]."""
    theta = np.arctan(grade)
    return p.f0 * np.cos(theta) + p.f1 * speed + p.f2 * speed * speed + p.mass * G * np.sin(theta)


def aux_power(p: VehicleParams, ambient: float, driving: bool) -> float:
    """Auxiliary + HVAC draw [W] at ``ambient`` temperature [K]; only the parked load when not driving."""
    if not driving:
        return p.aux_parked
    hvac = p.hvac_heat_per_K * max(0.0, p.hvac_heat_below - ambient) + p.hvac_cool_per_K * max(
        0.0, ambient - p.hvac_cool_above
    )
    return p.aux_base + min(hvac, p.hvac_max)


def coast_down(p: VehicleParams, v0: float, duration: float, dt: float = 0.01) -> np.ndarray:
    """Speed [m/s] of the car coasting on the flat from ``v0`` [m/s], every ``dt`` for ``duration`` [s].

    Integrates ``m_eff dv/dt = -(f0 + f1 v + f2 v^2)`` with classical Runge-Kutta until standstill
    (the speed then stays 0). This is how a road-load set is checked against a coast-down test.
    """
    m = p.inertial_mass

    def accel(v: float) -> float:
        return -(p.f0 + p.f1 * v + p.f2 * v * v) / m if v > 0 else 0.0

    n = int(round(duration / dt))
    out = np.empty(n + 1)
    v = v0
    out[0] = v
    for i in range(1, n + 1):
        k1 = accel(v)
        k2 = accel(v + 0.5 * dt * k1)
        k3 = accel(v + 0.5 * dt * k2)
        k4 = accel(v + dt * k3)
        v = max(0.0, v + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6)
        out[i] = v
    return out

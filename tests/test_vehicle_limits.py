"""The battery's discharge limit reaches the built-in EV: checked against independent truths.

Truths: the work-energy theorem along the speeds the unit reports (the wheel work equals the change of
kinetic energy plus the road-load work, integrated here on a fine grid), distance as the integral of
the reported speed, a limit that every step's mean battery power must respect, and the unlimited run
as the reference the limited one may never exceed.
"""

from __future__ import annotations

import math

import numpy as np

from bridges import drive_cycles
from bridges.ev_model import VehicleParams, road_load
from bridges.presets import get_preset
from bridges.vehicle_unit import EVUnit


def drive(limit: float, cycle: str = "us06", h: float = 1.0, drive_signal=None) -> dict:
    """Run a unit over ``cycle`` once with ``P_discharge_max = limit``; per-step traces."""
    unit = EVUnit(preset="model3_rwd_lfp", cycle=cycle, on_cycle_end="stop")
    unit.bind(["P_discharge_max", "drive"], [])
    unit.setup(0.0)
    duration = drive_cycles.resolve(cycle)[0].duration
    n = int(round(duration / h))
    keys = ("P_battery", "P_aux", "P_loss", "P_brake", "speed", "distance", "speed_deficit", "time_limited",
            "stranded")
    out = {k: [] for k in keys}
    for i in range(n):
        d = 1.0 if drive_signal is None else drive_signal(i * h)
        unit.set_inputs([limit, d])
        unit.do_step(i * h, h)
        for k in keys:
            out[k].append(getattr(unit, k))
    return {k: np.array(v) for k, v in out.items()} | {"h": h, "unit": unit}


def test_unlimited_pack_follows_the_trace_exactly():
    free = drive(math.inf)
    cycle = drive_cycles.resolve("us06")[0]
    assert free["time_limited"][-1] == 0.0
    assert np.all(free["speed_deficit"] == 0.0)
    np.testing.assert_allclose(free["speed"], cycle.speed[1:], atol=1e-12)


def test_limit_binds_and_the_car_falls_behind():
    limit = 40e3
    free, held = drive(math.inf), drive(limit)
    assert free["P_battery"].max() > 2 * limit  # US06 asks for far more than the limit
    assert held["P_battery"].max() <= limit * (1 + 1e-9)
    assert held["time_limited"][-1] > 30.0
    assert held["speed_deficit"].max() > 3.0
    assert held["distance"][-1] < free["distance"][-1] - 50.0
    # the car never overtakes the trace and never draws more energy than the unlimited car
    assert np.all(held["speed"] <= free["speed"] + 1e-9)
    assert held["P_battery"].sum() < free["P_battery"].sum()


def test_distance_is_the_integral_of_the_reported_speed():
    held = drive(40e3)
    v = np.concatenate([[0.0], held["speed"]])
    np.testing.assert_allclose(held["distance"][-1], np.sum(0.5 * (v[1:] + v[:-1])) * held["h"], rtol=1e-12)


def test_work_energy_theorem_along_the_limited_speeds():
    """Wheel work (battery - aux - losses - brakes) = change of kinetic energy + road-load work."""
    held = drive(40e3)
    p = VehicleParams.from_preset(get_preset("model3_rwd_lfp"))
    h = held["h"]
    wheel = np.sum(held["P_battery"] - held["P_aux"] - held["P_loss"] - held["P_brake"]) * h
    v = np.concatenate([[0.0], held["speed"]])
    # road-load work on a fine grid of the piecewise-linear speed (independent of the unit's quadrature)
    m = 2000
    x = (np.arange(m) + 0.5) / m
    vf = (v[:-1, None] + (v[1:] - v[:-1])[:, None] * x[None, :]).ravel()
    road = np.sum(np.where(vf > 1e-9, road_load(p, vf) * vf, 0.0)) * h / m
    kinetic = 0.5 * p.inertial_mass * (v[-1] ** 2 - v[0] ** 2)
    np.testing.assert_allclose(wheel, kinetic + road, rtol=2e-4)


def test_limit_at_the_auxiliaries_strands_the_car_until_the_drive_ends():
    held = drive(100.0, cycle="udds", drive_signal=lambda t: 0.0 if 600 <= t < 610 else 1.0)
    assert held["stranded"][0] == 1.0  # 100 W does not even carry the auxiliaries
    assert held["speed"][:600].max() == 0.0
    assert held["P_battery"][:600].max() == 0.0
    assert held["stranded"][605] == 0.0  # parked: the drive ended
    assert held["stranded"][700] == 1.0  # the next drive strands again


def test_save_and_restore_repeat_a_limited_step():
    unit = EVUnit(preset="model3_rwd_lfp", cycle="us06", on_cycle_end="stop")
    unit.bind(["P_discharge_max"], [])
    unit.setup(0.0)
    unit.set_inputs([30e3])
    for i in range(200):
        unit.do_step(float(i), 1.0)
    state = unit.save_state()
    unit.do_step(200.0, 7.5)
    first = (unit.speed, unit.distance, unit.P_battery, unit.time_limited)
    unit.restore_state(state)
    unit.do_step(200.0, 7.5)
    assert (unit.speed, unit.distance, unit.P_battery, unit.time_limited) == first

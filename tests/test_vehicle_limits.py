"""The battery's discharge limit reaches the built-in EV: checked against independent truths.

Truths: the work-energy theorem along the speeds the unit reports (the wheel work equals the change of
kinetic energy plus the road-load work, integrated here on a fine grid), distance as the integral of
the reported speed, a limit that every step's mean battery power must respect, and the unlimited run
as the reference the limited one may never exceed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bridges import drive_cycles
from bridges.ev_model import VehicleParams, road_load
from bridges.presets import get_preset
from bridges.vehicle_unit import EVUnit
from cosim import registry, scenario
from cosim.results import read_result


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


# --- the shipped cold week, with the battery twin -------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]


def winter(tmp_path: Path, days: float, ambient_degC: float = -15.0):
    """Run scenarios/winter.yaml for ``days`` at ``ambient_degC`` (the cell starting at it too)."""
    if "battery" not in registry.unit_type_names():
        pytest.skip("the battery twin is not installed")
    text = (ROOT / "scenarios" / "winter.yaml").read_text(encoding="utf-8")
    for old in ("{constant: -15 degC}", "{value: -15, unit: degC}"):
        assert old in text
    text = text.replace("{constant: -15 degC}", f"{{constant: {ambient_degC} degC}}")
    text = text.replace("{value: -15, unit: degC}", f"{{value: {ambient_degC}, unit: degC}}")
    variant = ROOT / "scenarios" / f"_test_winter_{ambient_degC:g}.yaml"
    variant.write_text(text, encoding="utf-8")
    try:
        scenario.run(variant, output=tmp_path / "run.h5", duration=days * 86400.0)
    finally:
        variant.unlink()
    result = read_result(tmp_path / "run.h5")
    return result, {name: sig.values for name, sig in result.signals.items()}


def test_the_cold_pack_holds_the_car_back_where_a_mild_one_does_not(tmp_path):
    _, cold = winter(tmp_path, 1.0)
    _, mild = winter(tmp_path, 1.0, ambient_degC=23.0)
    assert cold["vehicle.time_limited"][-1] > 10.0
    assert mild["vehicle.time_limited"][-1] == 0.0
    assert cold["vehicle.distance"][-1] < mild["vehicle.distance"][-1]
    # every step draws no more than the limit the battery reported for it (one step earlier: the delay)
    drawn, limit = cold["vehicle.P_battery"][1:], cold["battery.P_discharge_max"][:-1]
    driving = cold["schedule.drive"][1:] > 0.5
    assert np.all(drawn[driving] <= limit[driving] * (1 + 1e-9))


def test_an_emptied_pack_strands_the_car(tmp_path):
    result, s = winter(tmp_path, 3.5)
    stranded = [t for t, name in result.events if name == "stranded"]
    assert stranded, "the pack empties within three days of US06 without charging"
    t = result.times["main"]
    for when in stranded:
        i = int(np.searchsorted(t, when))
        assert s["battery.SOC"][i] < 0.02  # stranded only with the pack (nearly) empty
        assert s["vehicle.speed"][i:i + 60].max() == 0.0
    assert s["battery.SOC"][0] > 0.5

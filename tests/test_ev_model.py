"""The built-in EV model and its unit, checked against independent truths.

Truths used: cycle distances published in the data provenance (EPA/UNECE figures), the analytic
solution of the coast-down ODE, conservation of energy over a cycle that starts and ends at rest, and
a fine-grid (1 ms) integration of the same physics that does not use the unit's quadrature.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bridges import drive_cycles
from bridges.ev_model import VehicleParams, aux_power, coast_down, node_state, road_load
from bridges.powertrain import MotorLossModel
from bridges.presets import get_preset
from bridges.vehicle_unit import EVUnit
from cosim.errors import ScenarioError, SimulationError

#: Distances from bridges/data/PROVENANCE.md (km, 3 decimals).
PROVENANCE_KM = {
    "udds": 11.990,
    "hwfet": 16.507,
    "us06": 12.888,
    "wltc_3b": 23.266,
    "wltc_3a": 23.194,
    "nedc": 11.022,
}


def run(unit: EVUnit, duration: float, h: float = 1.0, inputs: dict | None = None) -> dict:
    """Step ``unit`` for ``duration`` seconds; return time integrals of its power outputs [J] and traces."""
    names = sorted(inputs or {})
    unit.bind(names, [])
    unit.setup(0.0)
    unit.set_inputs([inputs[n] for n in names])
    sums = dict.fromkeys(("P_battery", "P_regen", "P_aux", "P_loss", "P_brake"), 0.0)
    trace = {"P_battery": [], "speed": [], "motor_torque": []}  # per step, under "trace_<port>"
    n = int(round(duration / h))
    for k in range(n):
        unit.do_step(k * h, h)
        for key in sums:
            sums[key] += getattr(unit, key) * h
        for key in trace:
            trace[key].append(getattr(unit, key))
    sums.update({f"trace_{k}": np.array(v) for k, v in trace.items()})
    return sums


def fine_grid(cycle: drive_cycles.DriveCycle, dt: float = 1e-3):
    """Speed and acceleration of the piecewise-linear trace on a fine midpoint grid."""
    n = int(round(cycle.duration / dt))
    t = (np.arange(n) + 0.5) * dt
    k = np.minimum(t.astype(int), len(cycle.speed) - 2)
    a = cycle.speed[k + 1] - cycle.speed[k]
    v = cycle.speed[k] + a * (t - k)
    return v, a, cycle.grade[k], dt


@pytest.mark.parametrize("name", sorted(PROVENANCE_KM))
def test_cycle_distance_equals_provenance_and_odometer(name):
    cycle = drive_cycles.load_cycle(name)
    independent = sum(0.5 * (a + b) for a, b in zip(cycle.speed[:-1], cycle.speed[1:], strict=True))
    assert independent / 1000 == pytest.approx(PROVENANCE_KM[name], abs=0.0005)
    unit = EVUnit(preset="model3_rwd_lfp", cycle=name, on_cycle_end="stop")
    run(unit, cycle.duration)
    assert unit.distance == pytest.approx(independent, abs=1e-6)
    assert unit.speed == 0.0


def test_wltc_files_with_byte_order_mark_parse_from_zero():
    for name in ("wltc_3a", "wltc_3b"):
        c = drive_cycles.load_cycle(name)
        assert len(c.speed) == 1801 and c.speed[0] == 0.0
        assert c.max_speed * 3.6 == pytest.approx(131.3, abs=0.05)


def test_wltc_phases_join_to_the_whole_cycle():
    whole = drive_cycles.load_cycle("wltc_3b")
    phases = [drive_cycles.load_cycle(n) for n in ("wltc_low", "wltc_medium", "wltc_high", "wltc_extra_high")]
    assert sum(p.duration for p in phases) == whole.duration
    assert sum(p.distance for p in phases) == pytest.approx(whole.distance, rel=1e-12)


def test_coast_down_matches_the_analytic_solution():
    # EPA road load has all three terms; m dv/dt = -(f0 + f1 v + f2 v^2) has a closed form.
    p = VehicleParams.from_preset(get_preset("ioniq5_awd"))
    m, f0, f1, f2 = p.inertial_mass, p.f0, p.f1, p.f2
    d = f0 - f1 * f1 / (4 * f2)
    assert d > 0
    v0 = 30.0
    t = np.arange(0, 60.0 + 1e-9, 0.01)
    u0 = v0 + f1 / (2 * f2)
    analytic = np.sqrt(d / f2) * np.tan(
        np.arctan(u0 * math.sqrt(f2 / d)) - math.sqrt(d * f2) * t / m
    ) - f1 / (2 * f2)
    simulated = coast_down(p, v0, 60.0, 0.01)
    assert np.max(np.abs(simulated - analytic)) < 1e-8
    assert simulated[-1] < v0 * 0.8  # it does slow down


def test_following_a_coast_down_trace_needs_no_motor_force():
    # Sampled at 1 Hz, the analytic coast-down is a trace the car follows with (almost) zero wheel force.
    preset = get_preset("ioniq5_awd")
    p = VehicleParams.from_preset(preset)
    v = coast_down(p, 30.0, 120.0, 0.001)[::1000]
    cycle = drive_cycles.DriveCycle("coast", v, np.zeros_like(v))
    vf, af, gf, dt = fine_grid(cycle)
    dissipated = float(np.sum(road_load(p, vf, gf) * vf) * dt)
    state = node_state(p, vf, af, gf, 3)
    wheel = float(np.sum(state.force * state.speed) * dt)
    assert abs(wheel) < 0.002 * dissipated  # interpolation between 1 Hz samples only


@pytest.mark.parametrize("cycle_name", ["udds", "us06"])
def test_energy_conservation_over_a_cycle(cycle_name):
    # Over a rest-to-rest cycle on the flat, kinetic energy cancels: the wheels deliver exactly the
    # road-load dissipation; the battery supplies that plus friction braking, drive losses and auxiliaries.
    preset = get_preset("model3_rwd_lfp")
    p = VehicleParams.from_preset(preset)
    cycle = drive_cycles.load_cycle(cycle_name)
    unit = EVUnit(preset="model3_rwd_lfp", cycle=cycle_name, on_cycle_end="stop")
    out = run(unit, cycle.duration)
    vf, af, gf, dt = fine_grid(cycle)
    road = float(np.sum(road_load(p, vf, gf) * vf * (vf > 0)) * dt)
    # P_loss is the residual of the unit's own bookkeeping; the balance against the independent road-load
    # integral is the check: battery = road load + brakes + losses + aux.
    balance = out["P_battery"] - out["P_brake"] - out["P_loss"] - out["P_aux"]
    assert balance == pytest.approx(road, rel=1e-8)
    # the same physics integrated on a 1 ms grid, without the unit's quadrature
    state = node_state(p, vf, af, gf, 3)
    battery_fine = float(np.sum(state.p_elec) * dt) + aux_power(p, 296.15, True) * cycle.duration
    assert out["P_battery"] == pytest.approx(battery_fine, rel=5e-5)
    assert out["P_regen"] > 0 and out["P_loss"] > 0


def test_step_size_does_not_change_the_energy():
    cycle = drive_cycles.load_cycle("udds")
    results = {}
    for h in (1.0, 0.5, 0.25, 3.0, 7.0):
        unit = EVUnit(preset="bolt", cycle="udds", on_cycle_end="stop")
        n = int(cycle.duration // h)
        out = run(unit, n * h, h)
        rest = cycle.duration - n * h
        if rest > 0:
            unit.do_step(n * h, rest)
            out["P_battery"] += unit.P_battery * rest
        results[h] = (out["P_battery"], unit.distance)
    e1, d1 = results[1.0]
    for h, (e, d) in results.items():
        assert d == pytest.approx(d1, abs=1e-6)
        assert e == pytest.approx(e1, rel=1e-5), h


def test_steps_that_do_not_sum_exactly_to_whole_seconds_keep_driving():
    # 0.1 s steps leave the position a rounding error before a second's end (0.9999999999999999)
    coarse, fine = EVUnit(preset="bolt", cycle="us06"), EVUnit(preset="bolt", cycle="us06")
    for unit in (coarse, fine):
        unit.bind([], [])
        unit.setup(0.0)
    energy = 0.0
    for k in range(300):
        fine.do_step(0.1 * k, 0.1)
        energy += 0.1 * fine.P_battery
    coarse.do_step(0.0, 30.0)
    assert fine.distance == pytest.approx(coarse.distance, rel=1e-9)
    assert energy == pytest.approx(30.0 * coarse.P_battery, rel=1e-5)


def test_regen_is_limited_exactly_to_the_charge_power_limit():
    limit = 5000.0
    cycle = drive_cycles.load_cycle("us06")
    free = run(
        EVUnit(preset="model3_rwd_lfp", cycle="us06", on_cycle_end="stop"),
        cycle.duration,
        inputs={"P_charge_max": 1e9},
    )
    limited = run(
        EVUnit(preset="model3_rwd_lfp", cycle="us06", on_cycle_end="stop"),
        cycle.duration,
        inputs={"P_charge_max": limit},
    )
    assert free["trace_P_battery"].min() < -2 * limit  # without the limit regen goes well past it
    assert limited["trace_P_battery"].min() == pytest.approx(-limit, rel=1e-12)
    assert np.all(limited["trace_P_battery"] >= -limit * (1 + 1e-12))
    # the energy the battery refused is burnt in the friction brakes, so it costs net battery energy
    assert limited["P_battery"] > free["P_battery"]
    assert limited["P_brake"] > free["P_brake"]


def test_zero_charge_limit_means_no_net_charging():
    cycle = drive_cycles.load_cycle("udds")
    out = run(
        EVUnit(preset="leaf", cycle="udds", on_cycle_end="stop"), cycle.duration, inputs={"P_charge_max": 0.0}
    )
    assert out["trace_P_battery"].min() >= -1e-9


def test_regen_strength_orders_the_recovered_energy():
    cycle = drive_cycles.load_cycle("us06")
    regen = [
        run(EVUnit(preset="ev6_rwd", cycle="us06", regen_strength=s, on_cycle_end="stop"), cycle.duration)[
            "P_regen"
        ]
        for s in (1, 2, 3, 4, 5)
    ]
    assert all(a < b for a, b in zip(regen, regen[1:], strict=False))


def test_parked_vehicle_draws_only_the_parked_load_and_keeps_its_odometer():
    unit = EVUnit(preset="zoe", cycle="udds", aux_parked_W=15.0)
    unit.bind(["drive"], [])
    unit.setup(0.0)
    unit.set_inputs([1.0])
    for k in range(100):
        unit.do_step(k, 1.0)
    odo = unit.distance
    unit.set_inputs([0.0])
    unit.do_step(100, 3600.0)
    assert unit.P_battery == 15.0 and unit.speed == 0.0 and unit.distance == odo


def test_hvac_load_follows_ambient_temperature():
    p = VehicleParams.from_preset(get_preset("model3_rwd_lfp"))
    mild = aux_power(p, 296.15, True)
    assert mild == p.aux_base
    cold = aux_power(p, 273.15 - 7, True)
    hot = aux_power(p, 273.15 + 35, True)
    assert cold == pytest.approx(p.aux_base + p.hvac_heat_per_K * 25.0)
    assert hot == pytest.approx(p.aux_base + p.hvac_cool_per_K * 11.0)
    assert aux_power(p, 200.0, True) == pytest.approx(p.aux_base + p.hvac_max)
    unit = EVUnit(preset="model3_rwd_lfp", cycle="udds")
    out_cold = run(unit, 100, inputs={"T_ambient": 273.15 - 7})
    assert out_cold["P_aux"] == pytest.approx(100 * cold)


def test_trips_take_the_mix_in_order_or_as_told():
    unit = EVUnit(preset="model3_rwd_lfp", cycle="commute", on_cycle_end="stop")  # udds, hwfet
    unit.bind(["drive", "trip"], [])
    unit.setup(0.0)
    seen = []
    for trip_input in (-1, -1, -1, 1, 0):
        unit.set_inputs([1.0, trip_input])
        unit.do_step(0, 1.0)
        seen.append(unit.cycles[unit._cycle_idx].name)
        unit.set_inputs([0.0, trip_input])
        unit.do_step(1, 1.0)
    assert seen == ["udds", "hwfet", "udds", "hwfet", "udds"]


def test_on_cycle_end_next_keeps_driving_the_mix():
    unit = EVUnit(preset="model3_rwd_lfp", cycle="commute", on_cycle_end="next")
    total = sum(c.duration for c in unit.cycles)
    run(unit, total)
    expected = sum(c.distance for c in unit.cycles)
    assert unit.distance == pytest.approx(expected, abs=1e-6)


def test_save_and_restore_continue_identically():
    unit = EVUnit(preset="id3", cycle="city")
    unit.bind([], [])
    unit.setup(0.0)
    for k in range(700):
        unit.do_step(k, 1.0)
    state = unit.save_state()
    first = []
    for k in range(700, 900):
        unit.do_step(k, 1.0)
        first.append((unit.P_battery, unit.distance))
    unit.restore_state(state)
    second = []
    for k in range(700, 900):
        unit.do_step(k, 1.0)
        second.append((unit.P_battery, unit.distance))
    assert first == second


def test_motor_loss_model_is_consistent():
    m = MotorLossModel.scaled(150e3, 16000 * math.pi / 30)
    for torque, speed in [(100.0, 300.0), (-80.0, 500.0), (0.0, 200.0), (300.0, 100.0)]:
        assert m.electrical_power(torque, speed) == pytest.approx(torque * speed + m.loss(torque, speed))
    # the inverse used when the battery refuses regen returns the torque that gives that power
    for power, speed in [(-20e3, 600.0), (-1e3, 150.0), (-60e3, 800.0)]:
        torque = m.regen_torque_for_power(power, speed)
        assert torque < 0
        assert m.electrical_power(torque, speed) == pytest.approx(power, rel=1e-9)
    eff = [
        m.efficiency(t, w)
        for t in np.linspace(10, m.peak_torque, 30)
        for w in np.linspace(50, 1600, 30)
        if t * w <= m.peak_power
    ]
    assert 0.94 < max(eff) < 0.98
    assert m.loss(0.0, 0.0) == 0.0


def test_unknown_cycle_is_an_error_with_suggestions():
    with pytest.raises(ScenarioError, match=r"unknown drive cycle 'udd'; did you mean 'udds'"):
        EVUnit(cycle="udd")


def test_bad_csv_trace_names_file_and_line(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("time_s,speed_kph\n0,0\n1,oops\n")
    with pytest.raises(ScenarioError, match=r"trace\.csv: line 3: expected numbers"):
        drive_cycles.read_csv_cycle(path)
    path.write_text("seconds,kph\n0,0\n1,1\n")
    with pytest.raises(ScenarioError, match=r"line 1: no time column"):
        drive_cycles.read_csv_cycle(path)
    path.write_text("time_s,speed_kph\n0,0\n2,10\n1,5\n")
    with pytest.raises(ScenarioError, match=r"line 4: time must increase"):
        drive_cycles.read_csv_cycle(path)


def test_user_csv_trace_in_kph_resampled_to_1hz(tmp_path):
    path = tmp_path / "ramp.csv"
    path.write_text("time_s,speed_kph\n0,0\n10,36\n20,0\n")
    c = drive_cycles.read_csv_cycle(path)
    assert len(c.speed) == 21 and c.speed[10] == pytest.approx(10.0)
    assert c.distance == pytest.approx(100.0)  # triangle: 20 s x 10 m/s / 2


def test_bad_settings_are_errors():
    with pytest.raises(ScenarioError, match="regen_strength must be a number from 1 to 5"):
        EVUnit(regen_strength=7)
    with pytest.raises(ScenarioError, match="did you mean 'mass_kg'"):
        EVUnit(mass=1800)
    with pytest.raises(ScenarioError, match="on_cycle_end must be 'next' or 'stop'.*did you mean 'stop'"):
        EVUnit(on_cycle_end="stp")
    unit = EVUnit()
    unit.bind([], [])
    unit.setup(0.0)
    with pytest.raises(SimulationError, match="step size must be > 0"):
        unit.do_step(0.0, 0.0)


def test_ev_unit_ports_and_outputs_meet_the_vehicle_contract():
    from bridges.vehicle_contract import output_problems, port_problems

    unit = EVUnit(preset="atto3", cycle="city")
    assert port_problems(unit) == []
    unit.bind(["drive", "P_charge_max"], [p.name for p in unit.ports() if p.causality == "output"])
    unit.setup(0.0)
    assert output_problems(unit) == []
    for k, (drive, limit) in enumerate([(1.0, 1e5)] * 300 + [(1.0, 0.0)] * 300 + [(0.0, 1e5)] * 3):
        unit.set_inputs([drive, limit])
        unit.do_step(float(k), 1.0)
        assert output_problems(unit) == []


def test_cycle_file_setting_reads_a_user_trace(tmp_path):
    path = tmp_path / "ramp.csv"
    path.write_text("time_s,speed_kph\n0,0\n10,36\n20,0\n")
    unit = EVUnit(preset="zoe", cycle_file=str(path), on_cycle_end="stop")
    run(unit, 20.0)
    assert unit.distance == pytest.approx(100.0) and unit.metadata()["cycle"] == str(path)
    assert EVUnit.path_settings == ("cycle_file",)

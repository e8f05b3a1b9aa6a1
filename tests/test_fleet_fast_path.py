"""Fleet mode's fast path changes the speed, not the numbers.

A packed vehicle (:mod:`fleet.vehicle_pack`) takes stretches of 10 s sub-steps at once where the
vehicle knows its power ahead: :meth:`bridges.vehicle_unit.EVUnit.cycle_ahead` and
:meth:`battery_fmu.model.BatteryPack.step_series`. Each is checked against the one-step-at-a-time
path it replaces, bit for bit, on stretches where the charge limit cuts regeneration short; the
series both in C (:mod:`battery_fmu.series_native`, where gcc is at hand) and in Python.
"""

from __future__ import annotations

import dataclasses
import math
import random
import shutil

import pytest

from battery_fmu.model import BatteryPack
from battery_fmu.parameters import load_cell


def _powers(n, seed):
    rng = random.Random(seed)
    return [rng.choice([rng.uniform(-120e3, 150e3), rng.uniform(-30e3, 40e3), 0.0]) for _ in range(n)]


@pytest.mark.parametrize("engine", ["c", "python"])
@pytest.mark.parametrize("parameter_set, soc", [("lfp_220ah", 0.5), ("lfp_220ah", 0.995), ("nmc_75ah", 0.98)])
def test_a_series_of_steps_equals_the_steps_one_by_one(monkeypatch, engine, parameter_set, soc):
    """From a nearly full pack, regeneration meets the charge limit: the series stops there, as told."""
    monkeypatch.setenv("EVTWIN_ENGINE", engine)
    p = load_cell(parameter_set, 178.4 if parameter_set == "lfp_220ah" else None)
    one, series = (BatteryPack(p, n_series=96, n_parallel=2, soc=soc, temperature=300.0) for _ in range(2))
    powers = _powers(400, seed=len(parameter_set))
    floors = [min(w, w - 20e3) for w in powers]  # each step's lowest 1 s power
    i_charge = 0.0
    for pack in (one, series):
        pack.step(10.0, 0.0, i_charge, 301.0, 299.0)  # the limits of 10 s steps
    k = stops = 0
    while k < len(powers):
        socs, currents, voltages, temperatures, efcs = series.step_series(10.0, powers[k:], floors[k:], i_charge,
                                                                          301.0, 299.0)
        for j in range(len(socs)):
            assert floors[k + j] >= -one.power_charge_max
            one.step(10.0, powers[k + j], i_charge, 301.0, 299.0)
            assert (socs[j], currents[j], voltages[j], temperatures[j], efcs[j]) == (
                one.soc, one.current, one.voltage, one.t_cell, one.efc)
        k += len(socs)
        assert series.get_state() == one.get_state()
        if k < len(powers):  # stopped: this step's power would have been limited
            assert floors[k] < -one.power_charge_max
            stops += 1
            for pack in (one, series):
                pack.step(10.0, max(powers[k], -pack.power_charge_max), i_charge, 301.0, 299.0)
            k += 1
    assert series.get_state() == one.get_state()
    assert stops > 0
    assert math.isfinite(series.soh_capacity) and series.soh_capacity == one.soh_capacity
    # the series ran in C where it can
    assert bool(series._native) == (engine == "c" and shutil.which("gcc") is not None)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="the C loop needs gcc")
@pytest.mark.parametrize("parameter_set, capacity_Ah, kW", [("lfp_220ah", 178.4, 50.0), ("nmc_75ah", None, 20.0)])
def test_the_c_series_leaves_the_steps_that_close_an_aging_chunk_to_python(monkeypatch, parameter_set, capacity_Ah,
                                                                            kW):
    """A day of stretches that cross the aging model's chunk closes: the same states as step by step."""
    from battery_fmu import series_native

    reasons, run = [], series_native._run

    def counted(*args):
        taken, reason = run(*args)
        reasons.append(reason)
        return taken, reason

    monkeypatch.setattr(series_native, "_run", counted)
    p = load_cell(parameter_set, capacity_Ah)
    one, series = (BatteryPack(p, n_series=96, n_parallel=2, soc=0.7, temperature=300.0) for _ in range(2))
    rng = random.Random(7)
    powers = [rng.uniform(-kW * 1e3, kW * 1.04e3) for _ in range(9000)]  # past a day: both kinds of chunk close
    for k in range(0, len(powers), 60):
        socs = series.step_series(10.0, powers[k:k + 60], powers[k:k + 60], 0.0, 299.0)[0]
        assert len(socs) == len(powers[k:k + 60])
        for w in powers[k:k + 60]:
            one.step(10.0, w, 0.0, 299.0)
        assert series.get_state() == one.get_state()
    assert series_native.CHUNK in reasons


def test_the_cycle_ahead_equals_the_vehicles_steps():
    from bridges.vehicle_unit import EVUnit

    units = [EVUnit(preset="model3_rwd_lfp", cycle="commute", on_cycle_end="next") for _ in range(2)]
    for ev in units:
        ev.setup(0.0)
        ev.drive, ev.T_ambient, ev.P_charge_max = 1.0, 303.0, 1e9
        ev.do_step(0.0, 10.0)  # the trip's start
    one, ahead = units
    t = 10.0
    while t < 2134.0:
        powers, regens, odometer, floors, _ = ahead.cycle_ahead(10.0, 25)
        m = max(1, len(powers) - 3)  # commit fewer than were looked at, as when the pack stops them
        if powers:
            ahead.take_cycle_steps(10.0, m, odometer)
        else:
            ahead.do_step(t, 10.0)
        for j in range(m):
            one.do_step(t + 10.0 * j, 10.0)
            if powers:
                assert (one.P_battery, one.P_regen, one.distance) == (powers[j], regens[j], odometer[j])
        assert ahead.save_state() == one.save_state()
        t += 10.0 * m


@pytest.mark.parametrize("style, habit, days",
                         [("aggressive", "fast_daily", 2), ("commute", {"power_kW": 0.3}, 10)])
def test_a_packed_vehicle_looking_ahead_gives_the_same_days(monkeypatch, style, habit, days):
    """Also where the pack runs empty (a home charger too weak for the commute): the discharge limit binds."""
    from fleet.spec import FleetModel, Habit, draw
    from fleet.task import run_vehicle
    from fleet.vehicle_pack import VehiclePack

    own = isinstance(habit, dict)
    model = FleetModel(vehicles=1, years=1, seed=5, annual_km=30000.0, styles={style: 1},
                       charging={"weak" if own else habit: 1}, habits={"weak": Habit(**habit)} if own else {})
    tables = {}
    for look_ahead in (True, False):
        monkeypatch.setattr(VehiclePack, "look_ahead", look_ahead)
        tables[look_ahead] = [run_vehicle({"vehicle": dataclasses.asdict(draw(model, i)), "battery": "in_process",
                                           "resolution": "fleet"}, days * 86400.0)["table"] for i in range(1)]
    for fast, slow in zip(tables[True], tables[False]):
        assert fast.keys() == slow.keys()
        for column in fast:
            assert (fast[column] == slow[column]).all(), column


def test_a_second_whose_regeneration_the_pack_limits_is_integrated_as_on_the_nodes():
    """A cold pack clips most braking seconds: CycleTable.segment works them out in Python floats,
    against integrate_nodes' numpy arithmetic on the same nodes (to rounding: a dot product's order)."""
    from bridges.ev_model import GAUSS_W, NodeState, integrate_nodes
    from bridges.vehicle_unit import EVUnit

    ev = EVUnit(preset="atto3", cycle="city", on_cycle_end="next")
    ev.setup(0.0)
    table, s, p_aux = ev.table(0), ev.table(0).nodes, 300.0
    clipped = 0
    for k in range(0, table.n_segments, 3):
        for limit in (0.0, 15e3):
            fast = table.segment(k, p_aux, limit)
            row = NodeState(s.speed[k], s.force[k], s.omega[k], s.torque[k], s.p_elec[k], s.p_brake[k],
                            s.over_limit[k])
            exact = integrate_nodes(table.params, row, GAUSS_W, p_aux, limit)
            clipped += table.seg_min_elec[k] + p_aux < -limit
            for name in dataclasses.asdict(exact):
                assert getattr(fast, name) == pytest.approx(getattr(exact, name), rel=1e-12, abs=1e-9), (k, name)
    assert clipped > 50

"""A car whose pack is (nearly) empty: the energy it uses is what the pack delivers, and without
delivered energy it covers no distance, in fleet mode's packed unit and in a fleet vehicle's summary alike."""

from __future__ import annotations

import dataclasses

import pytest

DAY = 86400.0


def test_a_packed_vehicle_uses_only_what_its_pack_delivers():
    """Drive a long cycle mix from 3 % SOC. Per 10 s sub-step the pack's terminal energy
    (mean voltage times its constant current times the step) must equal the energy the vehicle reports
    drawing; once the pack is empty the car is stranded and the odometer stops."""
    from fleet.vehicle_pack import VehiclePack

    unit = VehiclePack({"preset": "model3_rwd_lfp", "cycle": "highway", "on_cycle_end": "next"},
                       {"SOC_init": 0.03})
    steps = []
    unit.on_substep = lambda t, v: steps.append((t, *v))
    unit.setup(0.0)
    unit.drive, unit.T_ambient, unit.T_air_pack, unit.I_charge = 1.0, 296.15, 296.15, 0.0
    t = 0.0
    for _ in range(12):  # two hours, far beyond what 3 % of the pack drives
        unit.do_step(t, 600.0)
        t += 600.0
    e_vehicle = e_pack = 0.0
    for (t0, *_), (t1, distance, p_battery, _, _, current, voltage, *_) in zip(steps, steps[1:]):
        h = t1 - t0
        e_vehicle += p_battery * h
        e_pack += current * voltage * h
        assert p_battery * h == pytest.approx(current * voltage * h, rel=1e-6, abs=1.0)  # [J] per sub-step
    assert e_vehicle == pytest.approx(e_pack, rel=1e-6)
    assert e_pack / 3.6e6 < 0.03 * unit.ev.preset.battery_kWh * 1.1  # no more out than was in (top OCV)
    assert unit.ev.stranded == 1.0
    # from the sub-step on which the pack stopped delivering, the car stands where it is
    last_powered = max(j for j, s in enumerate(steps) if s[5] > 0.0)
    assert steps[last_powered][4] < 0.01  # [1]: the pack was empty, not merely limited
    assert {s[1] for s in steps[last_powered:]} == {steps[last_powered][1]}
    assert steps[last_powered][0] < 3600.0  # [s]: well before the two hours (the odometer stopped)
    assert steps[-1][1] > 1000.0  # [m]: but it drove on what there was


@pytest.fixture(scope="module")
def weak_charging_days():
    """One car on a home charger too weak for its commute (0.3 kW), 12 days, in both resolutions."""
    from fleet.spec import FleetModel, Habit, draw
    from fleet.task import run_vehicle

    model = FleetModel(vehicles=1, years=1, seed=5, annual_km=30000.0, styles={"commute": 1},
                       charging={"weak": 1}, habits={"weak": Habit(power_kW=0.3)})
    vehicle = dataclasses.asdict(draw(model, 0))
    return {res: run_vehicle({"vehicle": vehicle, "battery": "in_process", "resolution": res}, 12 * DAY)
            for res in ("fleet", "full")}


@pytest.mark.parametrize("resolution", ["fleet", "full"])
def test_a_car_on_a_weak_charger_drives_on_what_it_is_charged(weak_charging_days, resolution):
    """Energy balance of the summary: energy used = energy charged + the pack's fall in stored energy
    - losses, so it cannot exceed charged + fall (the stored energy bounded by the charge times the
    highest open-circuit voltage). Once the pack is empty, a day drives on that day's charge."""
    from bridges.presets import get_preset

    run = weak_charging_days[resolution]
    days = run["table"]
    preset = get_preset(run["vehicle"]["preset"])
    kwh_per_soc = preset.battery_kWh * 1.1  # the pack at its top open-circuit voltage (LFP ~3.4 V / 3.2 V)
    soc0, soc_end = 0.9, days["soc_min"][-1]
    used, charged = days["energy_kWh"].sum(), days["charge_kWh"].sum()
    assert used <= charged + (soc0 - soc_end) * kwh_per_soc
    empty = days["soc_min"] < 0.01
    assert empty.sum() >= 3  # the weak charger let it run flat
    # each empty day: no more than its charge and the pack's swing that day
    assert (days["energy_kWh"][empty] <= days["charge_kWh"][empty]
            + days["soc_swing"][empty] * kwh_per_soc).all()
    # and the distance follows the energy: no better than the consumption of the full days
    full_days = (days["soc_min"] > 0.2) & (days["energy_kWh"] > 0.0)
    km_per_kwh = (days["distance_km"][full_days] / days["energy_kWh"][full_days]).max()
    assert (days["distance_km"][empty] <= 1.05 * km_per_kwh * days["energy_kWh"][empty]).all()
    assert days["distance_km"][empty].max() < 0.5 * days["distance_km"][full_days].min()


def test_fleet_mode_and_full_resolution_agree_on_the_empty_days(weak_charging_days):
    fleet, full = (weak_charging_days[k]["table"] for k in ("fleet", "full"))
    for column in ("distance_km", "energy_kWh", "charge_kWh"):
        assert fleet[column].sum() == pytest.approx(full[column].sum(), rel=0.01), column

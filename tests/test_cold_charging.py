"""A cold-soaked pack on a home charger: it waits for the derating to lift, and a fleet car heats its pack."""

import dataclasses

import numpy as np
import pytest

from battery_fmu.parameters import load_parameters
from battery_fmu.unit import BatteryUnit
from control.cccv import CCCVCharger
from control.charging_loop import run_charging

NMC_CELL = 75.0 * 3600.0  # C, the NMC parameter set's cell (new)


def test_a_charge_that_starts_on_a_cold_pack_waits_for_the_derating_to_lift():
    # -12 degC: the NMC set's charge derating is 0 below -10 degC; the coolant loop at 20 degC (a heater)
    # warms the pack. The charge must not end as a CV taper before it began.
    p = load_parameters("nmc_75ah")
    assert p.current_max_charge * np.interp(261.15, p.charge_derating.x, p.charge_derating.y) == 0.0
    bat = BatteryUnit(parameter_set="nmc_75ah", capacity_Ah=75.0, SOC_init=0.3, T_init=261.15, coolant_connected=True)
    bat.name = "battery"
    chg = CCCVCharger()
    chg.name = "charger"
    chg.configure({"target_soc": 0.8, "current_limit": 15.0})  # C/5
    tr = run_charging(bat, chg, 8 * 3600.0, 60.0, ambient=293.15)
    assert tr["I_applied"][0] == 0.0
    assert tr["SOC"][-1] == pytest.approx(0.8, abs=1e-6)
    assert np.sum(tr["I_applied"]) * 60.0 / NMC_CELL == pytest.approx(0.5, rel=1e-6)  # the charge it took


@pytest.mark.parametrize("preset", ["ioniq5_rwd", "model3_rwd_lfp"])
def test_a_fleet_car_in_a_minneapolis_january_charges_to_its_timer_target(preset):
    from bridges.presets import get_preset
    from fleet.spec import HABITS, Vehicle
    from fleet.task import run_vehicle

    habit = HABITS["timer_80"]
    car = Vehicle("v0", 0, preset, get_preset(preset).chemistry, "minneapolis", "commute", "timer_80", "street",
                  15000.0, 1.0, habit.model_dump(), {})
    days = run_vehicle({"vehicle": dataclasses.asdict(car), "battery": "in_process", "resolution": "fleet"},
                       4 * 86400.0)["table"]
    assert days["t_ambient_mean_degC"].max() < -5.0  # a cold-soaked pack at every plug-in
    # Each night after the first (which starts above the target) ends at the timer's target...
    assert days["soc_max"][1:] == pytest.approx(habit.target_soc, abs=1e-3)
    # ...having put back what the day's driving took (SOC swing times the pack's energy, roughly).
    pack_kWh = get_preset(preset).capacity_Ah * get_preset(preset).pack()["n_series"] * 3.7e-3  # 3.7 V a cell
    assert days["charge_kWh"][2:] == pytest.approx(days["soc_swing"][2:] * pack_kWh, rel=0.25)

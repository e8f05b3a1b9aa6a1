"""The MPC charger in closed loop with the battery twin: targets met, limits kept, the fallback, the gain."""

import logging

import numpy as np
import pytest

from battery_fmu.unit import BatteryUnit
from control.cccv import CCCVCharger
from control.charging_loop import run_charging
from control.mpc import MPCCharger
from cosim.errors import ScenarioError
from restore_check import Detour

DAY = 86400.0
PLUG_IN, DEPARTURE = 18 * 3600.0, DAY + 7.5 * 3600.0  # Monday 18:00 -> Tuesday 07:30
WARM = 301.15  # 28 degC


def battery(**parameters):
    unit = BatteryUnit(**{"T_init": WARM, **parameters})
    unit.name = "battery"
    return unit


#: Wall-time budget of a solve in these tests: what they check is the optimiser's plan, and a solve that
#: ran out of the product's 1 s budget only because the machine was busy would hand the step to CC-CV.
TEST_TIME_BUDGET = 60.0


def mpc(settings=None, **parameters):
    unit = MPCCharger(**{"departure": "07:30", **(settings or {})})
    unit.name = "charger"
    unit.configure({"time_budget": TEST_TIME_BUDGET, **parameters})
    return unit


def night(charger, soc=0.5, step=60.0, **battery_parameters):
    return run_charging(battery(SOC_init=soc, **battery_parameters), charger, DEPARTURE - PLUG_IN, step, PLUG_IN,
                        ambient=WARM)


def test_overnight_plan_meets_the_target_by_departure_within_every_limit():
    chg = mpc(target_soc=0.9, power_limit=7400.0)
    tr = night(chg)
    assert tr.time[-1] == DEPARTURE
    assert tr["SOC"][-1] >= 0.9 - 1e-9
    assert tr["charger.fallback"].sum() == 0.0
    # Never above the BMS limit or the charger's power, as read at each step's start.
    applied, limit, volts = tr["I_applied"][1:], tr["I_charge_max"][:-1], tr["V_terminal"][:-1]
    assert np.all(applied <= limit + 1e-9)
    assert np.all(applied * volts <= 7400.0 * (1 + 1e-12))
    assert np.max(tr["V_terminal"]) / 106 < 3.65 and np.max(tr["T_cell"]) < 318.15
    # It charged late: nothing in the first half of the night.
    first_current = tr.time[np.argmax(tr["I_applied"] > 0)]
    assert first_current > PLUG_IN + 0.5 * (DEPARTURE - PLUG_IN)
    # Its prediction of the departure SOC is what happened.
    assert tr["charger.soc_departure"][np.nonzero(tr["charger.solve_time"])[0][-1]] == pytest.approx(
        0.9, abs=2e-3
    )
    assert len(chg.solve_times) >= 20


def test_mpc_loses_less_capacity_than_cccv_over_three_nights():
    """Three days of use (an hour's drive each way), charged at plug-in (CC-CV) or by the MPC."""

    def plugged(t):
        clock = t % DAY
        return 1.0 if clock >= 18 * 3600.0 or clock < 7.5 * 3600.0 else 0.0

    def load(t):
        clock = t % DAY
        return 12e3 if 7.5 * 3600.0 <= clock < 8.5 * 3600.0 or 17 * 3600.0 <= clock < 18 * 3600.0 else 0.0

    results = {}
    for name, chg in (("cccv", CCCVCharger()), ("mpc", mpc())):
        chg.name = "charger"
        chg.configure({"target_soc": 0.9})
        results[name] = run_charging(battery(SOC_init=0.6, SOH_init=0.97), chg, 3 * DAY, 60.0, ambient=WARM,
                                     plugged=plugged, load=load)
    fade = {k: 0.97 - tr["SOH_capacity"][-1] for k, tr in results.items()}
    assert fade["mpc"] < 0.93 * fade["cccv"]
    for tr in results.values():
        departures = [np.searchsorted(tr.time, d * DAY + 7.5 * 3600.0) for d in (1, 2)]
        assert np.all(tr["SOC"][departures] >= 0.9 - 1e-6)

    # Later: the MPC's mean charging time of day is after the CC-CV's.
    def mean_clock(tr):
        on = tr["I_applied"] > 0
        return np.mean((tr.time[on] - 12 * 3600.0) % DAY)

    assert mean_clock(results["mpc"]) > mean_clock(results["cccv"]) + 3 * 3600.0


def test_a_failed_solve_falls_back_to_cccv_and_says_why(caplog):
    """Without any plan (every solve runs out of its budget) the MPC waits as the CC-CV timer would, then
    charges CC-CV to the target, trying again once per interval."""
    chg = mpc(target_soc=0.9, time_budget=1e-5)
    with caplog.at_level(logging.WARNING, logger="control.mpc"):
        tr = night(chg, step=60.0)
    assert tr["charger.fallback"][0] == 1.0
    assert tr["SOC"][-1] >= 0.9 - 1e-3
    charging = tr.time[tr["I_applied"] > 0.0]
    # 0.4 of a 220 Ah pack at about 7.4 kW / 340 V: 4 h; the charge must end 25 min before 07:30.
    needed = 0.4 * 220.0 * 3600.0 / (7400.0 / (106 * 3.3))
    assert charging[0] >= DEPARTURE - 600.0 - 900.0 - needed - 2 * 3600.0  # it waited
    assert charging[0] > PLUG_IN + 3600.0
    assert tr["charger.solves"][-1] <= (DEPARTURE - PLUG_IN) / 900.0 + 2  # one try per interval, not per step
    message = caplog.records[0].getMessage()
    expected = "unit 'charger', t = 64800 s: MPC fell back to CC-CV for this step: IPOPT returned "
    assert expected + "Maximum_WallTime_Exceeded" in message


def test_dc_fast_charge_keeps_the_voltage_and_temperature_limits():
    hot = 303.15
    settings = {"objective": "fast", "efficiency": 0.93}
    params = {
        "power_limit": 150e3,
        "current_limit": 400.0,
        "target_soc": 0.8,
        "max_c_rate": 1.0,
        "resolution": 300.0,
        "intervals": 24,
        "degradation_weight": 100.0,
        "time_budget": TEST_TIME_BUDGET,
    }
    runs = {}
    for name, limits in (("free", {}), ("limited", {"t_max": 310.15, "v_max": 3.43})):
        chg = MPCCharger(**settings)
        chg.name = "charger"
        chg.configure({**params, **limits})
        runs[name] = run_charging(battery(SOC_init=0.2, T_init=hot), chg, 3 * 3600.0, 30.0, ambient=hot)
    free, limited = runs["free"], runs["limited"]
    for tr in runs.values():
        assert tr["SOC"][-1] >= 0.8 - 1e-6
        assert tr["charger.fallback"].sum() == 0.0
        assert np.all(tr["I_applied"][1:] <= tr["I_charge_max"][:-1] + 1e-9)
    assert free["T_cell"].max() > 310.15 + 1.0 and free["V_terminal"].max() / 106 > 3.43 + 0.01
    assert limited["T_cell"].max() <= 310.15 + 0.1
    assert limited["V_terminal"].max() / 106 <= 3.43 + 2e-3
    # The limits cost time.
    done = {k: tr.time[np.argmax(tr["charger.done"] > 0)] for k, tr in runs.items()}
    assert done["limited"] > done["free"] + 300.0


def test_save_and_restore_continue_identically():
    first = run_charging(battery(SOC_init=0.5), mpc(target_soc=0.9), 10 * 3600.0, 60.0, PLUG_IN, ambient=WARM)
    detour = Detour(PLUG_IN + 6 * 3600.0, 60.0)
    again = run_charging(battery(SOC_init=0.5), mpc(target_soc=0.9), 10 * 3600.0, 60.0, PLUG_IN, ambient=WARM,
                         observers=[detour])
    for name in first.signals:
        if name != "charger.solve_time":
            np.testing.assert_array_equal(first[name], again[name], err_msg=name)


def test_bad_settings_are_named():
    with pytest.raises(ScenarioError, match="objective must be one of overnight, fast, got 'slow'"):
        MPCCharger(objective="slow")
    with pytest.raises(ScenarioError, match="crate_stressor must be one of chunk, current, got 'peak'"):
        MPCCharger(crate_stressor="peak")
    unit = MPCCharger()
    unit.name = "charger"
    with pytest.raises(ScenarioError, match="unit 'charger': objective 'overnight' needs a departure time"):
        unit.setup(0.0)
    unit = MPCCharger(departure="07:30")
    unit.name = "charger"
    unit.configure({"parameter_set": "lfp_999ah"})
    with pytest.raises(
        ScenarioError, match=r"unit 'charger': parameter set 'lfp_999ah' not found \(known sets"
    ):
        unit.setup(0.0)


def test_charging_doc_lists_every_port():
    from pathlib import Path

    from control.cccv import CCCVCharger

    doc = (Path(__file__).parent.parent / "docs" / "charging.md").read_text(encoding="utf-8")
    for cls in (CCCVCharger, MPCCharger):
        for port in cls.PORTS:
            assert f"| `{port.name}` | {port.causality} | {port.unit} |" in doc, (cls.__name__, port.name)


def test_the_plans_current_bound_is_the_batterys_bms_limit():
    """A cold pack: the BMS derates charging (0 at 0 degC to 0.3 at 10 degC, linear: 0.15 at 5 degC), so
    the plan's bound is 0.15C, below the 0.65C the fade law was fitted to; warm, the fitted C-rate binds."""
    chg = mpc(target_soc=0.9, capacity_Ah=200.0, n_parallel=2, current_limit=1000.0)
    chg.setup(0.0)
    chg.SOC, chg.T_ambient, chg.V_terminal = 0.5, 278.15, 0.0
    chg.T_cell = 278.15
    assert chg._current_max() == pytest.approx(0.15 * 200.0 * 2, rel=1e-9)
    chg.T_cell = 298.15
    assert chg._current_max() == pytest.approx(0.65 * 200.0 * 2, rel=1e-9)

"""The CC-CV charger against independent truths: charge and energy balances, the CC law, the BMS limit."""

import numpy as np
import pytest

from battery_fmu.unit import BatteryUnit
from control.cccv import CCCVCharger
from control.charging_loop import run_charging
from control.departure import Departures
from control.efficiency import ChargerEfficiency
from cosim.errors import ScenarioError
from restore_check import Detour

CELL_CAPACITY = 220.0 * 3600.0  # C, the default cell (new: SOH 1)


def battery(**parameters):
    unit = BatteryUnit(**parameters)
    unit.name = "battery"
    return unit


def charger(settings=None, **parameters):
    unit = CCCVCharger(**(settings or {}))
    unit.name = "charger"
    unit.configure(parameters)
    return unit


def run(bat, chg, hours, step=10.0, t0=0.0, **conditions):
    return run_charging(bat, chg, hours * 3600.0, step, t0, **conditions)


def test_charge_counted_from_the_current_equals_the_soc_gain():
    tr = run(battery(SOC_init=0.35), charger(target_soc=0.85), 6)
    charge = np.sum(tr["I_applied"]) * 10.0
    assert charge / CELL_CAPACITY == pytest.approx(tr["SOC"][-1] - 0.35, rel=1e-9)


def test_grid_energy_is_pack_energy_over_efficiency():
    tr = run(battery(SOC_init=0.4), charger({"efficiency": 0.9}, target_soc=0.8), 6)
    pack = np.sum(tr["I_applied"] * tr["V_terminal"]) * 10.0
    grid = np.sum(tr["charger.P_grid"]) * 10.0
    losses = np.sum(tr["charger.P_loss"]) * 10.0
    # The charger prices a step at the voltage it read at the step's start: 1e-4 here.
    assert grid == pytest.approx(pack / 0.9, rel=1e-3)
    assert grid - losses == pytest.approx(pack, rel=1e-3)


def test_load_dependent_efficiency_follows_the_measured_curve():
    eff = ChargerEfficiency("adac2022_model3")
    # Measured points (grid power -> loss): 2.3 kW 15.2 %, 3.5 kW 11.4 %, 11 kW 7.7 %.
    for grid_kw, loss in ((2.3, 0.152), (3.5, 0.114), (11.0, 0.077)):
        pack = grid_kw * 1e3 * (1.0 - loss)
        assert eff.grid_power(pack) == pytest.approx(grid_kw * 1e3, rel=1e-12)
    low, high = eff.at_pack_power(2500.0), eff.at_pack_power(7000.0)
    assert low < high


def test_cc_phase_current_is_the_power_limit_over_the_voltage():
    tr = run(battery(SOC_init=0.3), charger(power_limit=7400.0, current_limit=250.0, target_soc=0.6), 1)
    # The voltage the charger read at a step's start is the battery's output of the step before.
    charging = tr["charger.charging"][1:] > 0
    expected = 7400.0 / tr["V_terminal"][:-1][charging]
    assert charging.sum() > 300
    assert np.allclose(tr["I_applied"][1:][charging], expected, rtol=1e-12)
    # With a current limit below P/V the current limit holds.
    tr = run(battery(SOC_init=0.3), charger(power_limit=7400.0, current_limit=15.0, target_soc=0.6), 0.5)
    assert np.all(tr["charger.I_charge"][tr["charger.charging"] > 0] == 15.0)


def test_charge_ends_at_the_target_within_one_step():
    step = 60.0
    tr = run(battery(SOC_init=0.5), charger(target_soc=0.9), 6, step=step)
    assert tr["charger.done"][-1] == 1.0
    one_step = 7400.0 / tr["V_terminal"].min() * step / CELL_CAPACITY
    assert abs(tr["SOC"][-1] - 0.9) <= one_step
    # The last step is trimmed (from the SOC gain per coulomb seen the step before): far under a step's worth.
    assert abs(tr["SOC"][-1] - 0.9) < 1e-9


def test_current_follows_the_bms_limit_and_never_exceeds_it():
    # A DC charge of a cool pack (12 degC): the battery's temperature derating holds its limit
    # under the charger's 400 A; as the cells warm the limit rises and the charger follows.
    cool = 285.15
    tr = run(
        battery(SOC_init=0.3, T_init=cool),
        charger({"efficiency": 0.93}, power_limit=150e3, current_limit=400.0, target_soc=0.9),
        1,
        ambient=cool,
    )
    # The limit the charger read at a step's start is the battery's output of the step before.
    applied, limit = tr["I_applied"][1:], tr["I_charge_max"][:-1]
    assert np.all(applied <= limit + 1e-9)
    on = tr["charger.charging"][1:] > 0
    bms_bound = on & np.append(on[1:], False)  # every charging step but the last, trimmed onto the target
    assert np.allclose(applied[bms_bound], limit[bms_bound], rtol=1e-12)
    assert limit[bms_bound][0] < 0.7 * 220.0 and limit[bms_bound].max() > limit[bms_bound][0] + 5.0


def test_a_charge_to_full_ends_when_the_taper_falls_under_the_cutoff():
    tr = run(
        battery(SOC_init=0.8),
        charger({"efficiency": 0.93}, power_limit=150e3, current_limit=400.0, target_soc=1.0),
        1,
    )
    end = np.argmax(tr["charger.done"] > 0)  # the step at whose start the charger stopped
    assert tr["charger.done"][-1] == 1.0
    assert tr["SOC"][end - 1] < 1.0  # not ended by the target
    assert tr["I_charge_max"][end - 1] < 0.05 * 220.0  # but by the BMS limit under C/20
    assert tr["SOC"][-1] > 0.999
    assert np.all(tr["I_applied"][1:] <= tr["I_charge_max"][:-1] + 1e-9)


def test_timer_mode_finishes_at_departure():
    # Plugged from 18:00 (Monday) to the Tuesday 07:30 departure.
    start, departure = 18 * 3600.0, 86400.0 + 7.5 * 3600.0
    chg = charger({"mode": "timer", "departure": "07:30"}, target_soc=0.9, timer_margin=900.0)
    tr = run(battery(SOC_init=0.5), chg, 13.5, step=30.0, t0=start)
    done_at = tr.time[np.argmax(tr["charger.done"] > 0)]
    first_current = tr.time[np.argmax(tr["I_applied"] > 0)]
    assert first_current > start + 6 * 3600.0  # it waited
    assert departure - 900.0 - 1800.0 <= done_at <= departure
    assert tr["SOC"][-1] == pytest.approx(0.9, abs=1e-6)


def test_unplugging_stops_the_charge_and_a_new_session_starts_again():
    plugged = lambda t: 1.0 if t < 3600.0 or t >= 7200.0 else 0.0  # noqa: E731
    tr = run(battery(SOC_init=0.2), charger(target_soc=0.95), 3, step=10.0, plugged=plugged)
    unplugged = (tr.time > 3600.0) & (tr.time <= 7200.0)  # steps that end in the unplugged hour
    assert np.all(tr["I_applied"][unplugged] == 0.0)
    assert tr["I_applied"][tr.time > 7200.0].min() > 0.0


def test_departures_weekly_clock():
    d = Departures({"weekdays": "07:30", "sat": "10:00"})
    friday_evening = 4 * 86400.0 + 20 * 3600.0
    assert d.next_after(friday_evening) == 5 * 86400.0 + 10 * 3600.0
    saturday_night = 5 * 86400.0 + 22 * 3600.0
    assert d.next_after(saturday_night) == 7 * 86400.0 + 7.5 * 3600.0  # Monday of the next week


def test_several_departures_a_day():
    shifts = Departures({"weekdays": ["06:00", "11:15", "16:30"], "sat": "10:00"})
    h = 3600.0
    assert [shifts.next_after(t) for t in (0.0, 6 * h, 12 * h, 17 * h)] == [6 * h, 11.25 * h, 16.5 * h, 30 * h]
    assert shifts.next_after(4 * 86400.0 + 17 * h) == 5 * 86400.0 + 10 * h  # Friday's last shift, then Saturday
    assert len(shifts.week_times) == 5 * 3 + 1
    with pytest.raises(ScenarioError, match=r"departure.weekdays\[1\]: departures of a day must be in increasing "
                       r"order, got '05:00' after '06:00'"):
        CCCVCharger(departure={"weekdays": ["06:00", "05:00"]})
    with pytest.raises(ScenarioError, match=r"departure.mon: expected at least one clock time, got an empty list"):
        CCCVCharger(departure={"mon": []})
    with pytest.raises(ScenarioError, match=r"departure\[2\]: expected a clock time 'HH:MM', got '4pm'"):
        CCCVCharger(departure=["06:00", "11:15", "4pm"])


def test_each_break_charges_for_the_next_shift_and_every_departure_is_scored():
    # Three 4.5-hour shifts (a constant load), each after a 45-minute plug-in: three departures a day.
    h = 3600.0
    breaks = [(5.25 * h, 6 * h), (10.5 * h, 11.25 * h), (15.75 * h, 16.5 * h)]
    shifts = [(6 * h, 10.5 * h), (11.25 * h, 15.75 * h), (16.5 * h, 21 * h)]
    plugged = lambda t: float(any(a <= t < b for a, b in breaks))  # noqa: E731
    load = lambda t: 4500.0 if any(a <= t < b for a, b in shifts) else 0.0  # noqa: E731  W: 0.26 SOC a shift
    dc = {"power_limit": 150e3, "current_limit": 500.0, "target_soc": 0.9}  # the BMS holds it to 1C
    chg = charger({"departure": ["06:00", "11:15", "16:30"]}, **dc)
    tr = run(battery(SOC_init=0.5), chg, 24.0, step=60.0, plugged=plugged, load=load)
    assert tr["charger.departures"][-1] == 3.0 and tr["charger.missed_departures"][-1] == 0.0
    assert tr["charger.sessions"][-1] == 3.0
    for (a, b), (_, end) in zip(breaks, shifts, strict=True):
        window = (tr.time > a) & (tr.time <= b)
        assert tr["I_applied"][window].max() > 0.0  # charged in each break
        assert tr["SOC"][np.searchsorted(tr.time, b)] >= 0.9 - 1e-3  # ready for the shift
        assert tr["SOC"][np.searchsorted(tr.time, end)] < 0.7  # and the shift used it
    # Told of one departure a day (the first shift's), the same charger scores that one alone.
    single = charger({"departure": "06:00"}, **dc)
    tr = run(battery(SOC_init=0.5), single, 24.0, step=60.0, plugged=plugged, load=load)
    assert tr["charger.departures"][-1] == 1.0


def test_bad_settings_are_named():
    with pytest.raises(ScenarioError, match="mode must be one of plug_in, timer, got 'later'"):
        CCCVCharger(mode="later")
    with pytest.raises(ScenarioError, match=r"departure: expected a clock time 'HH:MM', got '7h30'"):
        CCCVCharger(departure="7h30")
    with pytest.raises(ScenarioError, match="unknown day 'weekday'; did you mean 'weekdays'"):
        CCCVCharger(departure={"weekday": "07:30"})
    with pytest.raises(ScenarioError, match="efficiency must be within"):
        CCCVCharger(efficiency=1.2)
    with pytest.raises(ScenarioError, match="unknown efficiency curve 'adac'; known curves: adac2022_model3"):
        CCCVCharger(efficiency="adac")
    with pytest.raises(ScenarioError, match="power must be positive and increase strictly"):
        CCCVCharger(efficiency={"power": [3, 2], "efficiency": [0.9, 0.9], "unit": "kW"})
    unit = CCCVCharger(mode="timer")
    unit.name = "charger"
    with pytest.raises(ScenarioError, match="unit 'charger': mode 'timer' needs a departure time"):
        unit.setup(0.0)
    with pytest.raises(KeyError, match="CCCVCharger has no parameter 'power'"):
        unit.configure({"power": 1.0})


def test_save_and_restore_continue_identically():
    first = run(battery(SOC_init=0.5), charger(target_soc=0.9), 3)
    again = run(battery(SOC_init=0.5), charger(target_soc=0.9), 3, observers=[Detour(5400.0, 10.0)])
    for name in first.signals:
        assert np.array_equal(first[name], again[name]), name


def test_with_the_battery_fmu(battery_fmu):
    """The charger drives the built FMU exactly as it drives the in-process battery."""
    from cosim.fmu import FMUUnit

    fmu = FMUUnit(battery_fmu, "battery")
    fmu.configure({"SOC_init": 0.5})
    try:
        tr_fmu = run(fmu, charger(target_soc=0.8), 4, step=30.0)
    finally:
        fmu.terminate()
    tr_py = run(battery(SOC_init=0.5), charger(target_soc=0.8), 4, step=30.0)
    charge = np.sum(tr_fmu["I_applied"]) * 30.0
    assert charge / CELL_CAPACITY == pytest.approx(tr_fmu["SOC"][-1] - 0.5, rel=1e-9)
    assert tr_fmu["SOC"][-1] == pytest.approx(0.8, abs=1e-6)
    for name in ("SOC", "V_terminal", "I_applied", "T_cell"):
        assert np.allclose(tr_fmu[name], tr_py[name], rtol=1e-12, atol=1e-12), name


def test_running_totals_and_a_missed_departure():
    # Plugged in at 07:00 with the departure at 07:30: half an hour cannot take SOC 0.3 to 0.9.
    plugged = lambda t: 1.0 if t < 7.5 * 3600.0 else 0.0  # noqa: E731
    chg = charger({"departure": "07:30"}, target_soc=0.9)
    tr = run(battery(SOC_init=0.3), chg, 1.0, step=10.0, t0=7 * 3600.0, plugged=plugged)
    assert tr["charger.departures"][-1] == 1.0 and tr["charger.missed_departures"][-1] == 1.0
    assert tr["charger.E_grid"][-1] == pytest.approx(np.sum(tr["charger.P_grid"]) * 10.0, rel=1e-12)
    assert tr["charger.E_loss"][-1] == pytest.approx(np.sum(tr["charger.P_loss"]) * 10.0, rel=1e-12)
    assert tr["charger.charge_time"][-1] == 10.0 * np.count_nonzero(tr["I_applied"] > 0) == 1800.0
    assert tr["charger.sessions"][-1] == 1.0
    # The same with enough time: met.
    chg = charger({"departure": "07:30"}, target_soc=0.9)
    tr = run(battery(SOC_init=0.88), chg, 1.0, step=10.0, t0=7 * 3600.0, plugged=plugged)
    assert tr["charger.departures"][-1] == 1.0 and tr["charger.missed_departures"][-1] == 0.0

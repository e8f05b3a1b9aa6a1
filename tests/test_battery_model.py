"""Physics of the pack model, checked against conservation laws and analytic solutions."""

import math
from dataclasses import replace

import numpy as np
import pytest

from battery_fmu import equations as eq
from battery_fmu.model import BatteryPack, InputError
from battery_fmu.ops import Table1D
from battery_fmu.parameters import load_parameters

P = load_parameters()
NS, NP = 106, 2


def pack(**kw):
    args = dict(params=P, n_series=NS, n_parallel=NP, soc=0.7, temperature=298.15)
    args.update(kw)
    return BatteryPack(**args)


def drive_profile(n=3000, seed=1):
    """A rough drive: random traction/regen power around 15 kW mean [W]."""
    rng = np.random.default_rng(seed)
    return np.clip(15e3 + 25e3 * rng.standard_normal(n), -40e3, 90e3)


def test_charge_counted_from_current_equals_soc_change():
    b = pack()
    soc0 = b.soc
    charge = 0.0
    for p_load in drive_profile():
        b.step(1.0, p_load, 0.0, 298.15)
        charge += b.current * 1.0  # C, pack current
    for _ in range(600):
        b.step(10.0, 0.0, 40.0, 298.15)
        charge += b.current * 10.0
    capacity = b.aging.soh_capacity_committed * P.capacity * NP
    assert charge == pytest.approx((soc0 - b.soc) * capacity, rel=1e-9, abs=1e-6)


def test_ocv_is_recovered_after_a_long_rest():
    b = pack(soc=0.6)
    for _ in range(1800):
        b.step(1.0, 60e3, 0.0, 298.15)
    assert b.voltage < NS * eq.open_circuit_voltage(b.soc, b.t_cell, P) - 1.0  # loaded: well below OCV
    for _ in range(48):
        b.step(3600.0, 0.0, 0.0, 298.15)
    # At rest the terminal voltage is OCV(SOC, T) from the table plus the hysteresis left by the discharge.
    ocv_table = np.interp(b.soc, P.ocv.x, P.ocv.y) + (b.t_cell - 298.15) * np.interp(b.soc, P.entropic_coefficient.x,
                                                                                     P.entropic_coefficient.y)
    magnitude = np.interp(b.soc, P.hysteresis_magnitude.x, P.hysteresis_magnitude.y)
    assert b.voltage / NS == pytest.approx(ocv_table + b.hysteresis, abs=1e-7)
    assert -magnitude - 1e-12 <= b.hysteresis < 0.0  # discharge leaves it below OCV, never beyond the table


def test_thermal_steady_state_matches_the_analytic_solution():
    # A symmetric +-current square wave keeps SOC still, so the mean heat settles to a constant.
    b = pack(soc=0.5, temperature=298.15)
    current_cell = 150.0
    heats, temps = [], []
    last_discharge = 0.0
    for k in range(60000):
        if k % 2 == 0:
            b.step(5.0, current_cell * NP * b.voltage, 0.0, 303.15)
            last_discharge = b.current
        else:  # put back exactly what the discharge step took
            b.step(5.0, 0.0, last_discharge, 303.15)
        if k >= 59000:
            heats.append(b.heat)
            temps.append(b.t_cell)
    q_cell = np.mean(heats) / (NS * NP)
    expected = 303.15 + q_cell * (1 / P.conductance_cell_housing + 1 / P.conductance_housing_ambient)
    assert q_cell > 1.0
    assert np.mean(temps) == pytest.approx(expected, abs=0.02)


def enthalpy_content(soc):
    """Stored enthalpy per coulomb integrated from the tables alone [V*1 = J/C per unit SOC]."""
    grid = np.linspace(0.0, 1.0, 20001)
    u_h = np.interp(grid, P.ocv.x, P.ocv.y) - 298.15 * np.interp(grid, P.entropic_coefficient.x,
                                                                 P.entropic_coefficient.y)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (u_h[1:] + u_h[:-1]) * np.diff(grid))])
    return np.interp(soc, grid, cumulative)


def test_energy_balance_terminal_plus_heat_equals_stored_energy_change():
    b = pack(soc=0.8)
    soc0 = b.soc
    terminal, heat = 0.0, 0.0
    for p_load in drive_profile(5000, seed=3):
        b.step(1.0, p_load, 0.0, 298.15)
        terminal += b.power * 1.0
        heat += b.heat * 1.0
    for _ in range(300):  # charge a little, then rest so the RC pairs empty
        b.step(10.0, 0.0, 60.0, 298.15)
        terminal += b.power * 10.0
        heat += b.heat * 10.0
    for _ in range(30):
        b.step(600.0, 0.0, 0.0, 298.15)
        terminal += b.power * 600.0
        heat += b.heat * 600.0
    capacity = b.aging.soh_capacity_committed * P.capacity * NP * NS
    released = (enthalpy_content(soc0) - enthalpy_content(b.soc)) * capacity
    assert abs(released) > 1e6
    assert terminal + heat == pytest.approx(released, rel=5e-3)


def test_parked_one_day_step_equals_86400_one_second_steps():
    a, b = pack(soc=0.9, temperature=308.15), pack(soc=0.9, temperature=308.15)
    for m in (a, b):  # leave some RC voltage and hysteresis, then park in a cooler place
        for _ in range(300):
            m.step(1.0, 40e3, 0.0, 308.15)
    a.step(86400.0, 0.0, 0.0, 293.15)
    for _ in range(86400):
        b.step(1.0, 0.0, 0.0, 293.15)
    for name in ("soc", "v1", "v2", "hysteresis", "t_cell", "t_housing"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9, abs=1e-12), name
    # V_terminal is the mean over the last step (a day for one, a second for the other): compare the next second.
    a.step(1.0, 0.0, 0.0, 293.15)
    b.step(1.0, 0.0, 0.0, 293.15)
    assert a.voltage == pytest.approx(b.voltage, rel=1e-9)
    assert a.soh_capacity == pytest.approx(b.soh_capacity, abs=2e-9)
    assert a.soh_resistance == pytest.approx(b.soh_resistance, abs=1e-9)
    assert 1.0 - a.soh_capacity > 1e-5  # a day at 90 % SOC did age the cells


def test_constant_current_long_step_equals_many_short_steps():
    # Exact for constant current and constant parameters: take the temperature dependence out,
    # since the cells warm during the hour and a long step evaluates R1, R2 at its start.
    # Resistance growth (calendar aging) would likewise move R1, R2 by ~2e-6 within the hour, and the
    # hysteresis target follows the SOC-dependent magnitude (taken at the step's mid SOC): hold both still.
    isothermal = replace(P, activation_temperature=0.0, aging_resistance=replace(P.aging_resistance, calendar_k=0.0),
                         hysteresis_magnitude=Table1D("flat", (0.0, 1.0), (0.02, 0.02)))
    a, b = pack(params=isothermal, soc=0.3), pack(params=isothermal, soc=0.3)
    a.step(3600.0, 0.0, 80.0, 298.15)
    for _ in range(3600):
        b.step(1.0, 0.0, 80.0, 298.15)
    for name in ("soc", "v1", "v2", "hysteresis"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9, abs=1e-12), name


def test_power_and_current_requests_at_the_same_time():
    b = pack(soc=0.5)
    b.step(1.0, 8e3, 30.0, 298.15)  # HVAC running while charging
    vehicle_current = b.current + 30.0
    assert b.power_request_unmet == pytest.approx(0.0, abs=1e-6)
    assert b.voltage * vehicle_current == pytest.approx(8e3, rel=1e-12)
    assert b.current < 0.0  # net charging


def test_limits_are_honoured_and_available_power_is_exact():
    b = pack(soc=0.15)
    available = b.power_discharge_max
    b.step(1.0, 10 * available, 0.0, 298.15)
    assert b.power == pytest.approx(available, rel=1e-9)
    assert b.power_request_unmet == pytest.approx(10 * available - available, rel=1e-9)
    assert b.voltage / NS >= P.voltage_min - 1e-9
    c = pack(soc=0.98)
    accept = c.power_charge_max
    c.step(1.0, -10 * accept, 0.0, 298.15)
    assert -c.power == pytest.approx(accept, rel=1e-9)
    assert c.voltage / NS <= P.voltage_max + 1e-9
    assert -c.current <= P.current_max_charge * NP + 1e-9


def test_no_charging_when_frozen():
    b = pack(soc=0.5, temperature=263.15)
    assert b.power_charge_max == 0.0
    b.step(10.0, 0.0, 100.0, 263.15)
    assert b.current == 0.0


def test_thermal_transition_matches_numerical_integration_of_the_derivatives():
    from scipy.integrate import solve_ivp

    kb = P.conductance_housing_ambient
    tc0, th0, tb, q = 320.0, 305.0, 290.0, 12.0
    tc, th = eq.thermal_after(tc0, th0, *eq.thermal_steady_state(q, tb, kb, P), eq.thermal_transition(1800.0, kb, P))
    sol = solve_ivp(lambda t, y: eq.thermal_derivatives(y[0], y[1], tb, q, kb, P), (0, 1800.0), [tc0, th0],
                    rtol=1e-11, atol=1e-11)
    assert tc == pytest.approx(sol.y[0, -1], abs=1e-7)
    assert th == pytest.approx(sol.y[1, -1], abs=1e-7)


def test_state_round_trip_continues_identically():
    a = pack()
    for p_load in drive_profile(500):
        a.step(1.0, p_load, 0.0, 298.15)
    saved = a.get_state()
    run1 = []
    for p_load in drive_profile(500, seed=9):
        a.step(1.0, p_load, 0.0, 298.15)
        run1.append((a.soc, a.voltage, a.t_cell, a.soh_capacity))
    a.set_state(saved)
    run2 = []
    for p_load in drive_profile(500, seed=9):
        a.step(1.0, p_load, 0.0, 298.15)
        run2.append((a.soc, a.voltage, a.t_cell, a.soh_capacity))
    assert run1 == run2


@pytest.mark.parametrize("kwargs, match", [
    (dict(soc=1.2), "SOC_init must be within"),
    (dict(n_series=0), "n_series must be an integer >= 1"),
    (dict(soh=0.0), "SOH_init must be within"),
    (dict(temperature=25.0), "T_init must be a temperature in K"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(InputError, match=match):
        pack(**kwargs)


def test_temperature_raises_resistance_by_arrhenius():
    cold, warm = pack(temperature=283.15), pack(temperature=313.15)
    cold.step(1.0, 30e3, 0.0, 283.15)
    warm.step(1.0, 30e3, 0.0, 313.15)
    assert cold.heat > warm.heat
    assert math.log(eq.arrhenius_factor(283.15, P.activation_temperature, 298.15)) == pytest.approx(
        P.activation_temperature * (1 / 283.15 - 1 / 298.15))


def test_heat_to_coolant_and_air_balance_the_heat_generated_in_steady_state():
    b = pack(soc=0.5, coolant_connected=True)
    last_discharge = 0.0
    heats, flows = [], []
    for k in range(40000):
        if k % 2 == 0:
            b.step(5.0, 150.0 * NP * b.voltage, 0.0, 303.15, 293.15)
            last_discharge = b.current
        else:
            b.step(5.0, 0.0, last_discharge, 303.15, 293.15)
        if k >= 39000:
            heats.append(b.heat)
            flows.append(b.heat_to_ambient + b.heat_to_coolant)
    assert np.mean(flows) == pytest.approx(np.mean(heats), rel=2e-3)
    # Coolant at 20 degC holds the housing below the 30 degC air: heat flows in from the air, out to the coolant.
    assert b.heat_to_coolant > 0 > b.heat_to_ambient
    detached = pack(soc=0.5)
    detached.step(10.0, 20e3, 0.0, 303.15, 293.15)
    assert detached.heat_to_coolant == 0.0

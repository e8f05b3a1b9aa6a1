"""The equations: published reference values, and the same numbers from every math backend."""

import math

import numpy as np
import pytest

from battery_fmu import equations as eq
from battery_fmu.ops import NUMPY, SCALAR, casadi_ops, torch_ops
from battery_fmu.parameters import load_parameters

P = load_parameters()


def test_graphite_potential_matches_published_values():
    # Safari & Delacourt 2011 as tabulated in the reference notes.
    soc = np.array([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
    expected = [0.684, 0.233, 0.149, 0.123, 0.108, 0.088, 0.086]
    assert eq.graphite_potential(soc, P, NUMPY) == pytest.approx(expected, abs=6e-4)


def test_aging_rates_match_the_closed_forms():
    t = 298.15
    # Reference: k_cal(25 degC, SOC 0.5) = 4.95e-4 day^-0.526 (1.10 % loss in a year).
    k_cal = eq.calendar_rate(t, eq.graphite_potential(0.5, P), P)
    assert k_cal == pytest.approx(4.95e-4, rel=2e-3)
    assert k_cal * 365**0.526 == pytest.approx(0.0110, abs=1e-4)
    # Reference: k_cyc(DOD 1, 0.5C, 25 degC) = 2.22e-4 (6.8 % per 1000 EFC).
    k_cyc = eq.cycle_rate(1.0, 0.5, eq.cycle_temperature_factor(t, P), P)
    assert k_cyc == pytest.approx(2.22e-4, rel=2e-3)
    assert k_cyc * 1000**0.828 == pytest.approx(0.068, abs=1e-3)


def test_cycle_temperature_factor_is_clamped_to_the_fitted_range():
    assert eq.cycle_temperature_factor(263.15, P) == eq.cycle_temperature_factor(283.15, P)
    assert eq.cycle_temperature_factor(333.15, P) == eq.cycle_temperature_factor(318.15, P)


def test_virtual_time_update_reproduces_the_power_law():
    k, p = 4.95e-4, 0.526
    y, steps = 0.0, np.full(3650, 1.0)
    for dx in steps:
        y += eq.power_law_increment(y, dx, k, p)
    # Forward-Euler in virtual time: close to k x^p once past the first steps.
    assert y == pytest.approx(k * 3650**p, rel=2e-3)


def test_rate_forms_integrate_to_the_power_laws():
    # From an initial fade q0 = k x0^p, integrating the rates at a constant k gives k (x0 + x)^p.
    k_cal, pcal = 4.95e-4, P.aging.pcal
    q, dt = eq.power_law_value(k_cal, 30.0, pcal), 600.0
    for _ in range(int(365 * 86400 / dt)):
        q += eq.calendar_fade_rate(q, k_cal, P) * dt
    assert q == pytest.approx(eq.power_law_value(k_cal, 30.0 + 365.0, pcal), rel=1e-4)
    # Cycle fade: 100 A charging for 1000 full cycles' worth of charge (2 Q per EFC).
    k_cyc, pcyc, current = 2.22e-4, P.aging.pcyc, -100.0
    q, dt = eq.power_law_value(k_cyc, 10.0, pcyc), 60.0
    seconds = 1000.0 * 2.0 * P.capacity / abs(current)
    for _ in range(int(seconds / dt)):
        q += eq.cycle_fade_rate(q, k_cyc, current, P) * dt
    assert q == pytest.approx(eq.power_law_value(k_cyc, 1010.0, pcyc), rel=1e-4)
    # The floor caps the slope of a new cell at the slope reached after one day.
    assert eq.calendar_fade_rate(0.0, k_cal, P, q_min=eq.power_law_value(k_cal, 1.0, pcal)) == pytest.approx(
        k_cal * pcal / 86400.0)


def test_thermal_transition_equals_the_matrix_exponential_also_for_a_repeated_eigenvalue():
    from dataclasses import replace

    from scipy.linalg import expm

    def expected(dt, kb, p):
        return expm(np.array(eq.thermal_matrix(kb, p)).reshape(2, 2) * dt).ravel()

    for dt, kb in ((1.0, 0.5), (600.0, 0.5), (3600.0, 3.5), (86400.0, 0.5)):
        assert eq.thermal_transition(dt, kb, P) == pytest.approx(expected(dt, kb, P), rel=1e-9, abs=1e-15)
    # Both nodes isolated (no conductance anywhere): A = 0, a doubly repeated eigenvalue 0, exp(A dt) = I.
    isolated = replace(P, conductance_cell_housing=0.0)
    assert eq.thermal_eigenvalues(0.0, isolated) == (0.0, 0.0)
    assert eq.thermal_transition(3600.0, 0.0, isolated) == (1.0, 0.0, 0.0, 1.0)
    # Equal diagonal entries and a tiny coupling: eigenvalues -k/c +/- 1e-9 k/c, the series branch.
    k, c = 0.5, 1000.0
    near = replace(P, mass=c / P.specific_heat, housing_heat_capacity=c * 1e18, conductance_cell_housing=k)
    kb = k * (1e18 - 1.0)  # a22 = -(k + kb) / c2 = -k / c = a11
    mean, gap = eq.thermal_eigenvalues(kb, near)
    assert gap <= eq.REPEATED_EIGENVALUE_GAP * abs(mean)
    for dt in (1.0, 600.0, 86400.0):
        exact = expected(dt, kb, near)
        assert eq.thermal_transition(dt, kb, near) == pytest.approx(exact, rel=1e-9, abs=1e-12)
        assert all(math.isfinite(m) for m in eq.thermal_transition(dt, kb, near))
    # And it integrates the derivatives: a fine explicit integration lands on the same temperatures.
    heat, t_amb, kb, dt = 12.0, 300.0, 0.5, 900.0
    steady = eq.thermal_steady_state(heat, t_amb, kb, P)
    exact = eq.thermal_after(310.0, 305.0, *steady, eq.thermal_transition(dt, kb, P))
    tc, th, h = 310.0, 305.0, 0.01
    for _ in range(int(dt / h)):
        d_c, d_h = eq.thermal_derivatives(tc, th, t_amb, heat, kb, P)
        tc, th = tc + h * d_c, th + h * d_h
    assert exact == pytest.approx((tc, th), abs=1e-4)


def points():
    rng = np.random.default_rng(0)
    soc = rng.uniform(0.0, 1.0, 50)
    temp = rng.uniform(263.0, 330.0, 50)
    current = rng.uniform(-300.0, 400.0, 50)
    return soc, temp, current


def evaluate(ops, soc, temp, current):
    """A cross-section of the equations, evaluated element by element with ``ops``."""
    out = []
    for s, t, i in zip(soc, temp, current):
        r_c, r_d, r1, r2 = eq.resistances(s, t, P, ops)
        ua = eq.graphite_potential(s, P, ops)
        out.append([
            eq.open_circuit_voltage(s, t, P, ops), r_c, r_d, r1, r2,
            eq.ohmic_resistance(s, t, i < 0, P, ops),
            eq.hysteresis_target(i, s, P, ops), eq.hysteresis_decay(i, 10.0, P.capacity, P, ops),
            eq.reversible_heat(i, t, s, P, ops), eq.enthalpy_potential(s, P, ops),
            ua, eq.calendar_rate(t, ua, P, ops), eq.cycle_temperature_factor(t, P, ops),
            eq.calendar_resistance_rate(t, s, P, ops), eq.cycle_resistance_per_efc(abs(i) / 220.0, s, P, ops),
            eq.power_law_slope(0.01 + 0.01 * s, 4.9e-4, 0.526, ops), eq.rc_decay(10.0, P.tau1, ops),
            eq.hysteresis_after(0.01 * s, eq.hysteresis_target(i, s, P, ops), 0.5),
            eq.rc_step_heat(1e-3 * s, 2e-3 * s, i, r1, P.tau1, 0.3, 10.0),
            *eq.fade_rates(0.01 * s + 1e-3, 0.005 * s + 1e-3, t, s, i, 0.5, None, P, ops),
            eq.c_rate(i, P, ops), eq.power_law_value(4.9e-4, 1.0 + 10.0 * s, 0.526, ops),
            eq.calendar_fade_rate(0.01 * s, eq.calendar_rate(t, ua, P, ops), P, ops, q_min=1e-4),
            eq.cycle_fade_rate(0.01 * s, 2.2e-4, i, P, ops, q_min=1e-5),
            *eq.thermal_after(t, t - 3.0, t + 1.0, t - 1.0, eq.thermal_transition(600.0 * s, 0.5, P, ops)),
        ])
    return out


def test_numpy_and_scalar_backends_agree():
    soc, temp, current = points()
    scalar = np.array(evaluate(SCALAR, soc, temp, current), dtype=float)
    vector = np.array(evaluate(NUMPY, soc, temp, current), dtype=float)
    np.testing.assert_allclose(vector, scalar, rtol=1e-13, atol=0)


def test_casadi_backend_agrees_with_scalar():
    pytest.importorskip("casadi")
    import casadi

    ops = casadi_ops()
    soc, temp, current = points()
    scalar = np.array(evaluate(SCALAR, soc, temp, current), dtype=float)
    s, t, i = casadi.MX.sym("s"), casadi.MX.sym("t"), casadi.MX.sym("i")
    # Build the expressions symbolically once, then evaluate them at the points.
    symbolic = evaluate(ops, [s], [t], [i])[0]
    f = casadi.Function("f", [s, t, i], [casadi.vertcat(*symbolic)])
    numeric = np.array([np.array(f(a, b, c)).ravel() for a, b, c in zip(soc, temp, current)])
    np.testing.assert_allclose(numeric, scalar, rtol=1e-12, atol=1e-18)


def test_torch_backend_agrees_with_scalar():
    torch = pytest.importorskip("torch")
    ops = torch_ops()
    soc, temp, current = points()
    scalar = np.array(evaluate(SCALAR, soc, temp, current), dtype=float)
    as_t = [torch.tensor(v, dtype=torch.float64) for v in (soc, temp, current)]
    rows = evaluate(ops, *[[x[k] for k in range(len(soc))] for x in as_t])
    numeric = np.array([[float(v) for v in row] for row in rows])
    np.testing.assert_allclose(numeric, scalar, rtol=1e-12, atol=1e-18)


def test_tables_clamp_beyond_their_ends_in_every_backend():
    assert P.ocv.scalar(-0.1) == P.ocv.y[0]
    assert P.ocv.scalar(1.2) == P.ocv.y[-1]
    assert NUMPY.interp(P.ocv, np.array([-0.1, 1.2])).tolist() == [P.ocv.y[0], P.ocv.y[-1]]
    pytest.importorskip("casadi")
    assert float(casadi_ops().interp(P.ocv, 1.2)) == pytest.approx(P.ocv.y[-1])

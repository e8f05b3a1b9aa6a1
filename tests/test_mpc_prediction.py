"""The MPC's prediction model against the battery twin (in-process unit and FMU) on the same current profile.

Tolerances, and why they are not zero: the prediction steps 10-minute intervals where the twin
steps 10 s (60 s for the FMU). SOC is exact under a known current (the same closed form): 1e-9.
The terminal voltage differs by up to 2.5 mV per cell (0.07 %): the twin reports the mean over
its last step, the prediction the value at the interval's end, and the hysteresis target is taken
at the interval's mid SOC (the twin's at each short step's). Temperatures within 0.15 K: the
prediction holds the heat at its mid-interval value (R0 from the interval's start) and moves the
thermal network exactly under it; the twin re-evaluates the heat every step. The capacity fade over
a day within 3 %: the prediction integrates the fade *rate* (the aging model's virtual-time form),
the twin applies it to the day's average rate constant (Jensen's inequality on a convex law).
"""

import numpy as np
import pytest

from battery_fmu.ops import SCALAR
from battery_fmu.unit import BatteryUnit
from control.prediction import AgingContext, PredictionModel, pack_parameters

T_AMB = 303.15
# (duration [s], pack charge current [A]): rest, AC charge, DC burst, rest, AC again.
PROFILE = [(3600.0, 0.0), (7200.0, 25.0), (1800.0, 150.0), (3600.0, 0.0), (1800.0, 40.0)]
INTERVAL = 600.0
OUTPUTS = ["SOC", "V_terminal", "T_cell", "T_housing"]


def predicted(model, x0, soh=1.0):
    x, rows = list(x0), []
    for duration, current in PROFILE:
        for _ in range(int(duration / INTERVAL)):
            out = model.interval(x, current, INTERVAL, T_AMB, soh, AgingContext(), SCALAR)
            x = list(out.state)
            rows.append([x[0], out.voltage_end * model.n_series, x[4], x[5]])
    return np.array(rows)


def simulated(unit, step):
    unit.bind(["I_charge", "T_ambient", "T_coolant"], OUTPUTS)
    unit.setup(0.0)
    t, rows = 0.0, []
    for duration, current in PROFILE:
        for _ in range(int(duration / INTERVAL)):
            for _ in range(int(INTERVAL / step)):
                unit.set_inputs([current, T_AMB, T_AMB])
                unit.do_step(t, step)
                t += step
            rows.append(list(unit.get_outputs()))
    return np.array(rows)


def assert_agree(pred, twin, n_series):
    np.testing.assert_allclose(pred[:, 0], twin[:, 0], atol=1e-9, rtol=0)
    assert np.max(np.abs(pred[:, 1] - twin[:, 1])) / n_series < 2.5e-3
    assert np.max(np.abs(pred[:, 2:] - twin[:, 2:])) < 0.15


def test_prediction_follows_the_in_process_battery():
    params = pack_parameters()
    model = PredictionModel(params, n_series=106, n_parallel=1)
    pred = predicted(model, [0.3, 0.0, 0.0, 0.0, T_AMB, T_AMB])
    twin = simulated(BatteryUnit(SOC_init=0.3, T_init=T_AMB, n_series=106), 10.0)
    assert_agree(pred, twin, 106)
    # The profile exercises what the limits need: the DC burst heats the cells by several kelvin.
    assert twin[:, 2].max() > T_AMB + 4.0


def test_prediction_follows_the_battery_fmu(battery_fmu):
    from cosim.fmu import FMUUnit

    fmu = FMUUnit(battery_fmu, "battery")
    fmu.configure({"SOC_init": 0.3, "T_init": T_AMB, "n_series": 96, "n_parallel": 2, "capacity_Ah": 150.0})
    try:
        twin = simulated(fmu, 60.0)
    finally:
        fmu.terminate()
    model = PredictionModel(pack_parameters(capacity_Ah=150.0), n_series=96, n_parallel=2)
    assert_agree(predicted(model, [0.3, 0.0, 0.0, 0.0, T_AMB, T_AMB]), twin, 96)


def test_predicted_fade_over_a_day_matches_the_twin():
    # Forty days of use first, so that both fade states have a history (the rate form's slope is
    # infinite for a new cell; the aging model's first chunk is the closed form).
    bat = BatteryUnit(SOC_init=0.5, T_init=T_AMB, SOH_init=0.97)
    bat.name = "battery"
    bat.bind(["P_load", "I_charge", "T_ambient"], ["SOC", "SOH_capacity"])
    bat.setup(0.0)
    clock = [0.0]

    def step(load, current, h):
        bat.set_inputs([load, current, T_AMB])
        bat.do_step(clock[0], h)
        clock[0] += h

    for _ in range(40):
        start = clock[0]
        while bat.get_outputs()[0] < 0.9:
            step(0.0, 20.0, 60.0)
        step(0.0, 0.0, 86400.0 - 3 * 3600.0 - (clock[0] - start))
        while bat.get_outputs()[0] > 0.5:
            step(15e3, 0.0, 60.0)
        step(0.0, 0.0, 86400.0 - (clock[0] - start))
    pack, soh = bat.pack, bat.get_outputs()[1]
    assert pack.aging.q_cyc > 0.0 and pack.aging.c_time == 0.0  # a fresh aging chunk starts the test day

    # The test day: 8 h parked at SOC 0.5, 20 A to SOC 0.9, parked to the end of the day.
    p = pack.p
    t_charge = 0.4 * soh * p.capacity / 20.0
    crate = 20.0 * 3600.0 / p.capacity * t_charge / 86400.0  # the chunk's C-rate stressor (daily average)
    aging = AgingContext(pack.aging.q_cal, pack.aging.q_cyc, dod=0.4, crate=crate)
    model = PredictionModel(p, 106, 1)
    x = [pack.soc, pack.v1, pack.v2, pack.hysteresis, pack.t_cell, pack.t_housing]
    fade = 0.0
    for duration, current in ((8 * 3600.0, 0.0), (t_charge, 20.0), (16 * 3600.0 - t_charge, 0.0)):
        n = int(np.ceil(duration / INTERVAL))
        for _ in range(n):
            out = model.interval(x, current, duration / n, T_AMB, soh, aging, SCALAR)
            x = list(out.state)
            fade += out.fade_calendar + out.fade_cycle
        # The twin in short steps while charging (its aging quadrature takes a step's mid SOC), one at rest.
        pieces = int(np.ceil(duration / 60.0)) if current > 0.0 else 1
        for _ in range(pieces):
            step(0.0, current, duration / pieces)
    assert fade == pytest.approx(soh - bat.get_outputs()[1], rel=0.03)
    assert x[0] == pytest.approx(bat.get_outputs()[0], abs=1e-9)


def test_the_nlp_transition_is_the_same_prediction():
    """The CasADi function the NLP is built from gives the numbers of the scalar prediction."""
    model = PredictionModel(pack_parameters(), 106, 1)
    fn = model.function(crate_from_current=False)
    x0 = [0.42, 0.001, 0.002, -0.01, 305.0, 303.0]
    out = model.interval(x0, 33.0, 900.0, 300.0, 0.95, AgingContext(0.02, 0.004, 0.5, 0.03), SCALAR, 1.1)
    sym = fn(x0, 33.0, 900.0, 300.0, 0.95, 1.1, 0.02, 0.004, 0.5, 0.03)
    np.testing.assert_allclose(np.array(sym[0]).ravel(), out.state, rtol=1e-12, atol=1e-15)
    expected = [out.voltage_end, out.heat_loss, out.terminal_energy, out.fade_calendar, out.fade_cycle,
                out.voltage_mean]
    np.testing.assert_allclose([float(v) for v in sym[1:]], expected, rtol=1e-12)

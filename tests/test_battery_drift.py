"""No drift between the twin and what predicts it: the same current profile through the twin's step
(:class:`battery_fmu.model.BatteryPack`, Python floats) and through the MPC's CasADi-built interval
function (:meth:`control.prediction.PredictionModel.function`), at the same step lengths.

Both call :mod:`battery_fmu.step`, so SOC, the RC voltages, the hysteresis, the terminal voltage and
the temperatures agree to round-off (CasADi may reorder the float operations: 1e-10 relative). The
MPC is given the twin's slow health states (relative capacity, resistance factor) at each step; the
fast states it carries from its own previous step. The capacity fade, which the MPC keeps in rate form,
is checked against the twin's chunked closed form in ``tests/test_mpc_prediction.py`` (3 % of a day).

One refinement is the twin's alone: a currentless step longer than a minute follows the RC pairs' heat
as it falls within the step (sub-steps), where the shared step holds its mean; the last test bounds it.
"""

import numpy as np
import pytest

from battery_fmu import equations as eq
from battery_fmu.model import BatteryPack
from battery_fmu.parameters import load_cell
from battery_fmu.step import CellState, StepInputs, step
from control.prediction import PredictionModel

T_AMB = 303.15
# (duration [s], pack charge current [A]): rest, AC charge, DC burst, rest, AC again.
PROFILE = [(1200.0, 0.0), (3600.0, 25.0), (1200.0, 150.0), (600.0, 0.0), (1800.0, 40.0), (300.0, 0.0)]
CHARGING = [(3600.0, 25.0), (1200.0, 150.0), (1800.0, 40.0), (1200.0, 5.0)]


def run_both(capacity_ah, n_series, n_parallel, step_length, coolant_connected=False, t_coolant=T_AMB,
             profile=PROFILE):
    params = load_cell("lfp_220ah", capacity_ah)
    pack = BatteryPack(params, n_series, n_parallel, soc=0.3, temperature=T_AMB,
                       coolant_connected=coolant_connected)
    model = PredictionModel(params, n_series, n_parallel, coolant_connected)
    fn = model.function()
    x = [0.3, 0.0, 0.0, 0.0, T_AMB, T_AMB]
    twin_rows, mpc_rows = [], []
    for duration, current in profile:
        for _ in range(int(duration / step_length)):
            soh, rf = pack.aging.soh_capacity_committed, pack.aging.resistance_factor
            out = fn(x, current, step_length, T_AMB, soh, rf, 0.01, 0.001, 0.5, 0.0)
            x = np.array(out[0]).ravel().tolist()
            mpc_rows.append([*x, float(out[6]) * n_series])
            pack.step(step_length, 0.0, current, T_AMB, t_coolant)
            twin_rows.append([pack.soc, pack.v1, pack.v2, pack.hysteresis, pack.t_cell, pack.t_housing,
                              pack.voltage])
            assert pack.current == pytest.approx(-current, rel=1e-12)  # within the limits: applied as asked
    return np.array(twin_rows), np.array(mpc_rows)


def assert_round_off(twin, mpc):
    names = ["SOC", "V1", "V2", "hysteresis", "T_cell", "T_housing", "V_terminal"]
    scale = np.array([1.0, 0.01, 0.01, 0.01, 300.0, 300.0, 300.0])
    for k, name in enumerate(names):
        error = np.max(np.abs(twin[:, k] - mpc[:, k]))
        assert error <= 1e-10 * scale[k], f"{name} drifts by {error:.3g}"


def test_the_mpc_interval_is_the_twins_step():
    twin, mpc = run_both(220.0, 106, 1, 60.0)
    assert_round_off(twin, mpc)
    # The profile moves every state the comparison is about.
    assert twin[:, 0].max() - twin[:, 0].min() > 0.3
    assert np.abs(twin[:, 1]).max() > 1e-3 and np.abs(twin[:, 3]).max() > 1e-3
    assert twin[:, 4].max() > T_AMB + 2.0


def test_the_same_over_the_mpcs_long_intervals():
    twin, mpc = run_both(220.0, 106, 1, 600.0, profile=CHARGING)
    assert_round_off(twin, mpc)


def test_a_long_rest_differs_only_by_the_twins_rc_heat_refinement():
    twin, mpc = run_both(220.0, 106, 1, 1200.0, profile=[(2400.0, 150.0), (7200.0, 0.0)])
    assert_round_off(twin[:2], mpc[:2])  # while charging
    # Resting in 20-minute steps the RC pairs' stored energy heats the cell sooner in the twin than the
    # shared step's mean heat does: the same energy, so the temperatures differ by less than it would
    # warm the cell node alone, and the electrical states only through the resistances' temperature.
    p = load_cell()
    _, _, r1, r2 = eq.resistances(twin[1, 0], twin[1, 4], p)
    stored = 0.5 * (p.tau1 / r1 * twin[1, 1] ** 2 + p.tau2 / r2 * twin[1, 2] ** 2)  # J per cell
    difference = np.max(np.abs(twin[:, 4:6] - mpc[:, 4:6]))
    assert 0.0 < difference < stored / p.cell_heat_capacity
    np.testing.assert_allclose(twin[:, :4], mpc[:, :4], rtol=0, atol=1e-7)
    # The terminal voltage through the OCV's temperature shift dU/dT (106 cells in series).
    shift = 106 * max(abs(y) for y in p.entropic_coefficient.y) * difference
    assert np.max(np.abs(twin[:, 6] - mpc[:, 6])) <= shift + 1e-9


def test_the_same_with_parallel_cells_another_capacity_and_a_coolant_loop():
    twin, mpc = run_both(150.0, 96, 2, 60.0, coolant_connected=True)
    assert_round_off(twin, mpc)


def test_the_one_call_step_is_the_twins_step():
    """:func:`battery_fmu.step.step` (what an estimator or a physics-informed loss calls) from the twin's
    state gives the twin's next state and its limits."""
    params = load_cell()
    pack = BatteryPack(params, 106, 1, soc=0.4, temperature=T_AMB)
    for _ in range(20):
        pack.step(30.0, 0.0, 60.0, T_AMB)
    x = CellState(pack.soc, pack.v1, pack.v2, pack.hysteresis, pack.t_cell, pack.t_housing)
    inputs = StepInputs(-60.0, T_AMB, soh=pack.aging.soh_capacity_committed,
                        resistance_factor=pack.aging.resistance_factor)
    result = step(params, x, inputs, 30.0)
    assert result.limits.current_charge == pytest.approx(pack.current_charge_max, rel=1e-12)
    assert result.limits.power_discharge * 106 == pytest.approx(pack.power_discharge_max, rel=1e-12)
    pack.step(30.0, 0.0, 60.0, T_AMB)
    assert tuple(result.state) == pytest.approx(
        (pack.soc, pack.v1, pack.v2, pack.hysteresis, pack.t_cell, pack.t_housing), rel=1e-13, abs=1e-15)
    assert result.means.voltage * 106 == pytest.approx(pack.voltage, rel=1e-13)
    assert result.means.heat * 106 == pytest.approx(pack.heat, rel=1e-12)


def test_the_step_on_numpy_and_torch_is_the_scalar_step():
    """What the service's estimator (numpy, a batch of states) and the physics-informed loss (torch,
    differentiable) call: the same numbers as the twin's scalar step."""
    import torch

    from battery_fmu.ops import numpy_ops, torch_ops

    params = load_cell()
    socs, currents = np.array([0.1, 0.45, 0.9]), np.array([-150.0, 20.0, 0.0])
    temps = np.array([290.0, 305.0, 315.0])
    expected = [step(params, CellState(s, 1e-3, -2e-3, 0.01, t, t - 1.0), StepInputs(i, 300.0), 120.0)
                for s, i, t in zip(socs, currents, temps)]
    batch = step(params, CellState(socs, 1e-3, -2e-3, 0.01, temps, temps - 1.0), StepInputs(currents, 300.0),
                 120.0, numpy_ops())
    for k, one in enumerate(expected):
        for part in ("state", "means", "limits"):
            got = [np.asarray(v)[k] if np.ndim(v) else v for v in getattr(batch, part)]
            assert got == pytest.approx(list(getattr(one, part)), rel=1e-12, abs=1e-15), part
    def t(value):
        return torch.tensor(value, dtype=torch.float64)

    current = torch.tensor(-150.0, dtype=torch.float64, requires_grad=True)
    x = CellState(t(0.1), t(1e-3), t(-2e-3), t(0.01), t(290.0), t(289.0))
    result = step(params, x, StepInputs(current, 300.0), 120.0, torch_ops())
    assert [float(v.detach()) for v in result.state] == pytest.approx(list(expected[0].state), rel=1e-12)
    result.state.soc.backward()
    assert float(current.grad) == pytest.approx(-120.0 / params.capacity, rel=1e-12)  # dSOC/dI = -dt/Q

"""The MPC's optimiser finds the optimum of its program: against brute force over a grid of currents, and the
first-order (KKT) conditions at the plan it returns.

A DC fast charge over two 10-minute intervals from SOC 0.3: the time short of the target against the
predicted fade and losses, with an optimum inside the current range (neither off nor at the limit), so
that it is the trade-off that decides it. The brute force evaluates the program's own objective and
constraints (:meth:`control.mpc_problem.ChargingProblem.program`) on states simulated from each pair of
currents, so its points satisfy the dynamics exactly.
"""

import casadi as ca
import numpy as np
import pytest

from control.mpc_problem import ChargingProblem
from control.prediction import PredictionModel, pack_parameters

X0 = [0.3, 0.0, 0.0, 0.0, 298.15, 298.15]
DTS = np.array([600.0, 600.0])
LIMITS = {"current_max": 220.0, "power_max": 150e3, "v_max": 3.6, "t_max": 330.0, "soc_max": 0.95}
PARAMS = {"T_ambient": 298.15, "soh": 1.0, "r_factor": 1.0, "q_cal": 0.01, "q_cyc": 0.002, "dod": 0.5,
          "crate": 0.0, "target": 0.8, "u_previous": 0.0, "efficiency": 0.93, "degradation_weight": 2600.0,
          "loss_weight": 1.0, "time_weight": 100.0, "slack_weight": 0.0}


@pytest.fixture(scope="module")
def solved():
    model = PredictionModel(pack_parameters(), 106, 1)
    problem = ChargingProblem(model, intervals=2, crate_from_current=True)
    solution = problem.solve(X0, DTS, LIMITS, PARAMS, np.array([100.0, 100.0]), time_budget=10.0)
    assert solution.success, solution.status
    return model, problem, solution


def grid_costs(model, problem, pvec, u1, u2):
    """The program's objective at every pair of currents (u1[i], u2[j]) [A], +inf where a limit is broken."""
    U1, U2 = np.meshgrid(u1, u2, indexing="ij")
    k = U1.size
    step = model.function(crate_from_current=True).map(k)
    common = [DTS[0], *(PARAMS[k] for k in ("T_ambient", "soh", "r_factor", "q_cal", "q_cyc", "dod", "crate"))]
    x1 = step(np.asarray(X0), U1.reshape(1, -1), *common)[0]
    common[0] = DTS[1]
    x2 = step(x1, U2.reshape(1, -1), *common)[0]
    x1, x2 = np.asarray(x1), np.asarray(x2)
    w = problem.variables(np.vstack([U1.ravel(), U2.ravel()]), np.stack([x1, x2], axis=1))
    f, g = problem.program().map(k)(w, pvec)
    f, g = np.asarray(f).ravel(), np.asarray(g)
    n = problem.n
    voltages, powers = g[6 * n : 7 * n], g[7 * n : 8 * n] * 1e3
    ok = (voltages <= LIMITS["v_max"]).all(axis=0) & (powers <= LIMITS["power_max"]).all(axis=0)
    ok &= (x2[4] <= LIMITS["t_max"]) & (x2[0] <= LIMITS["soc_max"])
    return np.where(ok, f, np.inf).reshape(U1.shape)


def test_ipopt_finds_the_brute_force_optimum(solved):
    model, problem, solution = solved
    pvec = solution.raw["p"]
    # The plan is interior: the trade-off decides it, not a bound.
    assert 5.0 < solution.current[0] < 215.0 and 5.0 < solution.current[1] < 215.0
    # The plan's cost on exactly simulated states (IPOPT's own states meet the dynamics to its tolerance).
    states = problem.simulate(X0, solution.current, DTS, PARAMS)
    planned = float(problem.program()(problem.variables(solution.current, states), pvec)[0])

    coarse = np.linspace(0.0, 220.0, 45)  # 5 A apart
    costs = grid_costs(model, problem, pvec, coarse, coarse)
    i, j = np.unravel_index(np.argmin(costs), costs.shape)
    assert planned <= costs.min() + 1e-9 * abs(planned)
    # Around the grid's best point, a grid 0.1 A apart: the plan lies within one of its spacings.
    fine1 = np.linspace(coarse[i] - 5.0, coarse[i] + 5.0, 101).clip(0.0, 220.0)
    fine2 = np.linspace(coarse[j] - 5.0, coarse[j] + 5.0, 101).clip(0.0, 220.0)  # 0.1 A apart
    fine = grid_costs(model, problem, pvec, fine1, fine2)
    a, b = np.unravel_index(np.argmin(fine), fine.shape)
    assert planned <= fine.min() + 1e-9 * abs(planned)
    assert solution.current == pytest.approx([fine1[a], fine2[b]], abs=0.15)


def test_the_plan_meets_the_first_order_conditions(solved):
    _, problem, solution = solved
    raw = solution.raw
    w_sym = ca.MX.sym("w", len(raw["w"]))
    f, g = problem.program()(w_sym, raw["p"])
    derivatives = ca.Function("d", [w_sym], [ca.gradient(f, w_sym), ca.jacobian(g, w_sym), g])
    grad, jac, g_val = (np.asarray(v) for v in derivatives(raw["w"]))
    grad, g_val = grad.ravel(), g_val.ravel()
    lam_x, lam_g = raw["lam_x"], raw["lam_g"]
    # Stationarity of the Lagrangian: grad f + J' lam_g + lam_x = 0.
    residual = grad + jac.T @ lam_g + lam_x
    assert np.max(np.abs(residual)) <= 1e-6 * max(1.0, np.max(np.abs(grad)))
    # Primal feasibility, and complementarity: a multiplier only where its bound is active, with the sign
    # of that bound (positive on an upper bound, negative on a lower one).
    w = raw["w"]
    assert np.all(g_val >= raw["lbg"] - 1e-6) and np.all(g_val <= raw["ubg"] + 1e-6)
    assert np.all(w >= raw["lbx"] - 1e-8) and np.all(w <= raw["ubx"] + 1e-8)
    checks = ((w, lam_x, raw["lbx"], raw["ubx"]), (g_val, lam_g, raw["lbg"], raw["ubg"]))
    for values, lam, lower, upper in checks:
        active = np.abs(lam) > 1e-6
        at_upper = np.abs(values - upper) <= 1e-5 * np.maximum(1.0, np.abs(upper))
        at_lower = np.abs(values - lower) <= 1e-5 * np.maximum(1.0, np.abs(lower))
        assert np.all(~active | (lam > 0) & at_upper | (lam < 0) & at_lower)
    # The currents are interior, so their multipliers vanish: the objective is flat along them there.
    assert np.all(np.abs(lam_x[: problem.n]) <= 1e-6)


def test_a_tariff_plan_keeps_its_off_intervals_off_side():
    """A Friday evening's plan with the experiment's tariff (plugged in 18:20, 15.5 h to the departure):
    most intervals are off. At zero current the cell step changes side (the hysteresis target's branch),
    so a current a hair under zero (IPOPT relaxes bounds by 1e-8) put the Newton steps on a derivative
    that jumps; the plan's currents stay at or above their floor, never negative."""
    from control.charge_need import Tariff
    from control.mpc_scaling import CURRENT_FLOOR

    model = PredictionModel(pack_parameters("lfp_220ah", 178.36), 106, 1)
    problem = ChargingProblem(model, intervals=24)
    dts = np.full(24, 2325.0)
    ends = 18 * 3600 + 1200 + np.cumsum(dts)
    tariff = Tariff({"00:00": 0.08, "06:00": 0.15, "16:00": 0.35, "21:00": 0.15})
    prices = np.array([tariff.mean(e - d, e) for e, d in zip(ends, dts, strict=True)])
    x0 = [0.4838, 0.0, 0.0, -0.0152, 294.90, 294.94]
    limits = {"current_max": 115.9, "power_max": 7400.0, "v_max": 3.65, "t_max": 318.15, "soc_max": 0.7363}
    params = {**PARAMS, "T_ambient": 295.35, "soh": 0.9987, "q_cal": 0.001, "q_cyc": 2.5e-5, "dod": 0.25,
              "crate": 0.021, "target": 0.7363, "efficiency": 0.9086, "time_weight": 0.0, "slack_weight": 1e5,
              "tariff_weight": 1.0 / 0.15, "prices": prices}
    guess = np.zeros(24)
    guess[-4:] = [7.8, 20.6, 20.6, 20.6]
    solution = problem.solve(x0, dts, limits, params, guess, time_budget=60.0)
    assert solution.success, solution.status
    # IPOPT's relaxation moves the floor by 1e-8 of the current scale (1e-6 A): still above zero.
    assert solution.current.min() > 0.0 and solution.current.min() >= CURRENT_FLOOR - 1e-6
    assert solution.soc_end >= 0.7363 - 1e-5
    # The charge is bought where the price is lowest (00:00-06:00) rather than at the dearest hours.
    charge = solution.current * dts
    assert charge[prices >= 0.35].sum() < 1e-3 * charge.sum()

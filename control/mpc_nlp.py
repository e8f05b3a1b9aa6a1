"""Building the MPC's nonlinear program: multiple shooting over N intervals, as CasADi SX.

Decision variables: the pack charge current of each interval ``U_k`` [A] (piecewise constant),
the cell states at each interval end ``X_k`` (:data:`control.prediction.STATES`) and a slack for
the target, all scaled to order one (:mod:`control.mpc_scaling`). Everything that changes from one
solve to the next is a parameter (:data:`control.mpc_scaling.PARAMETERS`) or a bound. The program is
solved by :class:`control.mpc_problem.ChargingProblem`.
"""

from __future__ import annotations

from control.mpc_scaling import NX, PARAMETERS, POWER_SCALE, STATE_OFFSET, STATE_SCALE
from control.prediction import AgingContext, PredictionModel


def build_nlp(
    model: PredictionModel, n: int, crate_from_current: bool, smoothing: float, current_scale: float
) -> tuple[dict, object]:
    """The program ``{"x": w, "p": p, "f": objective, "g": constraints}`` and the CasADi Function
    ``fade(w, p)`` of the predicted capacity loss over the horizon [1]."""
    import casadi as ca

    from battery_fmu.ops import casadi_ops

    ops = casadi_ops()
    p = ca.SX.sym("p", NX + 2 * n + len(PARAMETERS))
    x0 = p[:NX]
    dts = p[NX : NX + n]
    prices = p[NX + n : NX + 2 * n]  # mean grid price of each interval [per kWh]
    par = {name: p[NX + 2 * n + k] for k, name in enumerate(PARAMETERS)}
    # Decision variables are scaled to order one: U = current_scale * zu, X = offset + scale * zx.
    zu = ca.SX.sym("zu", n)
    zx = ca.SX.sym("zx", NX, n)
    slack = ca.SX.sym("slack")
    u = zu * float(current_scale)
    xs = ca.repmat(ca.DM(STATE_OFFSET), 1, n) + ca.repmat(ca.DM(STATE_SCALE), 1, n) * zx
    aging = AgingContext(
        par["q_cal"], par["q_cyc"], par["dod"], None if crate_from_current else par["crate"]
    )

    defects, voltages, powers, (fade, heat, charger_loss, shortfall, smooth, growth, bill) = stages(
        model, ops, x0, xs, u, dts, par, aging, current_scale, prices
    )
    objective = (
        par["degradation_weight"] * 100.0 * fade
        + par["resistance_weight"] * 100.0 * growth
        + par["tariff_weight"] * bill
        + par["loss_weight"] * (heat + charger_loss) / 3.6e6
        + par["time_weight"] * shortfall
        + par["slack_weight"] * slack
        + smoothing * smooth
    )
    g = ca.vertcat(*defects, *voltages, *powers, xs[0, n - 1] + slack)
    w = ca.vertcat(zu, ca.vec(zx), slack)
    return {"x": w, "p": p, "f": objective, "g": g}, ca.Function("fade", [w, p], [fade])


def stages(model, ops, x0, xs, u, dts, par, aging, current_scale, prices):
    """Per interval: the defects of the multiple shooting, the end voltages and pack powers; and the
    objective's sums (fade [1], battery heat [J], charger loss [J], SOC-hours short, smoothing,
    calendar resistance growth [1], grid energy times its price [currency])."""
    import casadi as ca

    from battery_fmu.equations import calendar_resistance_rate

    n, cells, ns = u.shape[0], model.cells, model.n_series
    defects, voltages, powers = [], [], []
    fade = heat = charger_loss = shortfall = smooth = growth = bill = 0.0
    x_prev = [x0[k] for k in range(NX)]
    u_prev = par["u_previous"]
    # Table look-ups once per node, from the node's own variables (shared by the two intervals at it).
    nodes = [model.node(x0[0], x0[4], ops, par["r_factor"])]
    nodes += [model.node(xs[0, k], xs[4, k], ops, par["r_factor"]) for k in range(n)]
    for k in range(n):
        dt = dts[k]
        out = model.interval(x_prev, u[k], dt, par["T_ambient"], par["soh"], aging, ops, par["r_factor"],
                             start=nodes[k], end=nodes[k + 1])
        defects.append((ca.vertcat(*out.state) - xs[:, k]) / ca.DM(STATE_SCALE))
        voltages.append(out.voltage_end)
        powers.append(u[k] * ns * out.voltage_end / POWER_SCALE)
        fade = fade + out.fade_calendar + out.fade_cycle
        heat = heat + out.heat_loss * cells
        charger_loss = charger_loss + out.terminal_energy * cells * (1.0 / par["efficiency"] - 1.0)
        # The twin's calendar resistance law at the interval's mid SOC and temperature.
        soc_mid, t_mid = 0.5 * (x_prev[0] + xs[0, k]), 0.5 * (x_prev[4] + xs[4, k])
        growth = growth + calendar_resistance_rate(t_mid, soc_mid, model.p, ops) * dt
        bill = bill + prices[k] * out.terminal_energy * cells / par["efficiency"] / 3.6e6
        shortfall = shortfall + dt * (par["target"] - xs[0, k]) / 3600.0
        smooth = smooth + ((u[k] - u_prev) / current_scale) ** 2
        x_prev = [xs[j, k] for j in range(NX)]
        u_prev = u[k]
    return defects, voltages, powers, (fade, heat, charger_loss, shortfall, smooth, growth, bill)

"""The battery twin's step as CasADi functions, for C code generation (the native FMU).

Each function is the twin's own code evaluated on CasADi symbols: :func:`battery_fmu.step.lookups`,
:func:`~battery_fmu.step.limits` and :func:`~battery_fmu.step.advance` with the CasADi backend,
:class:`battery_fmu.model.BatteryPack`'s power solve and clamp around them, the equations of its
rest sub-steps, and the aging model's rate expressions and chunk laws
(:class:`battery_fmu.aging.AgingModel`). Branches on values become ``if_else``; what depends only on
the parameter set (the thermal network's eigenvalues, the boundary conductance) is a number.

The functions (all per cell, SI units):

``step(x[6], rf, cap, dt, p_load, i_charge, t_ambient, t_coolant, cells, n_parallel)``
    -> ``(x_new[6], current, voltage, heat, t_cell_mean, t_housing_mean, t_boundary, r1, r2)``
``prepare(x[6], rf, cap, dt)`` -> ``(ocv, i_discharge_max, i_charge_max, p_discharge_max, p_charge_max)``
``rest(t_cell, t_housing, v1, v2, r1, r2, h, t_boundary)``
    -> ``(v1, v2, heat, t_cell_mid, t_housing_mid, t_cell, t_housing)``
``aging(a[19], dt, soc_start, soc_end, temperature, current, v[4])`` -> ``a_new[19]``
``aging_outputs(a[19], v[4])`` -> ``(soh_capacity, soh_resistance, resistance_factor, soh_committed)``

``x`` = (soc, v1, v2, hysteresis, t_cell, t_housing); ``a`` = the aging model's state in the order of
:data:`AGING_STATE`; ``v`` = the manufacturing factors (capacity, calendar, cycle, resistance).
"""

from __future__ import annotations

from typing import Any

from battery_fmu import equations as eq
from battery_fmu import step as shared
from battery_fmu.aging import AgingModel
from battery_fmu.ops import casadi_ops
from battery_fmu.step import CellState

#: The aging model's state, as the generated code holds it (:attr:`AgingModel._STATE`).
AGING_STATE = AgingModel._STATE
_A = {name: i for i, name in enumerate(AGING_STATE)}
_SECONDS_PER_DAY = 86400.0


def build_functions(p, coolant_connected: bool, suffix: str = "") -> dict[str, Any]:
    """The CasADi functions of the cell ``p`` (LFP aging laws) with the housing's boundary as given;
    ``suffix`` (``air``, ``coolant``) tells the boundary's functions apart in the generated code."""
    import casadi as ca

    if p.chemistry != "LFP":
        raise ValueError(f"the native FMU generates the LFP aging laws; {p.chemistry} is not generated yet")
    ops = casadi_ops()
    sym = ca.SX.sym
    kb, _ = shared.boundary(p, 0.0, 0.0, coolant_connected)
    x = sym("x", 6)
    rf, cap, dt = sym("rf"), sym("cap"), sym("dt")
    state = CellState(*[x[i] for i in range(6)])
    k = shared.constants(p, dt, kb, ops)

    def prepared(st):
        look = shared.lookups(p, st.soc, st.t_cell, rf, ops)
        emf = shared.electromotive(st, look, k)
        return look, shared.limits(p, st, look, k, cap, ops, emf), emf

    funcs = {}
    look, lim, (e, r_rc) = prepared(state)
    tag = f"_{suffix}" if suffix else ""
    funcs["prepare"] = ca.Function(
        f"battery_prepare{tag}",
        [x, rf, cap, dt],
        [look.ocv, lim.current_discharge, lim.current_charge, lim.power_discharge, lim.power_charge],
    )
    funcs["step"] = _step_function(
        ca, p, ops, x, rf, cap, dt, state, look, lim, e, r_rc, k, coolant_connected, tag
    )
    funcs["rest"] = _rest_function(ca, p, ops, kb, tag)
    model = AgingModel(p)
    funcs["aging"] = _aging_function(ca, p, ops, model)
    funcs["aging_outputs"] = _aging_outputs_function(ca, p, ops)
    return funcs


def _step_function(ca, p, ops, x, rf, cap, dt, state, look, lim, e, r_rc, k, coolant_connected, tag):
    """:meth:`BatteryPack.step` up to the rest branch: the power solved for a current, clamped, advanced."""
    sym = ca.SX.sym
    p_load, i_charge_pack, t_ambient, t_coolant = (
        sym("p_load"),
        sym("i_charge"),
        sym("t_ambient"),
        sym("t_coolant"),
    )
    cells, n_parallel = sym("cells"), sym("n_parallel")
    p_cell = p_load / cells
    i_charge = i_charge_pack / n_parallel
    charging = ca.logic_or(p_cell < 0.0, i_charge * look.ocv > p_cell)
    r_eff = ca.if_else(charging, look.r0_charge, look.r0_discharge) + r_rc
    b = e + r_eff * i_charge
    disc = b * b - 4.0 * r_eff * p_cell
    i_vehicle = ca.if_else(disc > 0.0, 2.0 * p_cell / (b + ca.sqrt(ca.fmax(disc, 0.0))), b / (2.0 * r_eff))
    current = i_vehicle - i_charge
    current = ca.if_else(
        current > lim.current_discharge,
        lim.current_discharge,
        ca.if_else(current < -lim.current_charge, -lim.current_charge, current),
    )
    _, t_boundary = shared.boundary(p, t_ambient, t_coolant, coolant_connected)
    new, means = shared.advance(p, state, look, k, current, t_boundary, cap, ops)
    outputs = [
        ca.vertcat(*new),
        current,
        means.voltage,
        means.heat,
        means.t_cell,
        means.t_housing,
        t_boundary,
        look.r1,
        look.r2,
    ]
    return ca.Function(
        f"battery_step{tag}",
        [x, rf, cap, dt, p_load, i_charge_pack, t_ambient, t_coolant, cells, n_parallel],
        outputs,
    )


def _rest_function(ca, p, ops, kb, tag):
    """One rest sub-step of :meth:`BatteryPack._rest`: the RC pairs emptying, the heat, the temperatures."""
    sym = ca.SX.sym
    tc, th, v1, v2, r1, r2, h, tb = (sym(n) for n in ("tc", "th", "v1", "v2", "r1", "r2", "h", "tb"))
    w1 = eq.rc_voltage_after(v1, 0.0, r1, eq.rc_decay(h, p.tau1, ops))
    w2 = eq.rc_voltage_after(v2, 0.0, r2, eq.rc_decay(h, p.tau2, ops))
    heat = eq.rc_step_heat(v1, w1, 0.0, r1, p.tau1, 0.0, h) + eq.rc_step_heat(v2, w2, 0.0, r2, p.tau2, 0.0, h)
    steady = eq.thermal_steady_state(heat, tb, kb, p)
    half = eq.thermal_transition(0.5 * h, kb, p, ops)
    tc_mid, th_mid = eq.thermal_after(tc, th, *steady, half)
    tc_new, th_new = eq.thermal_after(tc_mid, th_mid, *steady, half)
    return ca.Function(
        f"battery_rest{tag}", [tc, th, v1, v2, r1, r2, h, tb], [w1, w2, heat, tc_mid, th_mid, tc_new, th_new]
    )


def _increments(ca, p, ops, a, v):
    """:meth:`AgingModel._chunk_increments` on symbols: (dq_cal, dq_cyc, dr_cyc)."""
    ag = p.aging
    t = a[_A["c_time"]]
    safe_t = ca.fmax(t, 1e-300)
    dod = a[_A["c_soc_max"]] - a[_A["c_soc_min"]]
    crate = a[_A["c_crate"]] / safe_t
    k_cal = a[_A["c_kcal"]] / safe_t * v[1]
    k_cyc = eq.cycle_rate(dod, crate, a[_A["c_ftemp"]] / safe_t, p) * v[2]
    efc = a[_A["c_efc"]]
    dq_cal = _power_law_increment(ca, ops, a[_A["q_cal"]], t / _SECONDS_PER_DAY, k_cal, ag.pcal)
    dq_cyc = ca.if_else(efc > 0.0, _power_law_increment(ca, ops, a[_A["q_cyc"]], efc, k_cyc, ag.pcyc), 0.0)
    dr_cyc = eq.cycle_resistance_per_efc(crate, dod, p, ops) * efc * v[3]
    zero = t <= 0.0
    return (ca.if_else(zero, 0.0, dq_cal), ca.if_else(zero, 0.0, dq_cyc), ca.if_else(zero, 0.0, dr_cyc))


def _power_law_increment(ca, ops, y, dx, k, exponent):
    """:func:`battery_fmu.equations.power_law_increment`, its branch on ``y == 0`` as ``if_else``."""
    first = ca.if_else(dx > 0.0, k * ca.power(ca.fmax(dx, 0.0), exponent), 0.0)
    later = eq.power_law_slope(ca.if_else(y == 0.0, k, y), k, exponent, ops) * dx
    return ca.if_else(y == 0.0, first, later)


def _closed(ca, p, ops, a, v, soc):
    """:meth:`AgingModel.close_chunk` at ``soc``: the open chunk committed and a new one opened."""
    dq_cal, dq_cyc, dr_cyc = _increments(ca, p, ops, a, v)
    out = list(a)
    out[_A["q_cal"]] = a[_A["q_cal"]] + dq_cal
    out[_A["q_cyc"]] = a[_A["q_cyc"]] + dq_cyc
    out[_A["r_cyc"]] = a[_A["r_cyc"]] + dr_cyc
    out[_A["efc"]] = a[_A["efc"]] + a[_A["c_efc"]]
    out[_A["time"]] = a[_A["time"]] + a[_A["c_time"]]
    for name in (
        "c_time",
        "c_efc",
        "c_kcal",
        "c_ftemp",
        "c_crate",
        "c_temp",
        "c_direction",
        "c_charge_time",
        "c_charge_crate",
        "c_discharge_time",
        "c_discharge_crate",
    ):
        out[_A[name]] = 0.0
    out[_A["c_soc_min"]] = out[_A["c_soc_max"]] = soc
    return out


def _choose(ca, cond, yes, no):
    return [ca.if_else(cond, y, n) for y, n in zip(yes, no, strict=True)]


def _aging_function(ca, p, ops, model: AgingModel):
    """:meth:`AgingModel.advance` on symbols (a step with ``dt > 0``)."""
    sym = ca.SX.sym
    a_in, v = sym("a", len(AGING_STATE)), sym("v", 4)
    dt, soc_start, soc_end, temperature, current = (sym(n) for n in ("dt", "soc_start", "soc_end", "T", "I"))
    ag = p.aging
    a = [a_in[i] for i in range(len(AGING_STATE))]
    direction = ca.if_else(soc_end > soc_start, 1.0, ca.if_else(soc_end < soc_start, -1.0, 0.0))
    c_dir = a[_A["c_direction"]]
    turning = ca.logic_and(ca.logic_and(direction != 0.0, c_dir != 0.0), direction != c_dir)
    a = _choose(
        ca, ca.logic_and(turning, a[_A["c_efc"]] > ag.chunk_efc), _closed(ca, p, ops, a, v, soc_start), a
    )
    a[_A["c_direction"]] = ca.if_else(direction != 0.0, direction, a[_A["c_direction"]])
    k_cal, factor, resistance_rate = model._rate_expressions(ops, 0.5 * (soc_start + soc_end), temperature)
    a[_A["c_kcal"]] = a[_A["c_kcal"]] + k_cal * dt
    a[_A["c_ftemp"]] = a[_A["c_ftemp"]] + factor * dt
    a[_A["r_cal"]] = a[_A["r_cal"]] + resistance_rate * v[3] * dt
    a[_A["c_temp"]] = a[_A["c_temp"]] + temperature * dt
    abs_current = ca.fabs(current)
    flowing = abs_current > 0.0
    a[_A["c_efc"]] = a[_A["c_efc"]] + ca.if_else(flowing, abs_current * dt / (2.0 * p.capacity), 0.0)
    floor = ag.crate_floor * p.capacity / 3600.0 * v[0] * (1.0 - a[_A["q_cal"]] - a[_A["q_cyc"]])
    counted = ca.logic_and(flowing, abs_current >= floor)
    crate_dt = abs_current * 3600.0 / p.capacity * dt
    charge = ca.logic_and(counted, current < 0.0)
    discharge = ca.logic_and(counted, current >= 0.0)
    a[_A["c_crate"]] = a[_A["c_crate"]] + ca.if_else(counted, crate_dt, 0.0)
    a[_A["c_charge_time"]] = a[_A["c_charge_time"]] + ca.if_else(charge, dt, 0.0)
    a[_A["c_charge_crate"]] = a[_A["c_charge_crate"]] + ca.if_else(charge, crate_dt, 0.0)
    a[_A["c_discharge_time"]] = a[_A["c_discharge_time"]] + ca.if_else(discharge, dt, 0.0)
    a[_A["c_discharge_crate"]] = a[_A["c_discharge_crate"]] + ca.if_else(discharge, crate_dt, 0.0)
    lower = soc_end < a[_A["c_soc_min"]]
    a[_A["c_soc_max"]] = ca.if_else(
        ca.logic_and(ca.logic_not(lower), soc_end > a[_A["c_soc_max"]]), soc_end, a[_A["c_soc_max"]]
    )
    a[_A["c_soc_min"]] = ca.if_else(lower, soc_end, a[_A["c_soc_min"]])
    a[_A["c_time"]] = a[_A["c_time"]] + dt
    a = _choose(ca, a[_A["c_time"]] >= ag.chunk_time - 1e-6, _closed(ca, p, ops, a, v, soc_end), a)
    return ca.Function(
        "battery_aging", [a_in, dt, soc_start, soc_end, temperature, current, v], [ca.vertcat(*a)]
    )


def _aging_outputs_function(ca, p, ops):
    """AgingModel's ``soh_capacity``, ``soh_resistance``, ``resistance_factor``, ``soh_capacity_committed``"""
    sym = ca.SX.sym
    a_in, v = sym("a", len(AGING_STATE)), sym("v", 4)
    a = [a_in[i] for i in range(len(AGING_STATE))]
    dq_cal, dq_cyc, dr_cyc = _increments(ca, p, ops, a, v)
    q = a[_A["q_cal"]] + a[_A["q_cyc"]]
    resistance_factor = 1.0 + a[_A["r_cal"]] + a[_A["r_cyc"]]
    return ca.Function(
        "battery_aging_outputs",
        [a_in, v],
        [v[0] * (1.0 - q - dq_cal - dq_cyc), resistance_factor + dr_cyc, resistance_factor, v[0] * (1.0 - q)],
    )

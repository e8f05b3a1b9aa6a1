"""One step of a cell under constant current: the battery step, written once for every backend.

The twin (:class:`battery_fmu.model.BatteryPack`, Python floats), the MPC's prediction (CasADi
symbols), a physics-informed loss (torch tensors) and a state estimator (numpy or floats) all step
a cell with these functions; only the math backend ``ops`` (:mod:`battery_fmu.ops`) differs. Per
cell, SI units, current positive when discharging. Under constant current every fast state has an
exact update (:mod:`battery_fmu.equations`), so a step of any length is exact for SOC, the RC pairs,
the hysteresis and, under the step's mean heat, the two-node temperatures.

The one-call form::

    from battery_fmu.parameters import load_cell
    from battery_fmu.step import CellState, StepInputs, step

    p = load_cell("lfp_220ah", capacity_Ah=178.4)
    x = CellState(soc=0.5, v1=0.0, v2=0.0, hysteresis=0.0, t_cell=298.15, t_housing=298.15)
    result = step(p, x, StepInputs(current=-20.0, t_ambient=298.15), dt=60.0)
    result.state, result.means.voltage, result.limits.current_charge

:func:`step` is :func:`lookups` (table look-ups at the state), :func:`constants` (what depends only
on ``dt`` and the thermal boundary), :func:`limits` and :func:`advance`. Callers that decide the
current from the limits (the twin clamps a power request to them) or that share look-ups between
steps (the MPC looks each node up once) call the parts.

The twin calls these parts in their recorded form (:mod:`battery_fmu.step_compiled`): the same
operations as straight-line Python, identical results, about a quarter less time.

The capacity fade is not part of the step: the twin's aging model integrates it per chunk from the
step's means (:class:`battery_fmu.aging.AgingModel`), a controller in rate form
(:func:`battery_fmu.equations.fade_rates`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from battery_fmu import equations as eq
from battery_fmu.ops import SCALAR

#: Builds a result tuple without the generated ``__new__`` of a NamedTuple (a Python call with
#: argument parsing): the twin builds several per step, and this is a third of their cost.
_make = tuple.__new__

#: Direction hint for :func:`lookups`: the caller only ever charges (a charger's prediction).
CHARGE_ONLY = "charge"


class CellState(NamedTuple):
    """The fast states of a cell."""

    soc: Any  # state of charge [1], relative to the actual (aged) capacity
    v1: Any  # first RC pair's voltage [V]
    v2: Any  # second RC pair's voltage [V]
    hysteresis: Any  # hysteresis voltage [V]
    t_cell: Any  # cell temperature [K]
    t_housing: Any  # housing (second thermal node) temperature [K]


class StepInputs(NamedTuple):
    """What drives a step from outside, held constant over it."""

    current: Any  # cell current [A], positive discharging
    t_ambient: Any  # ambient temperature [K]
    t_coolant: Any = None  # coolant temperature [K]; None: ambient
    soh: Any = 1.0  # capacity relative to nominal [1] (the aging model's)
    resistance_factor: Any = 1.0  # resistance relative to new [1] (the aging model's)
    coolant_connected: bool = False  # whether the housing also exchanges heat with the coolant (a number)


class Lookups(NamedTuple):
    """Table look-ups and Arrhenius factors at a state; resistances include the aging factor."""

    ocv: Any  # open-circuit voltage [V]
    entropic: Any  # dU/dT [V/K]
    r0_charge: Any  # ohmic resistance while charging [Ohm]
    r0_discharge: Any  # ohmic resistance while discharging [Ohm]; None with CHARGE_ONLY
    r1: Any  # [Ohm]
    r2: Any  # [Ohm]


class StepConstants(NamedTuple):
    """What a step needs that depends only on its length and the thermal boundary (cacheable)."""

    dt: Any  # step length [s]
    decay1: Any  # exp(-dt / tau1)
    weight1: Any  # mean weight of the first RC pair (eq.rc_mean_weight)
    decay2: Any
    weight2: Any
    conductance_boundary: Any  # housing to ambient (+ coolant) [W/K]
    thermal: tuple  # exp(A dt) of the thermal network (m11, m12, m21, m22)


class Limits(NamedTuple):
    """The BMS limits for a step of the given length from a state (cell, >= 0)."""

    current_discharge: Any  # [A]; None with CHARGE_ONLY look-ups
    current_charge: Any  # [A]
    power_discharge: Any  # [W]; None with CHARGE_ONLY look-ups
    power_charge: Any  # [W]


class Means(NamedTuple):
    """Means over a step (a step's mean temperature and SOC are those of its two ends)."""

    voltage: Any  # terminal voltage, exact mean [V]
    heat: Any  # heat generated in the cell [W]: irreversible + reversible
    heat_irreversible: Any  # ohmic, RC Joule and hysteresis heat [W]
    t_cell: Any  # [K]
    t_housing: Any  # [K]
    soc: Any  # [1]


class StepResult(NamedTuple):
    state: CellState  # at the step's end
    means: Means  # over the step
    limits: Limits  # at the step's start, for a step of its length


def boundary(p, t_ambient, t_coolant=None, coolant_connected=False):
    """(conductance [W/K], temperature [K]) the housing exchanges heat with, per cell."""
    ka = p.conductance_housing_ambient
    if not coolant_connected:
        return ka, t_ambient
    kc = p.conductance_housing_coolant
    t_coolant = t_ambient if t_coolant is None else t_coolant
    return ka + kc, (ka * t_ambient + kc * t_coolant) / (ka + kc)


def constants(p, dt, conductance_boundary, ops=SCALAR) -> StepConstants:
    """The step-length constants: RC decays and mean weights, the thermal transition."""
    d1, d2 = eq.rc_decay(dt, p.tau1, ops), eq.rc_decay(dt, p.tau2, ops)
    a1, a2 = eq.rc_mean_weight(dt, p.tau1, d1), eq.rc_mean_weight(dt, p.tau2, d2)
    transition = eq.thermal_transition(dt, conductance_boundary, p, ops)
    return _make(StepConstants, (dt, d1, a1, d2, a2, conductance_boundary, transition))


def lookups(p, soc, t_cell, resistance_factor=1.0, ops=SCALAR, direction=None) -> Lookups:
    """The tables at ``soc`` [1] and ``t_cell`` [K]. ``direction=CHARGE_ONLY`` skips the discharge R0
    table for a caller that never discharges (it is then taken equal to the charge table's where a
    zero current multiplies it)."""
    r0_c, r0_d, r1, r2 = eq.resistances(soc, t_cell, p, ops, discharge=direction != CHARGE_ONLY)
    rf = resistance_factor
    entropic = ops.interp(p.entropic_coefficient, soc)
    return _make(Lookups, (eq.open_circuit_voltage(soc, t_cell, p, ops, entropic), entropic,
                           r0_c * rf, None if r0_d is None else r0_d * rf, r1 * rf, r2 * rf))


def electromotive(state: CellState, look: Lookups, k: StepConstants):
    """(e [V], r_rc [Ohm]): the step's mean terminal voltage is ``e - I (R0 + r_rc)`` under current I."""
    e = look.ocv + state.hysteresis - state.v1 * k.weight1 - state.v2 * k.weight2
    return e, look.r1 * (1.0 - k.weight1) + look.r2 * (1.0 - k.weight2)


def limits(p, state: CellState, look: Lookups, k: StepConstants, capacity, ops=SCALAR, emf=None) -> Limits:
    """Current and power limits [A, W] of a step of ``k.dt`` from ``state``: the rating times the
    temperature derating, the voltage window under the step's mean voltage, the SOC window.
    ``capacity`` [C] is the actual one; ``emf``: :func:`electromotive` when the caller has it."""
    e, r_rc = electromotive(state, look, k) if emf is None else emf
    fmin, fmax = ops.fmin, ops.fmax
    r_c = look.r0_charge + r_rc
    i_chg = fmax(fmin(fmin(p.current_max_charge * ops.interp(p.charge_derating, state.t_cell),
                           (p.voltage_max - e) / r_c), (1.0 - state.soc) * capacity / k.dt), 0.0)
    if look.r0_discharge is None:
        return _make(Limits, (None, i_chg, None, i_chg * (e + r_c * i_chg)))
    r_d = look.r0_discharge + r_rc
    i_dis = fmax(fmin(fmin(p.current_max_discharge * ops.interp(p.discharge_derating, state.t_cell),
                           (e - p.voltage_min) / r_d), state.soc * capacity / k.dt), 0.0)
    return _make(Limits, (i_dis, i_chg, i_dis * (e - r_d * i_dis), i_chg * (e + r_c * i_chg)))


def advance(p, state: CellState, look: Lookups, k: StepConstants, current, t_boundary, capacity,
            ops=SCALAR) -> tuple[CellState, Means]:
    """The state after a step of ``k.dt`` [s] at constant ``current`` [A], and the step's means.

    ``look``: :func:`lookups` at ``state``; ``t_boundary`` [K]: :func:`boundary`'s temperature;
    ``capacity`` [C]: the actual capacity. R0 is taken at the step's start, dU/dT and the
    hysteresis target at its mid SOC (exact where the magnitude is flat, second order elsewhere).
    The heat is the step's mean (the RC pairs' and the hysteresis' exact means), so the temperatures
    are exact for it; the terminal voltage takes the hysteresis at the step's start, which keeps a
    power request solvable in closed form (:meth:`battery_fmu.model.BatteryPack.step`).
    """
    soc, v1, v2, h, tc, th = state
    dt, d1, a1, d2, a2, kb, transition = k
    r1, r2 = look.r1, look.r2
    if look.r0_discharge is None:
        r0 = look.r0_charge
    else:
        r0 = ops.if_else(current < 0.0, look.r0_charge, look.r0_discharge)
    voltage = eq.terminal_voltage(look.ocv, h, current, r0,
                                  v1 * a1 + current * r1 * (1.0 - a1) + v2 * a2 + current * r2 * (1.0 - a2))
    v1_new = eq.rc_voltage_after(v1, current, r1, d1)
    v2_new = eq.rc_voltage_after(v2, current, r2, d2)
    rc_heat = (eq.rc_step_heat(v1, v1_new, current, r1, p.tau1, a1, dt)
               + eq.rc_step_heat(v2, v2_new, current, r2, p.tau2, a2, dt))
    soc_new = soc + eq.soc_derivative(current, capacity) * dt
    soc_mid = 0.5 * (soc + soc_new)
    target = eq.hysteresis_target(current, soc_mid, p, ops)
    x_h = eq.hysteresis_exponent(current, dt, capacity, p, ops)
    decay_h = ops.exp(-x_h)
    h_new = eq.hysteresis_after(h, target, decay_h)
    # The hysteresis heat at the exact mean of h: within a long step of high current h swings across.
    h_mean = eq.hysteresis_after(h, target, eq.relaxation_mean_weight(x_h, decay_h, ops))
    heat_irreversible = eq.irreversible_heat(current, r0, rc_heat, h_mean)
    # dU/dT at the mid SOC: it changes sign within the SOC a fast charge crosses in minutes.
    heat = heat_irreversible + eq.reversible_heat(current, tc, soc_mid, p, ops)
    tc_ss, th_ss = eq.thermal_steady_state(heat, t_boundary, kb, p)
    tc_new, th_new = eq.thermal_after(tc, th, tc_ss, th_ss, transition)
    return (_make(CellState, (soc_new, v1_new, v2_new, h_new, tc_new, th_new)),
            _make(Means, (voltage, heat, heat_irreversible, 0.5 * (tc + tc_new), 0.5 * (th + th_new),
                          soc_mid)))


def step(p, state: CellState, inputs: StepInputs, dt, ops=SCALAR) -> StepResult:
    """One step of ``dt`` [s]: the next state, the step's means and the limits at its start.

    ``p``: the cell's parameters (:func:`battery_fmu.parameters.load_cell`); ``state``:
    :class:`CellState`; ``inputs``: :class:`StepInputs`; ``ops``: the math backend. The current is
    applied as given: a caller that must respect the limits clamps it to ``limits`` first (see
    :meth:`battery_fmu.model.BatteryPack.step`) or constrains it (the MPC).
    """
    state = CellState(*state)
    kb, tb = boundary(p, inputs.t_ambient, inputs.t_coolant, inputs.coolant_connected)
    k = constants(p, dt, kb, ops)
    look = lookups(p, state.soc, state.t_cell, inputs.resistance_factor, ops)
    capacity = inputs.soh * p.capacity
    lim = limits(p, state, look, k, capacity, ops)
    new, means = advance(p, state, look, k, inputs.current, tb, capacity, ops)
    return StepResult(new, means, lim)

"""The battery pack model: identical cells, n_series x n_parallel, stepped under a power and a current request.

Per step of length ``dt`` the current is held constant (what the vehicle and the charger
ask for, within the limits). The cell's step is :mod:`battery_fmu.step`, the same functions
the MPC and the estimators call; this module adds the pack: the power request solved for a
current, clamped to the limits, the pack-level outputs, and the aging quadrature. Long rests
are sub-divided where the temperature moves, for the aging integrals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from battery_fmu import equations as eq
from battery_fmu.aging_laws import aging_model
from battery_fmu.parameters import CellParameters, load_parameters
from battery_fmu.step import CellState, boundary, constants
from battery_fmu.step_compiled import compile_step
from battery_fmu.variation import Variation

_sqrt = math.sqrt

#: Steps longer than this [s] with no current are sub-divided (:meth:`BatteryPack._rest`): beyond a minute the
#: RC pairs' heat falls noticeably within the step and the temperature moves enough for the aging rates'
#: exponential dependence on it.
REST_QUADRATURE_MIN_STEP = 60.0
#: The first rest sub-step [s]: the RC pairs empty with time constants of seconds to minutes.
REST_FIRST_SUBSTEP = 1.0
#: Growth factor of successive rest sub-steps: geometric, so a day's rest takes about fifty of them.
REST_SUBSTEP_GROWTH = 1.3
#: The longest rest sub-step as a fraction of the slow thermal time constant: Simpson's rule on the
#: exponential aging rates is then exact to well under 1e-6 of a day's fade.
REST_SUBSTEP_MAX_FRACTION = 0.05
#: A rest starts at REST_FIRST_SUBSTEP only while the RC pairs hold energy that could warm the cell by
#: this much [K]; otherwise nothing changes faster than the temperature and it starts at the longest sub-step.
REST_RC_HEAT_NEGLIGIBLE = 1e-4
#: Rest transitions kept per pack (sub-step lengths recur from rest to rest).
_TRANSITIONS_KEPT = 256


class RestSchedule(NamedTuple):
    """The sub-steps of a long rest (:meth:`BatteryPack._rest`): the first [s] (while the RC pairs hold
    energy), the growth factor of the next ones, the longest as a fraction of the slow thermal time
    constant."""

    first: float
    growth: float
    max_fraction: float


class InputError(ValueError):
    """A parameter or input the model cannot work with; the message names it."""


def cell_current(p_cell: float, i_charge: float, look, e: float, r_rc: float, lim) -> float:
    """A cell's battery current [A] (discharge positive) over a step under the vehicle's power ``p_cell``
    [W] and the charger's current ``i_charge`` [A], within the step's current limits ``lim``; ``look``,
    ``e`` [V] and ``r_rc`` [ohm] are the step's look-ups, mean source voltage and RC resistance."""
    # Vehicle current i_v from P = i_v (e - r_eff (i_v - i_charge)): the root nearer zero.
    # e - i r_eff is the mean terminal voltage over the step (exact for the RC pairs).
    charging = p_cell < 0.0 or i_charge * look.ocv > p_cell
    r_eff = (look.r0_charge if charging else look.r0_discharge) + r_rc
    b = e + r_eff * i_charge
    disc = b * b - 4.0 * r_eff * p_cell
    i_vehicle = 2.0 * p_cell / (b + _sqrt(disc)) if disc > 0.0 else b / (2.0 * r_eff)
    current = i_vehicle - i_charge
    if current > lim.current_discharge:
        return lim.current_discharge
    if current < -lim.current_charge:
        return -lim.current_charge
    return current


class BatteryPack:
    """A pack of identical cells with SOC, RC, hysteresis, two-node thermal and aging states.

    Parameters
    ----------
    params : CellParameters, optional
        Cell parameter set (default: the 220 Ah LFP cell).
    n_series, n_parallel : int
        Cells in series and in parallel.
    soc : float
        Initial state of charge [1], relative to the actual capacity.
    soh : float
        Initial relative capacity [1].
    temperature : float
        Initial cell and housing temperature [K].
    coolant_connected : bool
        Whether the housing also exchanges heat with ``t_coolant`` (a cooling loop) besides ambient.
    warn : callable, optional
        Receives out-of-range messages (aging model), once each.
    variation : Variation, optional
        This pack's manufacturing factors (capacity when new, aging-rate factors); nominal when omitted.
    """

    __slots__ = (
        "p", "n_series", "n_parallel", "coolant_connected", "aging",
        "soc", "v1", "v2", "hysteresis", "t_cell", "t_housing",
        # outputs of the last step (pack level unless noted)
        "current", "voltage", "power", "heat", "heat_to_ambient", "heat_to_coolant", "power_discharge_max",
        "power_charge_max",
        "current_charge_max", "current_discharge_max", "ocv", "power_request_unmet",
        "_constants", "_prep", "_compiled", "rest_schedule", "_transitions", "_native",
    )

    def __init__(self, params: CellParameters | None = None, n_series: int = 1, n_parallel: int = 1,
                 soc: float = 0.5, soh: float = 1.0, temperature: float = 298.15, coolant_connected: bool = False,
                 warn: Callable[[str], None] | None = None, variation: Variation | None = None):
        self.p = p = params or load_parameters()
        check_settings(n_series, n_parallel, soc, soh, temperature)
        self.n_series, self.n_parallel = int(n_series), int(n_parallel)
        self.coolant_connected = bool(coolant_connected)
        self.aging = aging_model(p, soh_capacity=soh, warn=warn, variation=variation)
        self.aging.reset_soc(soc)
        self.soc = float(soc)
        self.v1 = self.v2 = 0.0
        self.hysteresis = 0.0
        self.t_cell = self.t_housing = float(temperature)
        self._constants: dict = {}
        #: The sub-steps of long rests; None: the module's REST_* constants.
        self.rest_schedule: RestSchedule | None = None
        self._transitions: dict = {}
        # The shared step's look-ups, limits and update, compiled for this parameter set.
        self._compiled = compile_step(p)
        self._native = None  # step_series's C loop (battery_fmu.series_native): None until asked, False: none
        self.current = self.power = self.heat = self.power_request_unmet = 0.0
        self.heat_to_ambient = self.heat_to_coolant = 0.0
        self.ocv = eq.open_circuit_voltage(self.soc, self.t_cell, p)
        self.voltage = self.ocv * self.n_series
        self._prep = None
        self._prepare(1.0)

    # ------------------------------------------------------------------ the step

    def step(self, dt: float, power_load: float, current_charge: float, t_ambient: float,
             t_coolant: float | None = None) -> None:
        """Advance by ``dt`` [s].

        Parameters
        ----------
        dt : float
            Step length [s], > 0.
        power_load : float
            Power drawn at the pack terminals by the vehicle [W]; negative while regenerating.
        current_charge : float
            Current pushed into the pack by a charger [A], >= 0.
        t_ambient : float
            Ambient temperature [K].
        t_coolant : float, optional
            Coolant temperature [K], used when ``coolant_connected``.
        """
        ns, npar = self.n_series, self.n_parallel
        cells = ns * npar
        p_cell = power_load / cells
        i_charge = current_charge / npar
        prep = self._prep
        if prep is None or prep[2].dt != dt:
            prep = self._prepare(dt)
        state, look, k, lim, e, r_rc, cap = prep

        current = cell_current(p_cell, i_charge, look, e, r_rc, lim)

        kb, tb = boundary(self.p, t_ambient, t_coolant, self.coolant_connected)
        new, means = self._compiled.advance(state, look, k, current, tb, cap)
        soc, v1, v2, hysteresis, t_cell, t_housing = new
        voltage, heat, _, t_cell_mean, t_housing_mean, _ = means
        if current == 0.0 and dt > REST_QUADRATURE_MIN_STEP:
            # The twin's refinement of the shared step: the RC heat as it falls within the rest.
            heat, t_housing_mean = self._rest(dt, kb, tb, state, look)
        else:
            self.aging.advance(dt, state.soc, soc, t_cell_mean, current)
            self.t_cell, self.t_housing = t_cell, t_housing
        self.soc, self.v1, self.v2, self.hysteresis = soc, v1, v2, hysteresis
        self._housing_flows(t_housing_mean, t_ambient, t_coolant if t_coolant is not None else t_ambient)
        self.current = current * npar
        self.voltage = voltage * ns
        self.power = voltage * current * cells
        self.power_request_unmet = power_load - (current + i_charge) * voltage * cells
        self.heat = heat * cells
        self._prepare(dt)

    def step_series(self, dt: float, powers, floors, current_charge: float, t_ambient: float,
                    t_coolant: float | None = None, ceilings=None) -> tuple[list, list, list, list, list]:
        """Steps of ``dt`` [s] under the power loads ``powers`` [W] in turn, bit for bit as many calls of
        :meth:`step` with the same charge current and temperatures; for a caller that knows a stretch of
        its load ahead (a vehicle on its drive cycle).

        Before step ``k`` it stops if ``floors[k]`` [W], the lowest power the load draws within that step,
        is below ``-power_charge_max`` (the load would have been limited by the charge power the pack
        accepts now, so it has to be worked out again), or ``ceilings[k]`` [W] (optional), the highest,
        above ``power_discharge_max`` (the load would have been limited by what the pack delivers).
        Returns the pack's SOC [1], current [A], voltage [V], cell temperature [K] and equivalent full
        cycles after each step taken. The loop runs in C where gcc is at hand
        (:mod:`battery_fmu.series_native`), with the same results.
        """
        if ceilings is None:
            ceilings = [-math.inf] * len(powers)
        out = ([], [], [], [], [])
        if dt > REST_QUADRATURE_MIN_STEP:  # the rests of a long step: step by step
            for power, floor, ceiling in zip(powers, floors, ceilings):
                if floor < -self.power_charge_max or ceiling > self.power_discharge_max:
                    break
                self.step(dt, power, current_charge, t_ambient, t_coolant)
                self._append(out)
            return out
        if self._native is None:
            from battery_fmu import series_native

            self._native = series_native.for_pack(self) or False
        if self._native:
            from battery_fmu.series_native import step_series

            return step_series(self, self._native, dt, powers, floors, current_charge, t_ambient, t_coolant,
                               ceilings)
        from battery_fmu.series_python import step_series_python

        step_series_python(self, dt, powers, floors, ceilings, current_charge, t_ambient, t_coolant, out)
        return out

    def _finish_series(self, power_load, current, i_charge, voltage, heat, t_housing_mean, t_ambient,
                       t_coolant) -> None:
        """The state and outputs after :meth:`step_series`'s last step, as :meth:`step` and :meth:`_prepare`
        set them (per cell: ``current``, ``i_charge`` [A], ``voltage`` [V], ``heat`` [W]; ``power_load`` [W])."""
        state, look, _, lim, _, _, _ = self._prep
        ns, npar = self.n_series, self.n_parallel
        cells = ns * npar
        self.soc, self.v1, self.v2, self.hysteresis, self.t_cell, self.t_housing = state
        self._housing_flows(t_housing_mean, t_ambient, t_coolant if t_coolant is not None else t_ambient)
        self.current = current * npar
        self.voltage = voltage * ns
        self.power = voltage * current * cells
        self.power_request_unmet = power_load - (current + i_charge) * voltage * cells
        self.heat = heat * cells
        self.ocv = look.ocv
        self.power_discharge_max = lim.power_discharge * cells
        self.power_charge_max = lim.power_charge * cells
        self.current_discharge_max = lim.current_discharge * npar
        self.current_charge_max = lim.current_charge * npar

    def _append(self, out: tuple) -> None:
        """Add the present SOC, current, voltage, cell temperature and EFC to :meth:`step_series`'s lists."""
        for column, value in zip(out, (self.soc, self.current, self.voltage, self.t_cell, self.efc)):
            column.append(value)

    def _prepare(self, dt: float) -> tuple:
        """Everything a step of length ``dt`` needs from the present state, and the limit outputs.

        Computed at the end of each step from the new state, so the outputs describe the
        present and the next step of the same length starts from it without recomputing.
        """
        p = self.p
        state = tuple.__new__(CellState, (self.soc, self.v1, self.v2, self.hysteresis, self.t_cell, self.t_housing))
        k = self._constants.get(dt)
        if k is None:
            if len(self._constants) > 64:
                self._constants.clear()
            kb, _ = boundary(p, 0.0, 0.0, self.coolant_connected)
            k = self._constants[dt] = constants(p, dt, kb)
        cap = self.aging.soh_capacity_committed * p.capacity
        look, lim, e, r_rc = self._compiled.prepare(state, self.aging.resistance_factor, cap, k)
        cells = self.n_series * self.n_parallel
        self.ocv = look.ocv
        self.power_discharge_max = lim.power_discharge * cells
        self.power_charge_max = lim.power_charge * cells
        self.current_discharge_max = lim.current_discharge * self.n_parallel
        self.current_charge_max = lim.current_charge * self.n_parallel
        self._prep = prep = (state, look, k, lim, e, r_rc, cap)
        return prep

    def _rest(self, dt: float, kb: float, tb: float, state: CellState, look) -> tuple[float, float]:
        """Thermal and aging over a long rest (no current), in growing sub-steps; (mean heat [W],
        mean housing temperature [K]) per cell.

        With no current the only heat is the RC pairs emptying, which happens within minutes,
        while the temperature relaxes over hours; sub-steps that start at a second and grow
        geometrically follow both (the heat of each sub-step is the pairs' exact mean over it,
        the thermal transition exact under it), so one long rest equals many short ones. The
        aging integrals take Simpson's rule on the sub-steps.
        """
        p, aging, soc = self.p, self.aging, state.soc
        r1, r2 = look.r1, look.r2
        v1, v2 = state.v1, state.v2
        first, growth, fraction = self.rest_schedule or (REST_FIRST_SUBSTEP, REST_SUBSTEP_GROWTH,
                                                         REST_SUBSTEP_MAX_FRACTION)
        transitions = self._transitions
        if len(transitions) > _TRANSITIONS_KEPT:
            transitions.clear()
        _, slow = eq.thermal_time_constants(kb, p)
        h_max = max(first, fraction * slow)
        stored = 0.5 * (p.tau1 / r1 * v1 * v1 + p.tau2 / r2 * v2 * v2)  # energy in the RC pairs [J, cell]
        h = min(first if stored > REST_RC_HEAT_NEGLIGIBLE * p.cell_heat_capacity else h_max, dt)
        tc, th = state.t_cell, state.t_housing
        elapsed, heat_total, housing_integral = 0.0, 0.0, 0.0
        while elapsed < dt:
            # Never step across the aging model's chunk boundary: chunks close where short steps close them.
            h = min(h, dt - elapsed, aging.chunk_time_left)
            if dt - elapsed - h < 1e-9 * dt:
                h = dt - elapsed
            w1 = eq.rc_voltage_after(v1, 0.0, r1, eq.rc_decay(h, p.tau1))
            w2 = eq.rc_voltage_after(v2, 0.0, r2, eq.rc_decay(h, p.tau2))
            heat = (eq.rc_step_heat(v1, w1, 0.0, r1, p.tau1, 0.0, h)
                    + eq.rc_step_heat(v2, w2, 0.0, r2, p.tau2, 0.0, h))
            steady = eq.thermal_steady_state(heat, tb, kb, p)
            half = transitions.get((h, kb))  # applied twice: the midpoint, then the end (exact)
            if half is None:
                half = transitions[h, kb] = eq.thermal_transition(0.5 * h, kb, p)
            tc_mid, th_mid = eq.thermal_after(tc, th, *steady, half)
            tc_new, th_new = eq.thermal_after(tc_mid, th_mid, *steady, half)
            aging.advance(h / 6.0, soc, soc, tc, 0.0)
            aging.advance(4.0 * h / 6.0, soc, soc, tc_mid, 0.0)
            aging.advance(h - h / 6.0 - 4.0 * h / 6.0, soc, soc, tc_new, 0.0)
            housing_integral += 0.5 * (th + th_new) * h
            heat_total += heat * h
            tc, th, v1, v2 = tc_new, th_new, w1, w2
            elapsed += h
            h = min(h * growth, h_max)
        self.t_cell, self.t_housing = tc, th
        return heat_total / dt, housing_integral / dt

    def _housing_flows(self, t_housing_mean: float, t_ambient: float, t_coolant: float) -> None:
        """Heat leaving the housing to the air and to the coolant over a step [W, pack]."""
        p, cells = self.p, self.n_series * self.n_parallel
        self.heat_to_ambient = p.conductance_housing_ambient * (t_housing_mean - t_ambient) * cells
        self.heat_to_coolant = (p.conductance_housing_coolant * (t_housing_mean - t_coolant) * cells
                                if self.coolant_connected else 0.0)

    # ------------------------------------------------------------------ outputs and state

    @property
    def soh_capacity(self) -> float:
        """Relative capacity [1]."""
        return self.aging.soh_capacity

    @property
    def soh_resistance(self) -> float:
        """Resistance relative to new [1]."""
        return self.aging.soh_resistance

    @property
    def efc(self) -> float:
        """Equivalent full cycles [1] against nominal capacity."""
        return self.aging.total_efc

    _STATE = ("soc", "v1", "v2", "hysteresis", "t_cell", "t_housing", "current", "voltage", "power", "heat",
              "heat_to_ambient", "heat_to_coolant", "power_discharge_max", "power_charge_max", "current_charge_max",
              "current_discharge_max", "ocv", "power_request_unmet")

    def get_state(self) -> list:
        """Every number that determines the future and the current outputs (JSON-serialisable)."""
        return [getattr(self, k) for k in self._STATE] + [self.aging.get_state()]

    def set_state(self, state: list) -> None:
        for k, v in zip(self._STATE, state):
            setattr(self, k, v)
        self.aging.set_state(state[len(self._STATE)])
        self._prep = None


def check_settings(n_series, n_parallel, soc, soh, temperature) -> None:
    """Raise :class:`InputError` naming the first setting a pack cannot have."""
    checks = [
        ("n_series", n_series, n_series >= 1 and float(n_series).is_integer(), "an integer >= 1"),
        ("n_parallel", n_parallel, n_parallel >= 1 and float(n_parallel).is_integer(), "an integer >= 1"),
        ("SOC_init", soc, 0.0 <= soc <= 1.0, "within [0, 1]"),
        ("SOH_init", soh, 0.0 < soh <= 1.0, "within (0, 1]"),
        ("T_init", temperature, 200.0 <= temperature <= 400.0, "a temperature in K within [200, 400]"),
    ]
    for name, value, ok, expected in checks:
        if not (ok and math.isfinite(float(value))):
            raise InputError(f"{name} must be {expected}, got {value!r}")

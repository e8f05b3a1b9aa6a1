"""The MPC's prediction model: the battery twin's own step, over intervals of constant charge current.

Each interval is one call of the cell step of :mod:`battery_fmu.step` on the CasADi backend
(:func:`battery_fmu.ops.casadi_ops`), the function the twin steps with: SOC, the RC pairs, the
hysteresis, the terminal voltage and the two temperatures follow the twin to round-off for the
same current and step length (``tests/test_battery_drift.py``). What the MPC adds is its own:

- the cell voltage at an interval's end under its current (the voltage limit), from the look-ups
  at the end state (:func:`battery_fmu.equations.terminal_voltage`);
- the capacity fade in rate form (:func:`battery_fmu.equations.fade_rates`) at the interval's mean
  temperature and SOC, where the twin's aging model applies the same laws per chunk in closed form.

Each node's look-ups (:func:`battery_fmu.step.lookups`, charge tables only) are made once and
shared by the intervals on either side of it: the NLP's cost is dominated by those look-ups.

The pack is ``n_series`` x ``n_parallel`` identical cells. States: :data:`STATES` (SOC [1], V1 and
V2 [V], hysteresis [V], cell and housing temperature [K]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from battery_fmu import equations as eq
from battery_fmu.parameters import CellParameters, load_cell
from battery_fmu.ops import SCALAR
from battery_fmu.step import CHARGE_ONLY, CellState, Lookups, advance, boundary, constants, limits, lookups

STATES = CellState._fields


def pack_parameters(parameter_set: str = "lfp_220ah", capacity_Ah: float | None = None) -> CellParameters:
    """The cell parameters the battery twin uses for ``parameter_set`` at ``capacity_Ah`` [A h]."""
    return load_cell(parameter_set, capacity_Ah)


@dataclass(frozen=True)
class Interval:
    """What one interval predicts (per cell unless noted); values are CasADi expressions or floats."""

    state: tuple  # states at the end, in STATES order
    voltage_end: Any  # terminal voltage at the end, under the interval's current [V]
    heat_loss: Any  # irreversible heat over the interval [J]
    terminal_energy: Any  # energy into the cell at its terminals [J]
    fade_calendar: Any  # capacity lost to calendar aging [1]
    fade_cycle: Any  # capacity lost to cycle aging [1]
    voltage_mean: Any = None  # terminal voltage, mean over the interval [V] (the twin's V_terminal)
    end: Lookups | None = None  # look-ups at the end state, for the next interval


@dataclass(frozen=True)
class AgingContext:
    """Aging states and chunk stressors the fade rates need over a horizon (held constant in it).

    ``q_cal``, ``q_cyc``: fade so far [1]; ``dod``: the SOC range of the aging model's current chunk
    [1]; ``crate``: its C-rate stressor [1/h], or None for the interval's own C-rate.
    """

    q_cal: Any = 0.0
    q_cyc: Any = 0.0
    dod: Any = 1.0
    crate: Any = None


class PredictionModel:
    """A pack of identical cells, predicted interval by interval.

    Parameters
    ----------
    params : CellParameters
        The cell (already scaled to its capacity).
    n_series, n_parallel : int
        Cells in series and in parallel.
    coolant_connected : bool
        As the battery's parameter; the coolant is taken at ambient temperature (as scenarios wire it).
    """

    def __init__(
        self,
        params: CellParameters,
        n_series: int = 106,
        n_parallel: int = 1,
        coolant_connected: bool = False,
    ):
        self.p = params
        self.n_series, self.n_parallel = int(n_series), int(n_parallel)
        self.cells = self.n_series * self.n_parallel
        self.coolant_connected = bool(coolant_connected)
        self.conductance_boundary, _ = boundary(params, 0.0, 0.0, self.coolant_connected)

    def node(self, soc, t_cell, ops, resistance_factor=1.0) -> Lookups:
        """The look-ups at a state (charge tables: a charger never discharges the pack)."""
        return lookups(self.p, soc, t_cell, resistance_factor, ops, direction=CHARGE_ONLY)

    def charge_limit(self, x, dt: float, soh: float, resistance_factor: float = 1.0) -> float:
        """The BMS's charge-current limit [A, pack] for a step of ``dt`` [s] from the cell state ``x``
        (STATES order): :func:`battery_fmu.step.limits`, the twin's own (rating times temperature
        derating, voltage and SOC windows), with the relative capacity ``soh`` [1]."""
        state = CellState(*x)
        look = self.node(state.soc, state.t_cell, SCALAR, resistance_factor)
        k = constants(self.p, dt, self.conductance_boundary)
        return limits(self.p, state, look, k, soh * self.p.capacity).current_charge * self.n_parallel

    def interval(
        self,
        x,
        charge_current,
        dt,
        t_ambient,
        soh,
        aging: AgingContext,
        ops,
        resistance_factor=1.0,
        start: Lookups | None = None,
        end: Lookups | None = None,
    ) -> Interval:
        """Predict one interval of length ``dt`` [s] at pack charge current ``charge_current`` [A] (>= 0).

        ``x`` holds the states at the start (STATES order), ``t_ambient`` [K], ``soh`` the relative
        capacity [1], ``resistance_factor`` the resistance relative to new [1] (the battery's
        ``SOH_resistance``). ``ops`` is the math backend (CasADi for the NLP). ``start``: the
        look-ups at ``x``, and ``end`` at the end state, when the caller has them (multiple shooting
        looks each node up once, from its own state variables); otherwise they are computed here.
        """
        p = self.p
        state = CellState(*x)
        rf = resistance_factor
        start = start if start is not None else self.node(state.soc, state.t_cell, ops, rf)
        i = -charge_current / self.n_parallel  # cell current, positive discharging
        k = constants(p, dt, self.conductance_boundary, ops)
        _, t_boundary = boundary(p, t_ambient, t_ambient, self.coolant_connected)
        new, means = advance(p, state, start, k, i, t_boundary, soh * p.capacity, ops)
        end = end if end is not None else self.node(new.soc, new.t_cell, ops, rf)
        voltage_end = eq.terminal_voltage(end.ocv, new.hysteresis, i, end.r0_charge, new.v1 + new.v2)
        rate_cal, rate_cyc = eq.fade_rates(
            aging.q_cal, aging.q_cyc, means.t_cell, means.soc, i, aging.dod, aging.crate, p, ops
        )
        return Interval(
            state=tuple(new),
            voltage_end=voltage_end,
            heat_loss=means.heat_irreversible * dt,
            terminal_energy=-i * means.voltage * dt,
            fade_calendar=rate_cal * dt,
            fade_cycle=rate_cyc * dt,
            voltage_mean=means.voltage,
            end=end,
        )

    def function(self, crate_from_current: bool = True):
        """A CasADi Function ``(x[6], I_charge, dt, T_ambient, soh, r_factor, q_cal, q_cyc, dod, crate) ->
        (x_next[6], V_end, heat_loss, terminal_energy, fade_calendar, fade_cycle, V_mean)``, per cell.

        With ``crate_from_current`` the cycle rate uses the interval's own C-rate and the
        ``crate`` input is ignored.
        """
        import casadi as ca

        from battery_fmu.ops import casadi_ops

        x = ca.SX.sym("x", len(STATES))
        names = ("I_charge", "dt", "T_ambient", "soh", "r_factor", "q_cal", "q_cyc", "dod", "crate")
        u, dt, t_amb, soh, rf, q_cal, q_cyc, dod, crate = (ca.SX.sym(n) for n in names)
        aging = AgingContext(q_cal, q_cyc, dod, None if crate_from_current else crate)
        out = self.interval([x[k] for k in range(len(STATES))], u, dt, t_amb, soh, aging, casadi_ops(), rf)
        return ca.Function(
            "battery_interval",
            [x, u, dt, t_amb, soh, rf, q_cal, q_cyc, dod, crate],
            [
                ca.vertcat(*out.state),
                out.voltage_end,
                out.heat_loss,
                out.terminal_energy,
                out.fade_calendar,
                out.fade_cycle,
                out.voltage_mean,
            ],
            ["x", *names],
            ["x_next", "V_end", "heat_loss", "terminal_energy", "fade_calendar", "fade_cycle", "V_mean"],
        )

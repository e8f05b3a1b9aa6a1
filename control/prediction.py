"""The MPC's prediction model: the battery twin's own equations, over intervals of constant charge current.

Built only from :mod:`battery_fmu.equations` on the CasADi backend (:func:`battery_fmu.ops.casadi_ops`)
and a parameter set from :func:`battery_fmu.parameters.load_parameters`: no battery formula is
written here. Per cell, over an interval ``dt`` of constant current ``i`` (positive discharging):

- SOC moves linearly, each RC pair and the hysteresis relax exactly (the same closed forms the
  twin's step uses, so an interval of any length is exact for them);
- the two-node temperature takes the exact transition of its linear network (``exp(A dt)``)
  under the heat at the interval's middle: ohmic, RC Joule, hysteresis and entropic heat from the
  exact electrical states there, with R0 and dU/dT looked up at the interval's start (as the
  twin evaluates them at the start of each of its steps);
- the capacity-fade *rates* (calendar and cycle, the aging model's virtual-time form) and the
  irreversible heat are integrated by the midpoint rule; the terminal energy from the exact
  mean RC voltages and the average of the other terms over the two ends.

Each interval looks the tables up once, at its end (:class:`Node`), and passes them on to the
next: the NLP's cost is dominated by those look-ups. ``tests/test_mpc_prediction.py`` checks the
agreement with the twin on the same current profile.

The pack is ``n_series`` x ``n_parallel`` identical cells. States: SOC [1], V1 and V2 [V], hysteresis
[V], cell and housing temperature [K].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from battery_fmu import equations as eq
from battery_fmu.parameters import CellParameters, load_parameters, scaled_to_capacity

STATES = ("soc", "v1", "v2", "hysteresis", "t_cell", "t_housing")
DAY = 86400.0


def pack_parameters(parameter_set: str = "lfp_220ah", capacity_Ah: float | None = None) -> CellParameters:
    """The cell parameters the battery twin uses for ``parameter_set`` at ``capacity_Ah`` [A h]."""
    params = load_parameters(parameter_set)
    if capacity_Ah is not None and float(capacity_Ah) * 3600.0 != params.capacity:
        params = scaled_to_capacity(params, float(capacity_Ah) * 3600.0)
    return params


@dataclass(frozen=True)
class Node:
    """Table look-ups at one state (per cell): what an interval needs at its start and its end."""

    ocv: Any  # open-circuit voltage [V]
    reversible_per_amp: Any  # reversible heat per ampere of (discharge) current [W/A]
    r0: Any  # ohmic resistance, charge table [Ohm]


@dataclass(frozen=True)
class Interval:
    """What one interval predicts (per cell unless noted); values are CasADi expressions or floats."""

    state: tuple  # states at the end, in STATES order
    voltage_end: Any  # terminal voltage at the end, under the interval's current [V]
    heat_loss: Any  # irreversible heat over the interval [J]
    terminal_energy: Any  # energy into the cell at its terminals [J]
    fade_calendar: Any  # capacity lost to calendar aging [1]
    fade_cycle: Any  # capacity lost to cycle aging [1]
    end: Node | None = None  # look-ups at the end state, for the next interval


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
        k = params.conductance_housing_ambient
        self.conductance_boundary = k + params.conductance_housing_coolant if coolant_connected else k

    def node(self, soc, t_cell, ops, resistance_factor=1.0) -> Node:
        """Table look-ups at a state: OCV [V], entropic coefficient [V/K] (through the reversible
        heat per ampere and kelvin), charge R0 [Ohm]. Each interval reuses its start node."""
        p = self.p
        return Node(
            ocv=eq.open_circuit_voltage(soc, t_cell, p, ops),
            reversible_per_amp=eq.reversible_heat(1.0, t_cell, soc, p, ops),
            r0=eq.resistances(soc, t_cell, p, ops)[0] * resistance_factor,
        )

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
        start: Node | None = None,
        end: Node | None = None,
    ) -> Interval:
        """Predict one interval of length ``dt`` [s] at pack charge current ``charge_current`` [A] (>= 0).

        ``x`` holds the states at the start (STATES order), ``t_ambient`` [K], ``soh`` the relative
        capacity [1], ``resistance_factor`` the resistance relative to new [1] (the battery's
        ``SOH_resistance``). ``ops`` is the math backend (CasADi for the NLP). ``start``: the
        look-ups at ``x``, and ``end`` at the end state, when the caller has them (multiple shooting
        looks each node up once, from its own state variables); otherwise they are computed here.
        """
        p = self.p
        soc0, v10, v20, h0, tc0, th0 = x
        rf = resistance_factor
        start = start if start is not None else self.node(soc0, tc0, ops, rf)
        i = -charge_current / self.n_parallel  # cell current, positive discharging
        cap = soh * p.capacity
        _, _, r1, r2 = eq.resistances(soc0, tc0, p, ops)
        r1, r2 = r1 * rf, r2 * rf
        soc1 = soc0 + eq.soc_derivative(i, cap) * dt
        soc_mid = 0.5 * (soc0 + soc1)

        # Electrical states: exact under constant current, at the middle and the end.
        target = eq.hysteresis_target(i, soc_mid, p, ops)  # at the mid SOC, as the twin's step takes it
        half = 0.5 * dt
        d1_half, d2_half = eq.rc_decay(half, p.tau1, ops), eq.rc_decay(half, p.tau2, ops)
        d1, d2 = eq.rc_decay(dt, p.tau1, ops), eq.rc_decay(dt, p.tau2, ops)
        v1_mid, v2_mid = eq.rc_voltage_after(v10, i, r1, d1_half), eq.rc_voltage_after(v20, i, r2, d2_half)
        h_mid = eq.hysteresis_after(h0, target, eq.hysteresis_decay(i, half, cap, p, ops))
        v11, v21 = eq.rc_voltage_after(v10, i, r1, d1), eq.rc_voltage_after(v20, i, r2, d2)
        h1 = eq.hysteresis_after(h0, target, eq.hysteresis_decay(i, dt, cap, p, ops))

        # Heat at the middle (R0 and dU/dT from the start node, as the twin evaluates them at a
        # step's start); the thermal network then moves exactly under it.
        q_irr = eq.irreversible_heat(
            i, start.r0, eq.rc_joule_heat(v1_mid, r1) + eq.rc_joule_heat(v2_mid, r2), h_mid
        )
        heat = q_irr + i * start.reversible_per_amp
        steady = eq.thermal_steady_state(heat, t_ambient, self.conductance_boundary, p)
        tc1, th1 = eq.thermal_after(
            tc0, th0, *steady, eq.thermal_transition(dt, self.conductance_boundary, p, ops)
        )
        end = end if end is not None else self.node(soc1, tc1, ops, rf)

        # Terminal voltage at the end (for the limit) and its mean (for the energy): the RC
        # pairs' exact means, the other terms averaged over the two nodes.
        voltage_end = eq.terminal_voltage(end.ocv, h1, i, end.r0, v11 + v21)
        a1, a2 = eq.rc_mean_weight(dt, p.tau1, d1), eq.rc_mean_weight(dt, p.tau2, d2)
        v_rc_mean = a1 * v10 + (1.0 - a1) * i * r1 + a2 * v20 + (1.0 - a2) * i * r2
        voltage_mean = eq.terminal_voltage(
            0.5 * (start.ocv + end.ocv), 0.5 * (h0 + h1), i, 0.5 * (start.r0 + end.r0), v_rc_mean
        )

        # Fade rates at the middle (midpoint rule).
        tc_mid = 0.5 * (tc0 + tc1)
        k_cal = eq.calendar_rate(tc_mid, eq.graphite_potential(soc_mid, p, ops), p, ops)
        fade_cal = (
            eq.calendar_fade_rate(
                aging.q_cal, k_cal, p, ops, eq.power_law_value(k_cal, 1.0, p.aging.pcal, ops)
            )
            * dt
        )
        crate = eq.c_rate(i, p, ops) if aging.crate is None else aging.crate
        k_cyc = eq.cycle_rate(aging.dod, crate, eq.cycle_temperature_factor(tc_mid, p, ops), p)
        fade_cyc = (
            eq.cycle_fade_rate(
                aging.q_cyc, k_cyc, i, p, ops, eq.power_law_value(k_cyc, 1.0, p.aging.pcyc, ops)
            )
            * dt
        )

        return Interval(
            state=(soc1, v11, v21, h1, tc1, th1),
            voltage_end=voltage_end,
            heat_loss=q_irr * dt,
            terminal_energy=-i * voltage_mean * dt,
            fade_calendar=fade_cal,
            fade_cycle=fade_cyc,
            end=end,
        )

    def function(self, crate_from_current: bool = True):
        """A CasADi Function ``(x[6], I_charge, dt, T_ambient, soh, r_factor, q_cal, q_cyc, dod, crate) ->
        (x_next[6], V_end, heat_loss, terminal_energy, fade_calendar, fade_cycle)``, per cell.

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
            ],
            ["x", *names],
            ["x_next", "V_end", "heat_loss", "terminal_energy", "fade_calendar", "fade_cycle"],
        )

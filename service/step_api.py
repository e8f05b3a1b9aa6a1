"""``POST /step``: one stateless step of a pack, on the battery step every other part uses.

The caller sends a state, a power or a current and a step length, and gets the state after the
step and the step's outputs (pack level: cells in series multiply the voltage, cells in parallel
the current). A power request is solved for the current the way the twin does (the step's mean
terminal voltage is ``e - I r``) and clamped to the limits, as a BMS would.
"""

from __future__ import annotations

import math
from typing import Any

from battery_fmu.step import CellState, advance, boundary, constants, electromotive, limits, lookups


class StepError(ValueError):
    """A request the step cannot take (a state out of range); the message names the field."""


def _current_for_power(p_cell: float, look, e: float, r_rc: float) -> float:
    """The cell current [A] that delivers ``p_cell`` [W] at the terminals (the root nearer 0)."""
    r = (look.r0_charge if p_cell < 0.0 else look.r0_discharge) + r_rc
    disc = e * e - 4.0 * r * p_cell
    if disc <= 0.0:
        return e / (2.0 * r)  # more than the cell can give: the current of its largest power
    return 2.0 * p_cell / (e + math.sqrt(disc))


def run_step(params, pack: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    """The step a request asks for; ``params``: the cell's parameters, ``pack``: the resolved pack."""
    ns, npar = pack["n_series"], pack["n_parallel"]
    cells = ns * npar
    st = req["state"]
    state = CellState(
        st["soc"], st["v1_V"], st["v2_V"], st["hysteresis_V"], st["t_cell_K"], st["t_housing_K"]
    )
    dt = req["dt_s"]
    kb, tb = boundary(params, req["t_ambient_K"], req.get("t_coolant_K"), pack["coolant_connected"])
    k = constants(params, dt, kb)
    look = lookups(params, state.soc, state.t_cell, req["soh_resistance"])
    capacity = req["soh_capacity"] * params.capacity
    emf = electromotive(state, look, k)
    lim = limits(params, state, look, k, capacity, emf=emf)
    if req.get("current_A") is not None:
        requested = req["current_A"] / npar
    else:
        requested = _current_for_power(req["power_W"] / cells, look, *emf)
    current = min(max(requested, -lim.current_charge), lim.current_discharge)
    new, means = advance(params, state, look, k, current, tb, capacity)
    return {
        "state": {
            "soc": new.soc,
            "v1_V": new.v1,
            "v2_V": new.v2,
            "hysteresis_V": new.hysteresis,
            "t_cell_K": new.t_cell,
            "t_housing_K": new.t_housing,
        },
        "outputs": {
            "current_A": current * npar,
            "voltage_V": means.voltage * ns,
            "power_W": means.voltage * current * cells,
            "heat_W": means.heat * cells,
            "ocv_V": look.ocv * ns,
            "limited": current != requested,
            "current_discharge_max_A": lim.current_discharge * npar,
            "current_charge_max_A": lim.current_charge * npar,
            "power_discharge_max_W": lim.power_discharge * cells,
            "power_charge_max_W": lim.power_charge * cells,
        },
    }

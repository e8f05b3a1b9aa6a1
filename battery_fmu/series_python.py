"""The Python loop of :meth:`battery_fmu.model.BatteryPack.step_series`.

The operations of ``BatteryPack.step`` (its current from the same :func:`~battery_fmu.model.cell_current`)
and ``_prepare`` for a run of steps of one length, in their order and without a call of ``step`` per
step, so a run of steps agrees bit for bit with as many calls of ``step``; the C loop of
:mod:`battery_fmu.series_native` is its translation and hands it the steps it cannot take.
"""

from __future__ import annotations

from battery_fmu.model import cell_current
from battery_fmu.step import boundary


def step_series_python(pack, dt: float, powers, floors, ceilings, current_charge: float, t_ambient: float,
                       t_coolant: float | None, out: tuple) -> None:
    """``pack``'s :meth:`~battery_fmu.model.BatteryPack.step_series` loop in Python (steps of ``dt`` <= a
    minute), appending to ``out``."""
    socs, currents, voltages, temperatures, efcs = out
    before = len(socs)
    ns, npar = pack.n_series, pack.n_parallel
    cells = ns * npar
    i_charge = current_charge / npar
    prep = pack._prep
    if prep is None or prep[2].dt != dt:
        prep = pack._prepare(dt)
    state, look, k, lim, e, r_rc, cap = prep
    p, aging = pack.p, pack.aging
    advance, prepare, capacity = pack._compiled.advance, pack._compiled.prepare, p.capacity
    kb, tb = boundary(p, t_ambient, t_coolant, pack.coolant_connected)
    power_charge_max, power_discharge_max = lim.power_charge * cells, lim.power_discharge * cells
    voltage = t_housing_mean = current = power_taken = heat = 0.0
    for power_load, floor, ceiling in zip(powers, floors, ceilings):
        if floor < -power_charge_max or ceiling > power_discharge_max:
            break
        # the operations of step(), in its order
        power_taken = power_load
        p_cell = power_load / cells
        current = cell_current(p_cell, i_charge, look, e, r_rc, lim)
        new, means = advance(state, look, k, current, tb, cap)
        voltage, heat, _, t_cell_mean, t_housing_mean, _ = means
        aging.advance(dt, state.soc, new[0], t_cell_mean, current)
        # and those of _prepare() at the new state
        state = new
        cap = aging.soh_capacity_committed * capacity
        look, lim, e, r_rc = prepare(state, aging.resistance_factor, cap, k)
        power_charge_max, power_discharge_max = lim.power_charge * cells, lim.power_discharge * cells
        socs.append(new[0])
        currents.append(current * npar)
        voltages.append(voltage * ns)
        temperatures.append(new[4])
        efcs.append(aging.total_efc)
    if len(socs) > before:
        pack._prep = (state, look, k, lim, e, r_rc, cap)
        pack._finish_series(power_taken, current, i_charge, voltage, heat, t_housing_mean, t_ambient, t_coolant)

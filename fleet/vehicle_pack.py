"""A fleet vehicle and its pack as one unit, fleet mode's fast path (type ``fleet.vehicle_pack:VehiclePack``).

While driving, the master steps this unit over long macro steps (minutes) and the unit takes the
10 s steps of fleet mode inside: each sub-step the built-in EV (:class:`bridges.vehicle_unit.EVUnit`)
integrates its 1 s cycle and hands its mean power to the battery twin's pack
(:class:`battery_fmu.model.BatteryPack`, the same ``step`` the FMU and the ``battery`` unit call), and
the EV's regen and traction limits are the pack's charge and discharge power at the sub-step's start,
as the ``delay: 1`` connections hand them over between separate units (an empty pack strands the
car). Parked or charging, one macro step is one step of both. So the equations and the 10 s grid are
those of the two separate units; what goes is the master's work per 10 s (the schedule, the chargers,
the connections, the observers), which cost more than the battery step itself. The ambient
temperature is the one at the macro step's start.

With ``heat_to`` [K], the car heats a cold pack while plugged in, as EVs with a battery heater do
before and while charging (a cold-soaked cell's charge derating may allow no current at all): while
``plugged`` and the cell is colder than ``heat_to``, the coolant loop, held at ``heat_to``, is connected
to the housing. The heater's energy comes from the grid and is not counted as charge.

``on_substep(t, values)`` (set by the caller, optional) receives every sub-step's end time [s] and
:data:`SIGNALS` values, so a daily summary sees the 10 s steps rather than the macro steps;
``on_substeps(times, columns)`` (optional, beside it) receives a stretch of them at once, one list per
signal, where the SOH is that of the stretch's end. The SOH
values in them are those of the macro step's start, except at its end (aging moves by about 1e-7 in
a 10 min drive; a day ends in a parked or charging step, where macro step and sub-step are one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from battery_fmu.model import RestSchedule
from battery_fmu.unit import BatteryUnit
from bridges.vehicle_unit import EVUnit
from cosim.errors import SimulationError
from cosim.unit import INPUT, OUTPUT, Port, PythonUnit

#: What a sub-step reports, in this order (the daily summary's signals).
SIGNALS = ("distance", "P_battery", "P_regen", "SOC", "I_terminal", "V_terminal", "T_cell", "EFC",
           "SOH_capacity", "SOH_resistance", "T_ambient", "I_charge")
PACK_SHARED = ("capacity_Ah", "n_series", "n_parallel")
#: Sub-steps taken one by one after a stretch ahead stopped early (the regen limit reached), before
#: looking ahead again: a limit that binds tends to bind for a while.
PLAN_RETRY = 6
#: The sub-steps of a parked hour: from 60 s (the first RC pair, 20 s, empties within it; the cell and
#: housing settle with about 5 min, which 60 s steps follow) doubling up to a quarter of the slow thermal
#: time constant (about 4 h for the LFP pack), so an hour parked after another takes one Simpson step.
#: Against the twin's finer default (1 s growing by 1.3 up to a twentieth), the capacity of the shipped
#: Miami commute differs by 1e-8 after 60 days.
FLEET_REST = RestSchedule(first=60.0, growth=2.0, max_fraction=0.25)


class VehiclePack(PythonUnit):
    """The EV and its battery pack in one unit, taking ``substep`` [s] steps while driving.

    Parameters
    ----------
    vehicle : mapping
        The EV's settings (``preset``, ``cycle``, ``regen_strength``, ``on_cycle_end``, ...).
    battery : mapping
        The battery's parameters (``SOC_init``, ``T_init`` [K], ``parameter_set``, variation factors);
        the pack's size comes from the vehicle's preset.
    substep : float
        Step [s] of the vehicle and the battery inside a driving macro step.
    heat_to : float or None
        Heat a pack colder than this [K] while ``plugged`` (see the module's docstring); None: never.
    """

    PORTS: ClassVar[tuple[Port, ...]] = (
        Port("drive", INPUT, "1", "1 while a drive is scheduled, 0 while parked", 1.0, 0.0, 1.0),
        Port("T_ambient", INPUT, "K", "Outdoor air (the vehicle's HVAC load)", 296.15, 0.0),
        Port("T_air_pack", INPUT, "K", "Air around the pack (battery ambient, coolant)", 296.15, 0.0),
        Port("I_charge", INPUT, "A", "Current from the chargers into the pack", 0.0, 0.0),
        Port("plugged", INPUT, "1", "1 while plugged into a charger (pack heating allowed)", 0.0, 0.0, 1.0),
        Port("distance", OUTPUT, "m", "Odometer at the end of the step", 0.0),
        Port("P_battery", OUTPUT, "W", "Mean power drawn at the pack terminals over the step", 0.0),
        Port("P_regen", OUTPUT, "W", "Mean power returned by the motor over the step", 0.0),
        Port("SOC", OUTPUT, "1", "State of charge at the end of the step", 0.0),
        Port("I_terminal", OUTPUT, "A", "Mean pack current over the step (discharge > 0)", 0.0),
        Port("V_terminal", OUTPUT, "V", "Pack voltage over the last sub-step", 0.0),
        Port("T_cell", OUTPUT, "K", "Cell temperature at the end of the step", 0.0),
        Port("EFC", OUTPUT, "1", "Equivalent full cycles so far", 0.0),
        Port("SOH_capacity", OUTPUT, "1", "Capacity relative to nominal", 1.0),
        Port("SOH_resistance", OUTPUT, "1", "Resistance relative to new", 1.0),
        Port("I_charge_max", OUTPUT, "A", "Charge current the pack accepts now", 0.0),
        Port("stranded", OUTPUT, "1", "1 while the pack cannot power the car (it stands until the drive ends)", 0.0),
    )
    can_save_state: ClassVar[bool] = True
    #: Take stretches of sub-steps at once where the vehicle knows its power ahead (the same numbers).
    look_ahead: ClassVar[bool] = True

    def __init__(self, vehicle: Mapping[str, Any], battery: Mapping[str, Any] | None = None,
                 substep: float = 10.0, heat_to: float | None = None):
        self.ev = EVUnit(**dict(vehicle))
        pack = self.ev.preset.pack()
        self.battery = BatteryUnit(**{k: pack[k] for k in PACK_SHARED}, **dict(battery or {}))
        if not substep > 0.0:
            raise ValueError(f"substep must be > 0 s (got {substep!r})")
        self.substep = float(substep)
        self.heat_to = None if heat_to is None else float(heat_to)
        self.on_substep: Callable[[float, list[float]], None] | None = None
        self.on_substeps: Callable[[list[float], list[list[float]]], None] | None = None
        super().__init__()

    def setup(self, start_time: float) -> None:
        self.ev.setup(start_time)
        self.battery.setup(start_time)
        self.battery.pack.rest_schedule = FLEET_REST
        self._publish(self.ev.P_battery, self.ev.P_regen, self.battery.pack.current)
        if self.on_substep is not None:
            self.on_substep(start_time, self._values())

    def do_step(self, t: float, h: float) -> None:
        if self.I_charge < 0.0:
            raise SimulationError(f"input I_charge must be >= 0, got {self.I_charge}", self.name, t)
        ev, pack = self.ev, self.battery.pack
        ev.drive, ev.T_ambient = self.drive, self.T_ambient
        air, i_charge, report, substep = self.T_air_pack, self.I_charge, self.on_substep, self.substep
        coolant = air
        if self.heat_to is not None:
            pack.coolant_connected = self.plugged >= 0.5 and pack.t_cell < self.heat_to
            coolant = self.heat_to if pack.coolant_connected else air
        n = max(1, math.ceil(h / substep - 1e-9)) if self.drive >= 0.5 else 1
        sums = [0.0, 0.0, 0.0]  # energy drawn and regenerated [J], charge [C]
        done, k, plan_at = 0.0, 0, 1 if self.look_ahead else n
        soh = (self.SOH_capacity, self.SOH_resistance)
        end_soh = None  # the SOH at the macro step's end, once read
        while k < n:
            if k >= plan_at:
                # a stretch of the cycle ahead at once; bit for bit the sub-steps below
                full = n - 1 - k + (h - (done + (n - 1 - k) * substep) == substep)
                taken, limited, end_soh = (self._run_ahead(t, done, full, n - k, soh, sums) if full > 1
                                           else (0, False, None))
                for _ in range(taken):
                    done += substep
                k += taken
                plan_at = k + (PLAN_RETRY if limited else 0 if taken else 1)
                if k >= n:
                    break
            last = k == n - 1
            dt = h - done if last else substep
            ev.P_charge_max, ev.P_discharge_max = pack.power_charge_max, pack.power_discharge_max
            ev.do_step(t + done, dt)
            pack.step(dt, ev.P_battery, i_charge, air, coolant)
            done += dt
            sums[0] += ev.P_battery * dt
            sums[1] += ev.P_regen * dt
            sums[2] += pack.current * dt
            if report is not None:
                if last:
                    soh = end_soh = (pack.soh_capacity, pack.soh_resistance)
                report(t + done, [ev.distance, ev.P_battery, ev.P_regen, pack.soc, pack.current, pack.voltage,
                                  pack.t_cell, pack.efc, *soh, self.T_ambient, i_charge])
            k += 1
        self._publish(sums[0] / h, sums[1] / h, sums[2] / h, end_soh)

    def _run_ahead(self, t: float, done: float, count: int, left: int, soh: tuple,
                   sums: list) -> tuple[int, bool, tuple | None]:
        """Up to ``count`` sub-steps at once where the vehicle knows its power ahead
        (:meth:`bridges.vehicle_unit.EVUnit.cycle_ahead`, :meth:`battery_fmu.model.BatteryPack.step_series`).
        Returns the number taken, whether the pack's charge limit stopped them and the SOH at the macro
        step's end if read. ``left``: sub-steps left in the macro step (the last reports the SOH then)."""
        ev, pack, dt = self.ev, self.battery.pack, self.substep
        ev.P_charge_max, ev.P_discharge_max = pack.power_charge_max, pack.power_discharge_max
        powers, regens, odometer, floors, ceilings = ev.cycle_ahead(dt, count)
        if not powers:
            return 0, False, None
        air, i_charge = self.T_air_pack, self.I_charge
        socs, currents, voltages, temperatures, efcs = pack.step_series(
            dt, powers, floors, i_charge, air, air, ceilings)
        m = len(socs)
        if m == 0:
            return 0, True, None
        ev.take_cycle_steps(dt, m, odometer)
        report, t_ambient = self.on_substep, self.T_ambient
        times = []
        e_battery, e_regen, charge = sums
        for power, regen, current in zip(powers, regens, currents):
            done += dt
            times.append(t + done)
            e_battery += power * dt
            e_regen += regen * dt
            charge += current * dt
        sums[:] = e_battery, e_regen, charge
        end_soh = None
        if report is not None:
            health = [[soh[0]] * m, [soh[1]] * m]
            if m == left:  # the macro step's last sub-step reports the SOH as it is then
                end_soh = (pack.soh_capacity, pack.soh_resistance)
                health[0][-1], health[1][-1] = end_soh
            columns = [odometer[:m], powers[:m], regens[:m], socs, currents, voltages, temperatures, efcs, *health,
                       [t_ambient] * m, [i_charge] * m]
            if self.on_substeps is not None:
                self.on_substeps(times, columns)
            else:
                for j, t_end in enumerate(times):
                    report(t_end, [column[j] for column in columns])
        return m, m < len(powers), end_soh

    def _publish(self, p_battery: float, p_regen: float, current: float, soh: tuple | None = None) -> None:
        """Set the outputs at a macro step's end (power and current: means over it; ``soh``: the pack's
        SOH pair where already read)."""
        ev, pack = self.ev, self.battery.pack
        self.distance, self.P_battery, self.P_regen = ev.distance, p_battery, p_regen
        self.SOC, self.I_terminal, self.V_terminal, self.T_cell = pack.soc, current, pack.voltage, pack.t_cell
        self.EFC, self.I_charge_max, self.stranded = pack.efc, pack.current_charge_max, ev.stranded
        self.SOH_capacity, self.SOH_resistance = soh or (pack.soh_capacity, pack.soh_resistance)

    def _values(self) -> list[float]:
        return [self.distance, self.P_battery, self.P_regen, self.SOC, self.I_terminal, self.V_terminal,
                self.T_cell, self.EFC, self.SOH_capacity, self.SOH_resistance, self.T_ambient, self.I_charge]

    def shared_values(self) -> dict[str, Any]:
        """The preset's pack, for the chargers."""
        return self.ev.preset.pack()

    def save_state(self) -> tuple:
        outputs = tuple(getattr(self, p.name) for p in self.PORTS if p.causality == OUTPUT)
        return self.ev.save_state(), self.battery.save_state(), outputs

    def restore_state(self, state: tuple) -> None:
        ev, battery, outputs = state
        self.ev.restore_state(ev)
        self.battery.restore_state(battery)
        for p, value in zip((p for p in self.PORTS if p.causality == OUTPUT), outputs, strict=True):
            setattr(self, p.name, value)

    def metadata(self) -> dict[str, str]:
        return {**self.ev.metadata(), "type": "fleet.vehicle_pack:VehiclePack",
                "battery": self.battery.metadata()["parameter_set"], "substep_s": f"{self.substep:g}",
                **({"heat_to_K": f"{self.heat_to:g}"} if self.heat_to is not None else {})}

"""The built-in EV as a co-simulation unit (type ``ev``): drives cycles, draws power at the battery.

Scenario use::

    vehicle:
      type: ev
      settings: {preset: model3_rwd_lfp, cycle: city, regen_strength: 3}

Settings (keyword arguments): ``preset`` (id, see ``evtwin vehicles``), ``cycle`` (a cycle name, a named
mix such as ``city``, or a CSV path), ``cycle_file`` (a CSV trace, relative to the scenario file),
``regen_strength`` (1-5), ``on_cycle_end`` (``next``: keep driving
the next cycle of the mix while ``drive`` is 1; ``stop``: stand still until ``drive`` falls), and any
preset value to override (``mass_kg: 1900``, ``aux_base_W: 300``, ...).

Time: power-type outputs are means over the last step, so ``P_battery * h`` is exactly the energy drawn
in it; state-type outputs (speed, distance, motor speed) are values at the end of the step. A step that
covers whole seconds of the 1 Hz cycle is exact (see :mod:`bridges.ev_model`); other steps are integrated
piecewise over the seconds they touch.

Trips: a rising edge of ``drive`` starts a trip on the next cycle (the one the ``trip`` input names when
it is >= 0, else the next of the mix in order). When ``drive`` falls the car parks at once: its speed goes
to zero and its kinetic energy is not recovered, so schedule drive windows that end at a standstill
(a whole number of cycles) where that energy matters.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from bridges import drive_cycles
from bridges.ev_model import CycleTable, StepEnergy, VehicleParams, aux_power
from bridges.limited_drive import drive_piece
from bridges.presets import get_preset
from bridges.vehicle_ports import OUTPUTS as _OUTPUTS
from bridges.vehicle_ports import inputs as _inputs
from cosim.errors import ScenarioError, SimulationError
from cosim.unit import PythonUnit



class EVUnit(PythonUnit):
    """Built-in EV on drive cycles.

    Parameters
    ----------
    preset : str
        Vehicle preset id.
    cycle : str
        Cycle name, named mix, or CSV path.
    cycle_file : str, optional
        A CSV speed trace instead of ``cycle``; in a scenario, relative to the scenario file.
    regen_strength : float
        Regenerative braking level 1-5 (5 brakes hardest on regen).
    on_cycle_end : str
        ``"next"`` or ``"stop"``.
    **overrides
        Preset values to change, in the preset's units (``mass_kg``, ``motor_peak_kW``, ...).

    Inputs: ``P_charge_max`` [W] (battery's available charge power; regen is limited to it),
    ``P_discharge_max`` [W] (power the battery can deliver; traction is limited to it and the car falls
    behind the trace, see :mod:`bridges.limited_drive`; at or below the auxiliary load the car is
    stranded: it stops, ``stranded`` goes to 1 and stays there until ``drive`` falls),
    ``drive`` [1] (1 while a drive is scheduled, 0 parked), ``T_ambient`` [K],
    ``trip`` [1] (index into the mix for the next trip; < 0 takes them in order),
    ``trip_distance`` [m] (the car parks once this drive has covered it; 0: it drives until the drive
    ends), ``planned_distance`` [m] (the trips ahead, whose energy ``E_planned`` forecasts from the
    ``consumption`` of the cycle mix at the present ambient temperature).
    """

    can_save_state = True
    #: Settings that are file paths: the engine resolves them against the scenario file.
    path_settings = ("cycle_file",)

    def __init__(
        self,
        preset: str = "model3_rwd_lfp",
        cycle: str = "udds",
        regen_strength: float = 3,
        on_cycle_end: str = "next",
        cycle_file: str | None = None,
        **overrides: Any,
    ):
        self.preset = get_preset(preset).replace(**overrides) if overrides else get_preset(preset)
        try:
            self.params = VehicleParams.from_preset(self.preset)
        except ValueError as err:
            raise ScenarioError(f"{err}; give the missing values as settings") from None
        if not isinstance(regen_strength, (int, float)) or not 1 <= regen_strength <= 5:
            raise ScenarioError(f"regen_strength must be a number from 1 to 5 (got {regen_strength!r})")
        if on_cycle_end not in ("next", "stop"):
            close = difflib.get_close_matches(str(on_cycle_end), ["next", "stop"], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"on_cycle_end must be 'next' or 'stop' (got {on_cycle_end!r}){hint}")
        self.regen_strength = float(regen_strength)
        self.on_cycle_end = on_cycle_end
        if cycle_file is not None:  # a user trace, resolved against the scenario file
            self.cycles = (drive_cycles.read_csv_cycle(cycle_file),)
            self.cycle_spec = cycle_file
        else:
            self.cycles = drive_cycles.resolve(cycle)
            self.cycle_spec = cycle
        self._omega_per_speed = self.params.gear_ratio / self.params.wheel_radius
        self._tables: dict[int, CycleTable] = {}
        self._ports = _inputs(self.params) + _OUTPUTS
        super().__init__()
        self._reset()

    def ports(self):
        return self._ports

    # --- state -------------------------------------------------------------------------------------
    def _reset(self) -> None:
        self._driving = False
        self._cycle_idx = -1
        self._table = None
        self._aux_T = math.nan
        self._aux_P = 0.0
        self._next_idx = 0
        self._pos = 0.0
        self._trip_start = 0.0  # odometer [m] as this drive began
        self._trip_done = False
        self._consumption: dict[float, float] = {}
        self.trips = 0
        self.over_limit_time = 0.0
        for p in _OUTPUTS:
            setattr(self, p.name, 0.0)

    def setup(self, start_time: float) -> None:
        self._reset()

    def save_state(self) -> tuple:
        outputs = tuple(getattr(self, p.name) for p in _OUTPUTS)
        return (
            self._driving,
            self._cycle_idx,
            self._next_idx,
            self._pos,
            self.trips,
            self.over_limit_time,
            outputs,
            self._trip_start,
            self._trip_done,
        )

    def restore_state(self, state: tuple) -> None:
        (
            self._driving,
            self._cycle_idx,
            self._next_idx,
            self._pos,
            self.trips,
            self.over_limit_time,
            outputs,
            self._trip_start,
            self._trip_done,
        ) = state
        self._table = self.table(self._cycle_idx) if self._cycle_idx >= 0 else None
        for p, value in zip(_OUTPUTS, outputs, strict=True):
            setattr(self, p.name, value)

    def shared_values(self) -> dict[str, Any]:
        """The preset's pack, for the units of a scenario that take it (battery, charger)."""
        return self.preset.pack()

    def metadata(self) -> dict[str, str]:
        return {
            "type": "ev",
            "preset": self.preset.id,
            "preset_name": self.preset.name,
            "cycle": str(self.cycle_spec),
            "regen_strength": f"{self.regen_strength:g}",
        }

    def table(self, idx: int) -> CycleTable:
        """The evaluated cycle ``idx`` of the mix (built on first use)."""
        t = self._tables.get(idx)
        if t is None:
            t = self._tables[idx] = CycleTable(self.params, self.cycles[idx], self.regen_strength)
        return t

    # --- stepping ----------------------------------------------------------------------------------
    def _start_cycle(self, idx: int) -> None:
        self._cycle_idx = idx
        self._table = self.table(idx)
        self._next_idx = (idx + 1) % len(self.cycles)
        self._pos = 0.0
        self.trips += 1

    def _end_cycle(self) -> None:
        if self.on_cycle_end == "next":
            self._start_cycle(self._next_idx)
        else:
            self._cycle_idx = -1
            self._table = None

    def forecast_consumption(self, t_ambient: float) -> float:
        """Battery energy per metre [J/m] over the whole cycle mix at ``t_ambient`` [K] (HVAC included)."""
        key = round(t_ambient, 1)
        value = self._consumption.get(key)
        if value is None:
            aux = aux_power(self.params, key, True)
            energy = distance = 0.0
            for idx, cycle in enumerate(self.cycles):
                tb = self.table(idx)
                energy += tb.cum_elec[-1] + aux * cycle.duration
                distance += tb.dist[-1]
            value = self._consumption[key] = energy / distance if distance > 0.0 else 0.0
        return value

    def do_step(self, t: float, h: float) -> None:
        if not h > 0:
            raise SimulationError(f"step size must be > 0 (got {h!r} s)", self.name or "ev", t)
        self.consumption = self.forecast_consumption(self.T_ambient)
        self.E_planned = self.planned_distance * self.consumption
        if self.drive < 0.5:
            self._trip_done = False
            self._park(h)
            return
        if self._trip_done or (
            self._driving and 0.0 < self.trip_distance <= self.distance - self._trip_start
        ):
            self._trip_done = True  # this drive's distance is covered: parked until the drive ends
            self._park(h)
            self._driving = True
            return
        if not self._driving:
            self._driving = True
            self.stranded = 0.0
            self._trip_start = self.distance
            trip = self.trip
            self._start_cycle(int(trip) % len(self.cycles) if trip >= 0 else self._next_idx)
        if self.T_ambient != self._aux_T:  # the HVAC load changes only with the ambient temperature
            self._aux_T = self.T_ambient
            self._aux_P = aux_power(self.params, self.T_ambient, True)
        p_aux = self._aux_P
        p_cmax = self.P_charge_max if self.P_charge_max > 0.0 else 0.0
        p_dmax = self.P_discharge_max
        if self.stranded or p_dmax <= p_aux:
            self._strand()
            return
        pos = self._pos
        tb = self._table
        n = int(h)
        if tb is not None and n == h and pos.is_integer() and self.speed_deficit == 0.0:
            k = int(pos)
            # hot path: whole seconds of the cycle on the trace, battery limits not reached (precomputed)
            if (
                k + n <= tb.n_segments
                and (tb.seg_min_elec[k] if n == 1 else min(tb.seg_min_elec[k : k + n])) + p_aux >= -p_cmax
                and (tb.seg_max_elec[k] if n == 1 else max(tb.seg_max_elec[k : k + n])) + p_aux <= p_dmax
            ):
                self._whole_seconds(tb, k, n, p_aux)
                return
        self._step_general(h, p_aux, p_cmax, p_dmax)

    def cycle_ahead(self, h: float, count: int) -> tuple[list, list, list, list, list]:
        """Up to ``count`` steps of ``h`` whole seconds ahead, as :meth:`do_step` takes them on the
        present cycle's trace while the battery's limits are not reached; commits nothing
        (:meth:`take_cycle_steps` does). Per step: battery power and regen power [W] (means), the odometer
        after it [m], the lowest battery power of its seconds [W] (the charge limit must not be
        above it) and the highest [W] (the discharge limit must not be below it). Stops where ``do_step``
        would take another path: at a cycle's end (after the step that reaches it), a trip's start or
        end, a change of the inputs, the present discharge limit.
        """
        out: tuple[list, list, list, list, list] = ([], [], [], [], [])
        tb, pos, n, p_aux = self._table, self._pos, int(h), self._aux_P
        if (tb is None or n != h or n < 1 or not pos.is_integer() or self.speed_deficit != 0.0
                or self.drive < 0.5 or not self._driving or self._trip_done or self.trip_distance > 0.0
                or self.T_ambient != self._aux_T or self.stranded or self.P_discharge_max <= p_aux):
            return out
        powers, regens, odometer, floors, ceilings = out
        k, inv, distance, p_dmax = int(pos), 1.0 / n, self.distance, self.P_discharge_max
        cum_elec, cum_regen, dist = tb.cum_elec, tb.cum_regen, tb.dist
        lows, highs = tb.windows(n)
        end = min(tb.n_segments - n, k + (count - 1) * n)
        while k <= end and highs[k] + p_aux <= p_dmax:
            # the arithmetic of _whole_seconds
            powers.append((cum_elec[k + n] - cum_elec[k]) * inv + p_aux)
            regens.append((cum_regen[k + n] - cum_regen[k]) * inv)
            distance += dist[k + n] - dist[k]
            odometer.append(distance)
            floors.append(lows[k] + p_aux)
            ceilings.append(highs[k] + p_aux)
            k += n
        return out

    def take_cycle_steps(self, h: float, m: int, odometer: list) -> None:
        """Commit the first ``m`` >= 1 steps of :meth:`cycle_ahead` (with its ``odometer``), as ``m``
        calls of :meth:`do_step`."""
        n, tb = int(h), self._table
        self.consumption = self.forecast_consumption(self.T_ambient)
        self.E_planned = self.planned_distance * self.consumption
        over = self.over_limit_time
        for j in range(m - 1):
            k = int(self._pos) + j * n
            over += tb.cum_over[k + n] - tb.cum_over[k]
        if m > 1:
            self.distance, self.over_limit_time = odometer[m - 2], over
            self._pos += (m - 1) * n
        self._whole_seconds(tb, int(self._pos), n, self._aux_P)

    def _whole_seconds(self, tb: CycleTable, k: int, n: int, p_aux: float) -> None:
        """Outputs over seconds ``k .. k + n`` of the cycle from the running integrals (no charge limit)."""
        inv = 1.0 / n
        elec = (tb.cum_elec[k + n] - tb.cum_elec[k]) * inv
        brake = (tb.cum_brake[k + n] - tb.cum_brake[k]) * inv
        self.P_battery = elec + p_aux
        self.P_regen = (tb.cum_regen[k + n] - tb.cum_regen[k]) * inv
        self.P_aux = p_aux
        self.P_brake = brake
        self.P_loss = elec - (tb.cum_wheel[k + n] - tb.cum_wheel[k]) * inv - brake
        self.motor_torque = (tb.cum_torque[k + n] - tb.cum_torque[k]) * inv
        self.over_limit_time += tb.cum_over[k + n] - tb.cum_over[k]
        self.distance += tb.dist[k + n] - tb.dist[k]
        v = tb.speed[k + n]
        self.speed = v
        self.motor_speed = v * self._omega_per_speed
        self._pos = float(k + n)
        if k + n >= tb.n_segments:
            self._end_cycle()

    def _step_general(self, h: float, p_aux: float, p_cmax: float, p_dmax: float) -> None:
        total = StepEnergy()
        remaining = h
        dist = self.distance
        v = self.speed
        limited_time = 0.0
        while remaining > 1e-12:
            if self._cycle_idx < 0:  # stopped after the last cycle: powered on, standing still
                total.add(StepEnergy(battery=p_aux * remaining, aux=p_aux * remaining))
                v = 0.0
                break
            table = self.table(self._cycle_idx)
            k = min(int(self._pos), table.n_segments - 1)
            end = min(self._pos + remaining, k + 1.0)
            span = end - self._pos
            if span > 1e-12:
                on_trace = abs(v - table.speed_at(self._pos)) < 1e-9
                if on_trace and table.seg_max_elec[k] + p_aux <= p_dmax:
                    total.add(table.integrate(self._pos, end, p_aux, p_cmax))
                    dist += table.distance_at(end) - table.distance_at(self._pos)
                    v = table.speed_at(end)
                else:
                    piece = drive_piece(table, k, self._pos - k, end - k, v, p_aux, p_dmax, p_cmax)
                    total.add(piece.energy)
                    dist += piece.distance
                    v = piece.speed
                    limited_time += span if piece.limited else 0.0
            # also past a sliver (steps of 0.1 s leave the position a rounding error before a second's end)
            self._pos = end
            remaining -= span
            if self._pos >= table.n_segments - 1e-9:
                self._end_cycle()
        self.distance = dist
        self.time_limited += limited_time
        self._set_outputs(total, h, v)

    def _set_outputs(self, e: StepEnergy, h: float, v: float) -> None:
        inv = 1.0 / h
        self.P_battery = e.battery * inv
        self.P_regen = e.regen * inv
        self.P_aux = e.aux * inv
        self.P_loss = e.losses * inv
        self.P_brake = e.brake * inv
        self.motor_torque = e.torque_time * inv
        self.over_limit_time += e.over_limit_time
        trace = self.table(self._cycle_idx).speed_at(self._pos) if self._cycle_idx >= 0 else 0.0
        self.speed = v
        self.speed_deficit = max(0.0, trace - v)
        self.motor_speed = v * self._omega_per_speed

    def _strand(self) -> None:
        """The pack cannot power the car: it stops where it is and draws nothing until the drive ends."""
        self.stranded = 1.0
        self.P_battery = self.P_aux = self.P_regen = self.P_loss = self.P_brake = self.motor_torque = 0.0
        self.speed = self.motor_speed = self.speed_deficit = 0.0

    def _park(self, h: float) -> None:
        self._driving = False
        self.stranded = self.speed_deficit = 0.0
        # the parked drain, as far as the pack delivers it
        p = min(aux_power(self.params, self.T_ambient, False), max(0.0, self.P_discharge_max))
        self.P_battery = p
        self.P_aux = p
        self.P_regen = self.P_loss = self.P_brake = self.motor_torque = 0.0
        self.speed = self.motor_speed = 0.0


def cycle_duration(unit: EVUnit) -> float:
    """Total duration of every cycle of the unit's mix, back to back [s]."""
    return sum(c.duration for c in unit.cycles)


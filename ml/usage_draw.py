"""A year of a fleet vehicle's usage without simulating it, and the aging laws run on it.

The aging surrogate learns from (a year of daily usage -> SOH after 1..10 years) pairs, and the warranty
question draws thousands of vehicles from a fleet file: neither can afford the fleet run (about 2.7 CPU s
a vehicle-year for a varied fleet). Here a drawn vehicle (:class:`fleet.spec.Vehicle`) becomes its year as constant-power
segments, by bookkeeping of energy rather than by stepping the vehicle and the pack:

- the week is the one its fleet scenario plays (:func:`fleet.usage.week`: trips of whole passes of the
  style's cycle mix, a charge each day with a trip), repeated from Monday 1 January;
- a trip draws the mix's energy per metre at the hour's outdoor temperature (the EV model's own
  :meth:`bridges.vehicle_unit.EVUnit.forecast_consumption`, HVAC included), evenly over the trip, and
  its charge moves back and forth as the motor drives and regenerates: the pack's throughput (what
  equivalent full cycles count) is that of the mix's cycles at the same temperature on the 10 s grid
  of fleet mode (the EV model's per-second electrical power plus the auxiliary load, averaged over
  10 s, in magnitude);
- a charge puts the home (or DC) charger's power into the pack until the habit's target SOC (a timer
  charge ends at 06:00), at most for its session;
- the current is the power (its magnitude: the throughput) over the pack's nominal voltage, the SOC
  the energy over the pack's nominal energy; the cell's temperature is the air around the pack (the climate's hour, halfway to
  18 degC in a garage, as the fleet scenario wires it): the pack's own heating and its thermal lag
  are left out (what that costs is measured against fleet runs in ``docs/ml.md``).

:func:`daily_table` hands the segments to :class:`fleet.daily.DailySummary` (the fleet's one definition
of each daily feature); :func:`aging_path` runs the twin's aging model (:mod:`battery_fmu.aging`, the
class the battery steps) over the year repeated, as ``evtwin life`` does over a profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fleet.daily import DAY, DailySummary
from fleet.spec import Vehicle

HOUR = 3600.0
YEAR_DAYS = 365
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class UsageYear:
    """One year as segments of constant power: start [s], length ``dt`` [s], pack ``power`` [W] (drawn
    > 0) and ``throughput`` [W] (the mean of its magnitude), ``distance`` [m] driven in it, ``soc`` [1] at
    each segment's start and end (``n + 1`` values), cell ``t_cell`` and outdoor ``t_ambient`` [K]; the
    pack's ``capacity_Ah`` and ``voltage`` [V]."""

    start: np.ndarray
    dt: np.ndarray
    power: np.ndarray
    throughput: np.ndarray
    distance: np.ndarray
    soc: np.ndarray
    t_cell: np.ndarray
    t_ambient: np.ndarray
    capacity_Ah: float
    voltage: float

    @property
    def current(self) -> np.ndarray:
        """Pack current of each segment [A] (discharge > 0): its throughput, with the sign of its net."""
        return np.where(self.power < 0.0, -1.0, 1.0) * self.throughput / self.voltage


@lru_cache(maxsize=64)
def _ev(preset: str, style: str):
    from bridges.vehicle_unit import EVUnit
    from fleet.spec import STYLES

    return EVUnit(preset=preset, cycle=STYLES[style]["cycle"], regen_strength=STYLES[style]["regen_strength"])


@lru_cache(maxsize=4096)
def _throughput_per_pass(preset: str, style: str, t_ambient: float) -> float:
    """The pack's charge throughput over one pass of the style's cycle mix at ``t_ambient`` [K], as
    energy [J]: the magnitude of its 10 s mean power (what a fleet-mode battery step sees), summed."""
    from bridges.vehicle_params import aux_power

    ev = _ev(preset, style)
    aux = aux_power(ev.params, t_ambient, True)
    total = 0.0
    for i in range(len(ev.cycles)):
        p = np.asarray(ev.table(i).seg_elec) + aux
        p = np.concatenate([p, np.zeros(-len(p) % 10)]).reshape(-1, 10)
        total += float(np.abs(p.sum(axis=1)).sum())
    return total


@lru_cache(maxsize=16)
def _hourly_k(climate: str) -> np.ndarray:
    from bridges.climates import read_hourly

    return np.asarray(read_hourly(climate), dtype=float) + 273.15


def _sessions(vehicle: Vehicle) -> list[tuple[float, str, float]]:
    """(start [s from Monday 00:00], phase, length [s]) of the week's sessions, in time order."""
    from fleet.usage import week

    out = []
    for day, sessions in week(vehicle).items():
        for s in sessions:
            hh, mm = s["at"].split(":")
            out.append((_DAYS.index(day) * DAY + int(hh) * HOUR + int(mm) * 60.0, s["phase"],
                        float(s["for"].removesuffix(" s"))))
    return sorted(out)


def usage_year(vehicle: Vehicle, soc0: float = 0.9) -> UsageYear:
    """The vehicle's first year as segments (see the module docstring)."""
    from bridges.presets import get_preset
    from fleet.usage import GARAGE_K, GARAGE_WEIGHT, mix

    preset = get_preset(vehicle.preset)
    energy = preset.battery_kWh * 3.6e6  # J
    outdoor = _hourly_k(vehicle.climate)
    air = outdoor
    if vehicle.parking == "garage":
        air = outdoor * (1.0 - GARAGE_WEIGHT) + GARAGE_WEIGHT * GARAGE_K
    ev = _ev(vehicle.preset, vehicle.style)
    pass_s, pass_m = mix(vehicle.style)
    habit = vehicle.charging
    week = _sessions(vehicle)
    intervals = []  # (start, end, power [W], distance [m], throughput [W])
    soc = soc0
    for d0 in range(0, YEAR_DAYS, 7):
        for start, phase, length in week:
            t0 = d0 * DAY + start
            if t0 >= YEAR_DAYS * DAY:
                break
            if phase == "drive":
                passes = length / pass_s
                t_out = round(float(outdoor[int(t0 // HOUR) % len(outdoor)]), 1)
                e = ev.forecast_consumption(t_out) * passes * pass_m
                e = min(e, soc * energy)
                moved = _throughput_per_pass(vehicle.preset, vehicle.style, t_out) * passes
                throughput = max(moved, e) / length
                intervals.append((t0, t0 + length, e / length, passes * pass_m, throughput))
                soc -= e / energy
                continue
            fast = phase == "fast"
            target = habit["fast_target_soc"] if fast else habit["target_soc"]
            p = 1000.0 * (habit["fast_power_kW"] if fast else habit["power_kW"])
            need = min(max(target - soc, 0.0) * energy / p, length)
            if need <= 0.0:
                continue
            if not fast and habit["mode"] == "timer":
                t0 = t0 + length - need  # a timer charge ends as the session does (06:00)
            intervals.append((t0, min(t0 + need, YEAR_DAYS * DAY), -p, 0.0, p))
            soc += need * p / energy
    return _segments(intervals, air, outdoor, soc0, energy, preset.capacity_Ah, preset.nominal_voltage_V)


def _segments(intervals, air, outdoor, soc0, energy, capacity_Ah, voltage) -> UsageYear:
    """The year cut at every hour and at every session's edges."""
    iv = np.array(intervals, dtype=float).reshape(-1, 5)
    edges = np.unique(np.concatenate([np.arange(0.0, YEAR_DAYS * DAY + 1.0, HOUR), iv[:, 0], iv[:, 1]]))
    edges = edges[edges <= YEAR_DAYS * DAY]
    start, dt = edges[:-1], np.diff(edges)
    k = np.searchsorted(iv[:, 0], start, side="right") - 1  # the last session begun by the segment's start
    s = iv[np.maximum(k, 0)]
    inside = (k >= 0) & (start < s[:, 1])
    power = np.where(inside, s[:, 2], 0.0)
    rate = np.where(inside, s[:, 3] / (s[:, 1] - s[:, 0]), 0.0)
    throughput = np.where(inside, s[:, 4], 0.0)
    soc = np.clip(soc0 - np.concatenate([[0.0], np.cumsum(power * dt)]) / energy, 0.0, 1.0)
    hour = (start // HOUR).astype(int) % len(air)
    return UsageYear(start, dt, power, throughput, rate * dt, soc, air[hour], outdoor[hour], capacity_Ah,
                     voltage)


def daily_table(year: UsageYear) -> dict[str, np.ndarray]:
    """The :mod:`fleet.daily` table of the year (365 rows), the SOH columns left at 1."""
    summary = DailySummary(year.capacity_Ah)
    summary.reset(0.0)
    current = year.current
    charge = np.where(current < 0.0, -current, 0.0)
    efc = np.concatenate([[0.0], np.cumsum(np.abs(current) * year.dt)]) / (2.0 * year.capacity_Ah * HOUR)
    odometer = np.concatenate([[0.0], np.cumsum(year.distance)])
    first = [0.0, 0.0, 0.0, year.soc[0], 0.0, year.voltage, year.t_cell[0], 0.0, 1.0, 1.0, year.t_ambient[0],
             0.0]
    summary.add(0.0, first)
    for i in range(len(year.dt)):
        summary.add(float(year.start[i] + year.dt[i]), [
            odometer[i + 1], year.power[i], 0.0, year.soc[i + 1], current[i], year.voltage, year.t_cell[i],
            efc[i + 1], 1.0, 1.0, year.t_ambient[i], charge[i]])
    summary.finish()
    return summary.table()


def daily_stressors(year: UsageYear) -> dict[str, np.ndarray]:
    """The columns of :func:`daily_table` the aging surrogate reads (:data:`ml.surrogate.DAILY`), with
    numpy over the whole year at once: what :class:`fleet.daily.DailySummary` makes of the same segments
    (``tests/test_ml_surrogate.py`` holds them equal), some hundred times faster."""
    day = (year.start // DAY).astype(int)
    cuts = np.flatnonzero(np.diff(day)) + 1
    first = np.concatenate([[0], cuts])
    span = np.add.reduceat(year.dt, first)
    soc = year.soc[1:]  # the summary reads each step's values at its end
    current = np.abs(year.current)
    run_max = np.maximum.accumulate(soc + 2.0 * day) - 2.0 * day  # within each day (soc in [0, 1])
    t_c = year.t_cell - 273.15
    return {
        "efc": np.add.reduceat(current * year.dt, first) / (2.0 * year.capacity_Ah * HOUR),
        "soc_mean": np.add.reduceat(soc * year.dt, first) / span,
        "soc_min": np.minimum.reduceat(soc, first),
        "soc_max": np.maximum.reduceat(soc, first),
        "cycle_depth": np.maximum.reduceat(run_max - soc, first),
        "t_cell_mean_degC": np.add.reduceat(t_c * year.dt, first) / span,
        "t_cell_min_degC": np.minimum.reduceat(t_c, first),
        "t_cell_max_degC": np.maximum.reduceat(t_c, first),
        "high_soc_h": np.add.reduceat(np.where(soc > 0.8, year.dt, 0.0), first) / HOUR,
        "distance_km": np.add.reduceat(year.distance, first) / 1000.0,
    }


def aging_path(year: UsageYear, years: int = 10, parameter_set: str = "lfp_220ah") -> np.ndarray:
    """[years, 2]: the calendar and cycle capacity fade (``q_cal``, ``q_cyc`` [1]) of a nominal pack at the
    end of each year of ``year`` repeated, by the twin's aging model (SOH = 1 - q_cal - q_cyc; a pack's
    manufacturing factors scale the three terms, :mod:`battery_fmu.variation`)."""
    from battery_fmu.aging_laws import aging_model
    from battery_fmu.parameters import load_cell

    params = load_cell(parameter_set, capacity_Ah=year.capacity_Ah)  # the pack as one cell
    model = aging_model(params, warn=lambda message: None)
    model.reset_soc(float(year.soc[0]))
    dt, soc, t, current = year.dt.tolist(), year.soc.tolist(), year.t_cell.tolist(), year.current.tolist()
    advance = model.advance
    out = np.zeros((years, 2))
    for y in range(years):
        for i in range(len(dt)):
            advance(dt[i], soc[i], soc[i + 1], t[i], current[i])
        model.close_chunk(soc[-1])
        out[y] = model.q_cal, model.q_cyc
    return out

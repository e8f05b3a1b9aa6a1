"""Daily summary of a vehicle's run: one row per day of the features fleet and warranty engineers use.

An observer of the engine: at every communication point it adds the step that ends there to the
day in which that step began (power outputs are means over the step, so ``P * h`` is the step's
energy). Definitions (per day):

- ``distance_km``; ``energy_kWh`` drawn at the battery terminals by the vehicle (net of regen),
  ``regen_kWh`` returned by braking, ``regen_fraction`` = regen / energy drawn in steps that draw;
- ``avg_power_kW`` while driving (steps that cover distance), ``peak_power_kW`` (largest step mean);
- ``soc_min``, ``soc_max``, ``soc_mean`` (time-weighted), ``soc_swing`` = max - min, ``cycle_depth``
  (the deepest fall from a running maximum within the day), ``high_soc_h`` (hours with SOC > 0.8);
- ``efc`` (equivalent full cycles that day), ``charge_kWh`` (into the pack from chargers);
- ``c_rate_p50``, ``c_rate_p99`` (time-weighted percentiles of |I| / nominal capacity while current
  flows, to 0.02 C), ``c_rate_max``;
- ``t_cell_min/mean/max_degC``, ``t_ambient_mean_degC``, ``thermal_stress_Kh`` (kelvin-hours of the
  cell above 30 degC);
- ``fast_charge_events`` (charges that reach 0.5 C), ``soh_capacity``, ``soh_resistance`` at the end;
- ``stranded_events`` (drives in which the pack ran out and the car stood until the drive's end) and
  ``missed_targets`` (charging sessions that ended, the car unplugged at its departure, more than 1e-3
  under the SOC they charged to), counted by :class:`fleet.events.SessionEvents` in the day they happen.
"""

from __future__ import annotations

import math

import numpy as np

from cosim.master import Master, Observer
from cosim.unit import OUTPUT

DAY = 86400.0
K0 = 273.15
HIGH_SOC = 0.8
STRESS_T = 303.15
FAST_C = 0.5
BIN_C = 0.02
N_BINS = 400  # up to 8 C; faster steps land in the last bin

COLUMNS = (
    "day", "distance_km", "energy_kWh", "regen_kWh", "regen_fraction", "avg_power_kW", "peak_power_kW",
    "soc_min", "soc_max", "soc_mean", "soc_swing", "cycle_depth", "high_soc_h", "efc", "charge_kWh",
    "c_rate_p50", "c_rate_p99", "c_rate_max", "t_cell_min_degC", "t_cell_mean_degC", "t_cell_max_degC",
    "t_ambient_mean_degC", "thermal_stress_Kh", "fast_charge_events", "soh_capacity", "soh_resistance",
    "stranded_events", "missed_targets",
)
#: Columns that count events (integers), the last two counted from outside (:meth:`DailySummary.count`).
EVENTS = ("fast_charge_events", "stranded_events", "missed_targets")
#: The day's running sums and extremes, in the order :meth:`DailySummary.add_series` keeps them in locals.
_RUNNING = ("_span", "_e", "_e_pos", "_regen", "_drive_t", "_e_drive", "_peak", "_soc_int", "_soc_lo", "_soc_hi",
            "_run_max", "_depth", "_hi_t", "_t_int", "_ta_int", "_t_lo", "_t_hi", "_stress", "_charge", "_fast",
            "_fast_on")
SIGNALS = ("vehicle.distance", "vehicle.P_battery", "vehicle.P_regen", "battery.SOC", "battery.I_terminal",
           "battery.V_terminal", "battery.T_cell", "battery.EFC", "battery.SOH_capacity", "battery.SOH_resistance",
           "schedule.T_ambient", "battery.I_charge")


class DailySummary(Observer):
    """Collects :data:`COLUMNS` per day; ``rows`` holds the finished days.

    Parameters
    ----------
    capacity_Ah : float
        Nominal pack capacity [A.h] for C-rates.
    """

    def __init__(self, capacity_Ah: float):
        self.capacity = float(capacity_Ah)
        self.rows: list[tuple] = []

    def start(self, master: Master, t0: float) -> None:
        self._at = []
        for sig in SIGNALS:
            i, causality, pos = master.locate(sig)
            self._at.append((causality == OUTPUT, i, pos))
        self.reset(t0)

    def reset(self, t0: float) -> None:
        """Start over at ``t0`` [s], before the first :meth:`add`."""
        self.t_last = t0
        self._day = -1
        self._fast_on = False
        self._prev = None
        self._events = {"stranded_events": 0, "missed_targets": 0}

    def _read(self, outs, ins) -> list[float]:
        return [(outs if o else ins)[i][pos] for o, i, pos in self._at]

    def _open(self, day: int, v: list[float]) -> None:
        self._day = day
        self._d0, self._efc0 = v[0], v[7]
        self._span = self._drive_t = self._e = self._e_pos = self._e_drive = self._regen = 0.0
        self._soc_int = self._hi_t = self._t_int = self._ta_int = self._stress = self._charge = 0.0
        self._soc_lo, self._soc_hi, self._t_lo, self._t_hi = math.inf, -math.inf, math.inf, -math.inf
        self._run_max, self._depth, self._peak, self._fast = -math.inf, 0.0, -math.inf, 0
        self._hist = [0.0] * (N_BINS + 1)
        self._events = {"stranded_events": 0, "missed_targets": 0}

    def count(self, column: str) -> None:
        """Count an event (a column of :data:`EVENTS` other than fast charges) in the day whose step was
        last added: an observer calls it after the step in which the event happened."""
        self._events[column] += 1

    def sample(self, t: float, outs: list, ins: list) -> None:
        self.add(t, self._read(outs, ins))

    def add(self, t: float, v: list[float]) -> None:
        """Account the step that ends at ``t`` [s], with the :data:`SIGNALS` values ``v`` at its end (the
        first call gives the state at the start). A unit that takes sub-steps reports them here."""
        if self._prev is None:  # the start: the state before any step
            self._prev = v
            self._open(int(t // DAY), v)
            return
        h = t - self.t_last
        day = int(self.t_last // DAY)
        if day != self._day:
            self._close(self._prev)
            self._open(day, self._prev)
        self.t_last = t
        self._add(v, h)
        self._prev = v

    def add_series(self, times: list[float], columns: list) -> None:  # noqa: C901 - _add's pass, in locals
        """Account steps that end at ``times`` [s], bit for bit as many calls of :meth:`add`: ``columns``
        holds one list per :data:`SIGNALS` value with a step's value in each (a sub-stepping unit's
        stretch); the soh columns are read at the last step only (the day's end is never inside)."""
        if (self._prev is None or int(self.t_last // DAY) != self._day
                or int(times[-2 if len(times) > 1 else -1] // DAY) != self._day):
            for j, t in enumerate(times):  # a day ends within them: one by one
                self.add(t, [column[j] for column in columns])
            return
        dist, power, regen, soc, current, volt, temp, _, _, _, ambient, charge_current = columns
        capacity, hist = self.capacity, self._hist
        t_last, prev_dist = self.t_last, self._prev[0]
        (span, e_all, e_pos, e_regen, drive_t, e_drive, peak, soc_int, soc_lo, soc_hi, run_max, depth, hi_t, t_int,
         ta_int, t_lo, t_hi, stress, charged, n_fast, fast_on) = (getattr(self, name) for name in _RUNNING)
        for t, d, p, rg, s, i, v, tc, ta, i_chg in zip(times, dist, power, regen, soc, current, volt, temp,
                                                        ambient, charge_current):
            h = t - t_last
            t_last = t
            span += h
            e = p * h
            e_all += e
            if e > 0.0:
                e_pos += e
            e_regen += rg * h
            if d > prev_dist:
                drive_t += h
                e_drive += e
            prev_dist = d
            if p > peak:
                peak = p
            soc_int += s * h
            if s < soc_lo:
                soc_lo = s
            if s > soc_hi:
                soc_hi = s
            if s > run_max:
                run_max = s
            elif run_max - s > depth:
                depth = run_max - s
            if s > HIGH_SOC:
                hi_t += h
            t_int += tc * h
            ta_int += ta * h
            if tc < t_lo:
                t_lo = tc
            if tc > t_hi:
                t_hi = tc
            if tc > STRESS_T:
                stress += (tc - STRESS_T) * h
            if i != 0.0:
                c = abs(i) / capacity
                hist[min(int(c / BIN_C), N_BINS)] += h
            if i_chg > 0.0:
                charged += i_chg * v * h
            fast = i_chg / capacity >= FAST_C
            if fast and not fast_on:
                n_fast += 1
            fast_on = fast
        self.t_last = t_last
        for name, value in zip(_RUNNING, (span, e_all, e_pos, e_regen, drive_t, e_drive, peak, soc_int, soc_lo, soc_hi,
                                          run_max, depth, hi_t, t_int, ta_int, t_lo, t_hi, stress, charged, n_fast,
                                          fast_on), strict=True):
            setattr(self, name, value)
        self._prev = [column[-1] for column in columns]

    def _add(self, v: list[float], h: float) -> None:  # noqa: C901 - one pass over the signals of a step
        dist, p, regen, soc, i, volt, tc, _, _, _, ta, i_chg = v
        self._span += h
        e = p * h
        self._e += e
        if e > 0.0:
            self._e_pos += e
        self._regen += regen * h
        if dist > self._prev[0]:
            self._drive_t += h
            self._e_drive += e
        if p > self._peak:
            self._peak = p
        self._soc_int += soc * h
        if soc < self._soc_lo:
            self._soc_lo = soc
        if soc > self._soc_hi:
            self._soc_hi = soc
        if soc > self._run_max:
            self._run_max = soc
        elif self._run_max - soc > self._depth:
            self._depth = self._run_max - soc
        if soc > HIGH_SOC:
            self._hi_t += h
        self._t_int += tc * h
        self._ta_int += ta * h
        if tc < self._t_lo:
            self._t_lo = tc
        if tc > self._t_hi:
            self._t_hi = tc
        if tc > STRESS_T:
            self._stress += (tc - STRESS_T) * h
        if i != 0.0:
            c = abs(i) / self.capacity
            self._hist[min(int(c / BIN_C), N_BINS)] += h
        if i_chg > 0.0:
            self._charge += i_chg * volt * h
        fast = i_chg / self.capacity >= FAST_C
        if fast and not self._fast_on:
            self._fast += 1
        self._fast_on = fast

    def _percentile(self, q: float) -> float:
        hist = np.asarray(self._hist)
        total = hist.sum()
        if total <= 0.0:
            return 0.0
        k = int(np.searchsorted(np.cumsum(hist), q * total))
        return (min(k, N_BINS) + 0.5) * BIN_C

    def _close(self, v: list[float]) -> None:
        span = self._span or 1.0
        nonzero = [k for k, w in enumerate(self._hist) if w > 0.0]
        self.rows.append((
            self._day,
            (v[0] - self._d0) / 1000.0,
            self._e / 3.6e6,
            self._regen / 3.6e6,
            self._regen / self._e_pos if self._e_pos > 0.0 else 0.0,
            self._e_drive / self._drive_t / 1000.0 if self._drive_t > 0.0 else 0.0,
            self._peak / 1000.0 if self._peak > -math.inf else 0.0,
            self._soc_lo, self._soc_hi, self._soc_int / span, self._soc_hi - self._soc_lo, self._depth,
            self._hi_t / 3600.0,
            v[7] - self._efc0,
            self._charge / 3.6e6,
            self._percentile(0.5), self._percentile(0.99),
            (nonzero[-1] + 1) * BIN_C if nonzero else 0.0,
            self._t_lo - K0, self._t_int / span - K0, self._t_hi - K0, self._ta_int / span - K0,
            self._stress / 3600.0,
            self._fast,
            v[8], v[9],
            self._events["stranded_events"], self._events["missed_targets"],
        ))

    def finish(self) -> None:
        """Close the day in progress (call once the run ended)."""
        if self._prev is not None and self._span > 0.0:
            self._close(self._prev)
            self._span = 0.0

    def table(self) -> dict[str, np.ndarray]:
        """The finished days as columns."""
        data = np.array(self.rows, dtype=float).reshape(len(self.rows), len(COLUMNS))
        out = {name: data[:, k] for k, name in enumerate(COLUMNS)}
        out["day"] = out["day"].astype(np.int32)
        for name in EVENTS:
            out[name] = out[name].astype(np.int32)
        return out

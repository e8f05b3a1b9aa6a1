"""Online capacity fade and resistance growth, with stressors extracted as the model runs.

Capacity: the large-format LFP model of Gasper et al. 2023 (NREL BLAST-Lite
``Lfp_Gr_250AhPrismatic``). Stressors are gathered the way BLAST-Lite gathers them from a
whole profile, but without look-ahead: the profile is cut into chunks that close at a SOC
turning point once more than ``chunk_efc`` equivalent full cycles have passed, or after
``chunk_time``; per chunk the rates are time averages of the rate expressions, DOD is the
SOC range, the C-rate the time average of |dSOC/dt| (values under ``crate_floor`` count as
storage), and the states move by the "virtual time" update of the power laws.

Resistance: Naumann et al. 2018 (calendar, linear in time) and 2020 (cycle, linear in EFC).

Equivalent full cycles and C-rates count charge against the *nominal* capacity, as
BLAST-Lite does (its dEFC is |dSOC|/2 times the relative capacity q).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from battery_fmu import equations as eq
from battery_fmu.ops import Table1D
from battery_fmu.parameters import CellParameters
from battery_fmu.trace import compile_traced
from battery_fmu.variation import Variation

log = logging.getLogger(__name__)

_SECONDS_PER_DAY = 86400.0


class AgingModel:
    """Capacity and resistance aging of one cell (all cells of a pack age alike).

    Parameters
    ----------
    params : CellParameters
        The cell's parameter set.
    soh_capacity : float
        Initial relative capacity [1]; the missing part is booked as calendar fade.
    warn : callable, optional
        Receives each out-of-range message once; defaults to this module's logger.
    variation : Variation, optional
        This pack's manufacturing factors (:mod:`battery_fmu.variation`); nominal when omitted.
    """

    __slots__ = (
        "p", "a", "q_nominal", "warn", "_warned",
        "q_cal", "q_cyc", "r_cal", "r_cyc", "efc", "time",
        "c_time", "c_efc", "c_kcal", "c_ftemp", "c_crate", "c_soc_min", "c_soc_max", "c_direction",
        "c_charge_time", "c_charge_crate", "c_discharge_time", "c_discharge_crate", "c_temp",
        "_floor_current", "_anode_potential", "_rates",
        "v_capacity", "v_calendar", "v_cycle", "v_resistance",
    )

    #: What the cycle law does with a temperature outside its fitted range (said in the warning).
    _outside_temperature_range = "the cycle-fade term is clamped to the range's edge"

    def __init__(self, params: CellParameters, soh_capacity: float = 1.0, soh_resistance: float = 1.0,
                 warn: Callable[[str], None] | None = None, variation: Variation | None = None):
        self.p = params
        v = variation or Variation()
        self.v_capacity, self.v_calendar, self.v_cycle, self.v_resistance = (
            v.capacity, v.calendar, v.cycle, v.resistance)
        self.a = params.aging
        self.q_nominal = params.capacity
        self.warn = warn or log.warning
        self._warned: set[str] = set()
        # Committed states (relative capacity loss, relative resistance growth).
        self.q_cal = 1.0 - soh_capacity
        self.q_cyc = 0.0
        self.r_cal = soh_resistance - 1.0
        self.r_cyc = 0.0
        self.efc = 0.0  # committed equivalent full cycles
        self.time = 0.0  # committed aging time [s]
        # |I| below this counts as storage (BLAST-Lite's 0.01/h floor on |dSOC/dt|).
        self._floor_current = self.a.crate_floor * params.capacity / 3600.0
        # The graphite potential, tabulated from its equation on a fine grid: one look-up per step
        # instead of six transcendental functions (interpolation error < 0.1 mV).
        grid = tuple(i / 2000.0 for i in range(2001))
        self._anode_potential = Table1D("graphite potential", grid,
                                        tuple(eq.graphite_potential(s, params) for s in grid))
        self._rates = self._compile_rates()
        self._open_chunk(0.5)

    # ------------------------------------------------------------------ chunk bookkeeping

    def _open_chunk(self, soc: float) -> None:
        self.c_time = 0.0  # s
        self.c_efc = 0.0
        self.c_kcal = 0.0  # integral of k_cal dt
        self.c_ftemp = 0.0  # integral of the cycle temperature factor dt
        self.c_crate = 0.0  # integral of C-rate dt [h^-1 s]
        self.c_temp = 0.0  # integral of T dt, for the range check
        self.c_soc_min = soc
        self.c_soc_max = soc
        self.c_direction = 0
        self.c_charge_time = self.c_charge_crate = 0.0
        self.c_discharge_time = self.c_discharge_crate = 0.0

    def reset_soc(self, soc: float) -> None:
        """Start the open chunk's SOC range at ``soc`` (after setting the initial state)."""
        self.c_soc_min = self.c_soc_max = soc

    def advance(self, dt: float, soc_start: float, soc_end: float, temperature: float, current: float) -> None:
        """Account one step of ``dt`` [s] with constant ``current`` [A] and mean ``temperature`` [K].

        ``soc_start``/``soc_end`` [1] are relative to the actual capacity.
        """
        if dt <= 0.0:
            return
        direction = 1 if soc_end > soc_start else (-1 if soc_end < soc_start else 0)
        if direction and self.c_direction and direction != self.c_direction:
            # soc_start is a turning point: BLAST-Lite closes a chunk here after > chunk_efc cycles.
            if self.c_efc > self.a.chunk_efc:
                self.close_chunk(soc_start)
        if direction:
            self.c_direction = direction

        self._accumulate_rates(dt, 0.5 * (soc_start + soc_end), temperature)
        self.c_temp += temperature * dt
        abs_current = current if current >= 0.0 else -current
        if abs_current > 0.0:
            self.c_efc += abs_current * dt / (2.0 * self.q_nominal)
            if abs_current >= self._floor_current * self.v_capacity * (1.0 - self.q_cal - self.q_cyc):
                crate = abs_current * 3600.0 / self.q_nominal
                self.c_crate += crate * dt
                if current < 0.0:
                    self.c_charge_time += dt
                    self.c_charge_crate += crate * dt
                else:
                    self.c_discharge_time += dt
                    self.c_discharge_crate += crate * dt
        if soc_end < self.c_soc_min:
            self.c_soc_min = soc_end
        elif soc_end > self.c_soc_max:
            self.c_soc_max = soc_end
        self.c_time += dt
        if self.c_time >= self.a.chunk_time - 1e-6:
            self.close_chunk(soc_end)

    def _rate_expressions(self, ops, soc_mid, temperature) -> tuple:
        """(k_cal, cycle temperature factor, calendar resistance rate [1/s]) at a step's mid SOC [1] and
        mean temperature [K]: what :meth:`_accumulate_rates` integrates over a chunk."""
        p = self.p
        return (eq.calendar_rate(temperature, ops.interp(self._anode_potential, soc_mid), p, ops),
                eq.cycle_temperature_factor(temperature, p, ops),
                eq.calendar_resistance_rate(temperature, soc_mid, p, ops))

    def _compile_rates(self):
        """:meth:`_rate_expressions` for this cell as one generated function (:mod:`battery_fmu.trace`):
        it runs every step."""
        return compile_traced("aging_rates", self._rate_expressions, ["soc_mid", "temperature"])

    #: What :meth:`_accumulate_rates` adds each step, in its order: (attribute, index of the rate in
    #: :meth:`_rate_expressions`, attribute of a factor or None), ``attribute += rate * factor * dt``;
    #: the C loop of :mod:`battery_fmu.series_native` adds them so.
    RATE_INTEGRALS: tuple = (("c_kcal", 0, None), ("c_ftemp", 1, None), ("r_cal", 2, "v_resistance"))

    def traced_rates(self):
        """:meth:`_rate_expressions` as a traced function of ``(soc_mid, temperature)``
        (:mod:`battery_fmu.trace`), for a translation to C."""
        return self._rates

    def _accumulate_rates(self, dt: float, soc_mid: float, temperature: float) -> None:
        """Add one step's rate expressions to the open chunk (the law-specific part of :meth:`advance`)."""
        k_cal, factor, resistance_rate = self._rates(soc_mid, temperature)
        self.c_kcal += k_cal * dt
        self.c_ftemp += factor * dt
        self.r_cal += resistance_rate * self.v_resistance * dt

    def _chunk_increments(self) -> tuple[float, float, float, float]:
        """(dq_cal, dq_cyc, dr_cyc, dod) if the open chunk closed now."""
        t = self.c_time
        if t <= 0.0:
            return 0.0, 0.0, 0.0, 0.0
        a, p = self.a, self.p
        dod = self.c_soc_max - self.c_soc_min
        crate = self.c_crate / t
        k_cal = self.c_kcal / t * self.v_calendar
        k_cyc = eq.cycle_rate(dod, crate, self.c_ftemp / t, p) * self.v_cycle
        dq_cal = eq.power_law_increment(self.q_cal, t / _SECONDS_PER_DAY, k_cal, a.pcal)
        dq_cyc = eq.power_law_increment(self.q_cyc, self.c_efc, k_cyc, a.pcyc) if self.c_efc > 0.0 else 0.0
        dr_cyc = eq.cycle_resistance_per_efc(crate, dod, p) * self.c_efc * self.v_resistance
        return dq_cal, dq_cyc, dr_cyc, dod

    def close_chunk(self, soc: float) -> None:
        """Commit the open chunk's fade and start a new one at ``soc`` [1]."""
        dq_cal, dq_cyc, dr_cyc, dod = self._chunk_increments()
        self._check_range(dod)
        self.q_cal += dq_cal
        self.q_cyc += dq_cyc
        self.r_cyc += dr_cyc
        self.efc += self.c_efc
        self.time += self.c_time
        self._open_chunk(soc)

    def _check_range(self, dod: float) -> None:
        a = self.a
        if self.c_efc > 0.05 and self.c_time > 0.0:
            t_mean = self.c_temp / self.c_time
            if not a.cycling_temperature_min <= t_mean <= a.cycling_temperature_max:
                self._warn_once("temperature", f"cycling at {t_mean - 273.15:.1f} degC, outside the fitted "
                                f"{a.cycling_temperature_min - 273.15:.0f}-{a.cycling_temperature_max - 273.15:.0f}"
                                f" degC: {self._outside_temperature_range}")
            if dod < a.dod_min - 1e-9 and self.c_efc > 0.5:
                self._warn_once("dod", f"depth of discharge {dod:.2f} below the fitted {a.dod_min:.2f}-1.0: "
                                "the cycle-fade term extrapolates")
        if self.c_charge_time > 0.0 and self.c_charge_crate / self.c_charge_time > a.crate_charge_max:
            self._warn_once("charge", f"charging at {self.c_charge_crate / self.c_charge_time:.2f}C on average, "
                            f"above the fitted {a.crate_charge_max:.2f}C: fade at this rate is extrapolated")
        if self.c_discharge_time > 0.0 and self.c_discharge_crate / self.c_discharge_time > a.crate_discharge_max:
            self._warn_once("discharge", f"discharging at {self.c_discharge_crate / self.c_discharge_time:.2f}C "
                            f"on average, above the fitted {a.crate_discharge_max:.2f}C")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.warn(f"aging model out of its fitted range: {message}")

    # ------------------------------------------------------------------ outputs

    @property
    def soh_capacity_committed(self) -> float:
        """Capacity relative to nominal [1] at the last closed chunk (what the electrical model uses)."""
        return self.v_capacity * (1.0 - self.q_cal - self.q_cyc)

    @property
    def soh_capacity(self) -> float:
        """Capacity relative to nominal [1] including the open chunk, as if it closed now."""
        dq_cal, dq_cyc, _, _ = self._chunk_increments()
        return self.v_capacity * (1.0 - self.q_cal - self.q_cyc - dq_cal - dq_cyc)

    @property
    def soh_resistance(self) -> float:
        """Resistance relative to new [1], including the open chunk."""
        _, _, dr_cyc, _ = self._chunk_increments()
        return 1.0 + self.r_cal + self.r_cyc + dr_cyc

    @property
    def resistance_factor(self) -> float:
        """Resistance multiplier the electrical model uses (calendar part continuous, cycle part per chunk)."""
        return 1.0 + self.r_cal + self.r_cyc

    @property
    def chunk_time_left(self) -> float:
        """Time [s] until the open chunk closes on time (it may close earlier at a turning point)."""
        return self.a.chunk_time - self.c_time

    @property
    def total_efc(self) -> float:
        """Equivalent full cycles so far [1] (against nominal capacity)."""
        return self.efc + self.c_efc

    # ------------------------------------------------------------------ state

    _STATE = ("q_cal", "q_cyc", "r_cal", "r_cyc", "efc", "time", "c_time", "c_efc", "c_kcal", "c_ftemp",
              "c_crate", "c_soc_min", "c_soc_max", "c_direction", "c_charge_time", "c_charge_crate",
              "c_discharge_time", "c_discharge_crate", "c_temp")

    def get_state(self) -> list:
        """Every number that determines the future, plus the warnings already given."""
        return [getattr(self, k) for k in self._STATE] + [sorted(self._warned)]

    def set_state(self, state: list) -> None:
        for k, v in zip(self._STATE, state):
            setattr(self, k, v)
        self._warned = set(state[len(self._STATE)])

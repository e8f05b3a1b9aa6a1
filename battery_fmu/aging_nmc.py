"""Online aging of an NMC/graphite cell: Gasper et al. 2023 capacity, Schmalstieg et al. 2014 resistance.

The stressors are gathered exactly as for the LFP cell (:class:`battery_fmu.aging.AgingModel`: chunks
that close at SOC turning points after one EFC or after a day, rates averaged over the chunk, states
moved by the virtual-time update of their power laws); only the rate expressions differ
(:mod:`battery_fmu.nmc_laws`).

The NMC cycle rate is not a product of a temperature factor and a stress factor: two of its terms
hold the temperature inside an exponential together with the chunk's DOD and C-rate, which are known
only when the chunk closes. The chunk keeps the time means of Tn^2, Tn^3 and Tn^-1/2 and evaluates the
rate with them; against BLAST-Lite's average of the rate over the chunk's samples this differs by the
second-order term of the temperature spread within the chunk (below 0.03 % of the rate for +-5 K).
"""

from __future__ import annotations

from battery_fmu import nmc_laws as law
from battery_fmu.aging import AgingModel
from battery_fmu.equations import power_law_increment
from battery_fmu.ops import SCALAR
from battery_fmu.trace import compile_traced

_SECONDS_PER_DAY = 86400.0


class NmcAgingModel(AgingModel):
    """Capacity and resistance aging of one NMC/graphite cell (parameters with ``chemistry = "NMC"``).

    Parameters, outputs and state handling as :class:`battery_fmu.aging.AgingModel`.
    """

    __slots__ = ("c_tn2", "c_tn3", "c_tn_inv_sqrt", "c_vsq", "c_rcal", "_rate_cache", "_traced")

    _STATE = AgingModel._STATE + ("c_tn2", "c_tn3", "c_tn_inv_sqrt", "c_vsq", "c_rcal")
    # The NMC law rises monotonically with temperature; it is used beyond its range as BLAST-Lite uses it.
    _outside_temperature_range = "the cycle-fade term extrapolates"

    def __init__(self, params, soh_capacity: float = 1.0, soh_resistance: float = 1.0, warn=None,
                 variation=None):
        self._rate_cache: tuple = (float("nan"), float("nan"), ())
        self._traced = None  # traced_rates(), compiled when first asked
        super().__init__(params, soh_capacity=soh_capacity, soh_resistance=soh_resistance, warn=warn,
                         variation=variation)

    def _open_chunk(self, soc: float) -> None:
        super()._open_chunk(soc)
        self.c_tn2 = self.c_tn3 = self.c_tn_inv_sqrt = 0.0  # integrals of Tn^2, Tn^3, Tn^-1/2 dt
        self.c_vsq = 0.0  # integral of V^2 dt [V^2 s]
        self.c_rcal = 0.0  # integral of the calendar resistance rate dt

    def _compile_rates(self):
        return None  # the NMC laws' rates are cached per operating point instead (_step_rates)

    #: As :attr:`AgingModel.RATE_INTEGRALS`, for :meth:`_accumulate_rates` below.
    RATE_INTEGRALS = (("c_kcal", 0, None), ("c_tn2", 1, None), ("c_tn3", 2, None), ("c_tn_inv_sqrt", 3, None),
                      ("c_vsq", 4, None), ("c_rcal", 5, None))

    def _rate_expressions(self, ops, soc_mid, temperature) -> tuple:
        """(k_cal, Tn^2, Tn^3, Tn^-1/2, V^2, alpha_res) at a step's mid SOC [1] and mean temperature [K]."""
        p = self.p
        tn = temperature / self.a.temperature_norm
        voltage = ops.interp(p.ocv, soc_mid)
        return (
            law.calendar_rate(temperature, ops.interp(self._anode_potential, soc_mid), p, ops),
            tn * tn,
            tn * tn * tn,
            tn**-0.5,
            voltage * voltage,
            law.calendar_resistance_rate(temperature, voltage, p, ops),
        )

    def traced_rates(self):
        if self._traced is None:
            self._traced = compile_traced("nmc_aging_rates", self._rate_expressions, ["soc_mid", "temperature"])
        return self._traced

    def _step_rates(self, soc_mid: float, temperature: float) -> tuple[float, ...]:
        """:meth:`_rate_expressions` at one operating point, cached for repeats."""
        cached_soc, cached_t, rates = self._rate_cache
        if soc_mid == cached_soc and temperature == cached_t:
            return rates
        rates = self._rate_expressions(SCALAR, soc_mid, temperature)
        self._rate_cache = (soc_mid, temperature, rates)
        return rates

    def _accumulate_rates(self, dt: float, soc_mid: float, temperature: float) -> None:
        k_cal, tn2, tn3, tn_inv_sqrt, vsq, alpha = self._step_rates(soc_mid, temperature)
        self.c_kcal += k_cal * dt
        self.c_tn2 += tn2 * dt
        self.c_tn3 += tn3 * dt
        self.c_tn_inv_sqrt += tn_inv_sqrt * dt
        self.c_vsq += vsq * dt
        self.c_rcal += alpha * dt

    def _chunk_increments(self) -> tuple[float, float, float, float]:
        """(dq_cal, dq_cyc, dr_cyc, dod) if the open chunk closed now."""
        t = self.c_time
        if t <= 0.0:
            return 0.0, 0.0, 0.0, 0.0
        a, p = self.a, self.p
        dod = self.c_soc_max - self.c_soc_min
        crate = self.c_crate / t
        tn2, tn3, tn_inv_sqrt = self.c_tn2 / t, self.c_tn3 / t, self.c_tn_inv_sqrt / t
        k_cyc = self.v_cycle * law.cycle_rate(dod, crate, tn2, tn3, tn_inv_sqrt, p)
        k_cal = self.c_kcal / t * self.v_calendar
        dq_cal = power_law_increment(self.q_cal, t / a.time_scale, k_cal, a.pcal)
        dq_cyc = 0.0
        if self.c_efc > 0.0:
            dq_cyc = power_law_increment(self.q_cyc, self.c_efc / a.efc_scale, k_cyc, a.pcyc)
        dr_per_efc = law.cycle_resistance_per_efc((self.c_vsq / t) ** 0.5, dod, p)
        dr_cyc = dr_per_efc * self.c_efc * self.v_resistance
        return dq_cal, dq_cyc, dr_cyc, dod

    def _calendar_resistance_increment(self) -> float:
        t = self.c_time
        if t <= 0.0:
            return 0.0
        r = self.p.aging_resistance
        alpha = self.c_rcal / t * self.v_resistance
        return power_law_increment(self.r_cal, t / _SECONDS_PER_DAY, alpha, r.calendar_exponent)

    def close_chunk(self, soc: float) -> None:
        """Commit the open chunk's fade and resistance growth and start a new chunk at ``soc`` [1]."""
        self.r_cal += self._calendar_resistance_increment()
        super().close_chunk(soc)

    @property
    def soh_resistance(self) -> float:
        """Resistance relative to new [1], including the open chunk."""
        _, _, dr_cyc, _ = self._chunk_increments()
        return 1.0 + self.r_cal + self.r_cyc + self._calendar_resistance_increment() + dr_cyc

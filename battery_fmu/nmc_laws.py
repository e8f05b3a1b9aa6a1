"""NMC/graphite aging laws: their parameters and closed forms (per cell, SI inputs).

Capacity: the large-format NMC/graphite pouch cell "NMC-Gr A" (75 Ah, energy/power 16 h^-1) of
Gasper et al. 2023, J. Energy Storage 73, 109042, doi:10.1016/j.est.2023.109042, as fitted in NREL
BLAST-Lite (``NMC_Gr_75Ah_A``):

    q = 1 - q_cal - q_cyc
    q_cal = k_cal (t_days / 1000)^pcal,  k_cal = p1 exp(p2 Tn^3 / Un^(1/3))
    q_cyc = k_cyc (EFC / 10^4)^pcyc,
    k_cyc = |p3 + p4 Tn^3 DOD^0.5 + p5 exp(Tn^-0.5 Crate^2) + p6 exp(DOD^0.5 Tn^2 Crate^0.5)|
    Tn = T / 308.15 K,  Un = Ua / 0.123 V (graphite potential, about its value at SOC 0.5)

Resistance: Schmalstieg et al. 2014, J. Power Sources 257, 325, doi:10.1016/j.jpowsour.2014.02.012
(NMC111/graphite Sanyo UR18650E), the published NMC law with both a calendar and a cycle term:

    r = 1 + r_cal + r_cyc
    r_cal = alpha (t_days)^0.75,  alpha = (a V + b) 1e5 exp(c / T)      V: cell voltage at the SOC
    r_cyc = beta Q_Ah,            beta = A (V_rms - B)^2 + C + D DOD   per A.h of the 2.15 A.h cell

The cycle term is written per equivalent full cycle here (``Q_Ah = 2 EFC x 2.15 A.h``), which makes
it intensive, so it carries over to any cell size (an assumption of scale invariance, as for every
law fitted on one cell and used on another).
"""

from __future__ import annotations

from dataclasses import dataclass

from battery_fmu.ops import SCALAR


@dataclass(frozen=True)
class NmcCapacityAgingParameters:
    """Gasper et al. 2023 NMC-Gr A capacity-fade model (see the parameter file)."""

    p1: float
    p2: float
    p3: float
    p4: float
    p5: float
    p6: float
    pcal: float
    pcyc: float
    temperature_norm: float  # K
    anode_potential_norm: float  # V
    time_scale: float  # s (the law's time unit, 1000 days)
    efc_scale: float
    anode_x0: float
    anode_x100: float
    cycling_temperature_min: float  # K
    cycling_temperature_max: float  # K
    dod_min: float
    crate_charge_max: float  # 1/h
    crate_discharge_max: float  # 1/h
    chunk_efc: float
    chunk_time: float  # s
    crate_floor: float  # 1/h


@dataclass(frozen=True)
class NmcResistanceAgingParameters:
    """Schmalstieg et al. 2014 NMC111 resistance-growth laws (see the parameter file)."""

    calendar_a: float  # 1/V
    calendar_b: float  # 1
    calendar_c: float  # K
    calendar_exponent: float
    cycle_a: float  # 1/(A.h V^2)
    cycle_b: float  # V
    cycle_c: float  # 1/A.h
    cycle_d: float  # 1/A.h
    reference_capacity: float  # C (the fitted cell's, converts the per-A.h law to per EFC)


def calendar_rate(temperature, anode_potential, p, ops=SCALAR):
    """k_cal of the NMC-Gr A law [per (t / 1000 d)^pcal]."""
    a = p.aging
    tn = temperature / a.temperature_norm
    un = anode_potential / a.anode_potential_norm
    return a.p1 * ops.exp(a.p2 * tn**3 / ops.power(un, 1.0 / 3.0))


def cycle_rate(dod, crate, tn2, tn3, tn_inv_sqrt, p, ops=SCALAR):
    """k_cyc of the NMC-Gr A law [per (EFC / 10^4)^pcyc].

    ``tn2``, ``tn3``, ``tn_inv_sqrt`` are the chunk's time means of Tn^2, Tn^3 and Tn^-0.5.
    """
    a = p.aging
    sqrt_dod = ops.power(dod, 0.5)
    return ops.fabs(
        a.p3
        + a.p4 * tn3 * sqrt_dod
        + a.p5 * ops.exp(tn_inv_sqrt * crate * crate)
        + a.p6 * ops.exp(sqrt_dod * tn2 * ops.power(crate, 0.5))
    )


def calendar_resistance_rate(temperature, voltage, p, ops=SCALAR):
    """alpha of the Schmalstieg calendar resistance law [per day^0.75]."""
    r = p.aging_resistance
    return (r.calendar_a * voltage + r.calendar_b) * 1e5 * ops.exp(r.calendar_c / temperature)


def cycle_resistance_per_efc(v_rms, dod, p, ops=SCALAR):
    """Relative resistance growth per equivalent full cycle [1/EFC] (Schmalstieg), never negative.

    The fit's constant is negative, so below DOD 0.05 near 3.7 V the law would let cycling shrink
    the resistance: such a chunk adds nothing instead.
    """
    r = p.aging_resistance
    per_ah = r.cycle_a * (v_rms - r.cycle_b) ** 2 + r.cycle_c + r.cycle_d * dod
    return ops.fmax(per_ah, 0.0) * 2.0 * r.reference_capacity / 3600.0

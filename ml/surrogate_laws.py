"""The twin's capacity-fade laws per day of usage, for the aging surrogate (:mod:`ml.surrogate`).

One entry per chemistry (a parameter set's ``[cell] chemistry``, as :mod:`battery_fmu.aging_laws` picks the
online aging model): from a day's columns, the calendar and cycle rates of the chemistry's laws and the
law's clock for the day, both in the units of its power laws ``q = k x^p``:

- ``k_cal`` and ``dx_cal``: the calendar rate at the day's mean cell temperature and mean SOC (graphite
  potential), and the day in the calendar law's time unit (a day for the LFP law, ``day / 1000 d`` for
  the NMC law);
- ``k_cyc`` and ``dx_cyc``: the cycle rate at the day's SOC swing (the depth of the aging model's
  one-day chunk), its mean C-rate (``efc / 12`` per hour: the aging model's C-rate is the mean of |I|
  over the chunk) and its mean temperature, and the day's equivalent full cycles in the cycle law's unit
  (EFC for the LFP law, ``EFC / 10^4`` for the NMC law).

The rates are the laws' own functions (``battery_fmu/equations.py``, ``battery_fmu/nmc_laws.py``) called
with the torch backend of :mod:`battery_fmu.ops`, so the surrogate and the twin share one written law.
All inputs are torch float64 tensors ``[n, days]``; temperatures in K, SOC and swing in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

DAY_S = 86400.0


def _lfp(efc, soc, swing, temperature, p, ops):
    from battery_fmu import equations as eq

    k_cal = eq.calendar_rate(temperature, eq.graphite_potential(soc, p, ops), p, ops)
    k_cyc = eq.cycle_rate(swing, efc / 12.0, eq.cycle_temperature_factor(temperature, p, ops), p)
    return k_cal, 1.0, k_cyc, efc


def _nmc(efc, soc, swing, temperature, p, ops):
    from battery_fmu import equations as eq
    from battery_fmu import nmc_laws as law

    a = p.aging
    tn = temperature / a.temperature_norm
    k_cal = law.calendar_rate(temperature, eq.graphite_potential(soc, p, ops), p, ops)
    k_cyc = law.cycle_rate(swing, efc / 12.0, tn * tn, tn * tn * tn, ops.power(tn, -0.5), p, ops)
    return k_cal, DAY_S / a.time_scale, k_cyc, efc / a.efc_scale


#: chemistry -> f(efc, soc, swing, temperature [K], params, ops) -> (k_cal, dx_cal, k_cyc, dx_cyc)
DAILY_RATES: dict[str, Callable] = {"LFP": _lfp, "NMC": _nmc}


def daily_rates(chemistry: str) -> Callable:
    """The daily-rate function of ``chemistry``; a chemistry without one is refused, naming those with."""
    if chemistry not in DAILY_RATES:
        known = ", ".join(DAILY_RATES)
        raise KeyError(f"no daily aging rates for chemistry {chemistry!r} (chemistries: {known})")
    return DAILY_RATES[chemistry]

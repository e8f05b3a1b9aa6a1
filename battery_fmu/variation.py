"""Manufacturing variation: how one pack differs from the parameter set's nominal cell.

Four factors, each 1 for the nominal pack, set per vehicle as battery-twin parameters:

- ``capacity_factor``: the pack's capacity when new, relative to nominal. SOH_capacity is reported
  against the nominal capacity (what a warranty promises), so a new pack starts at this value and
  fades as ``capacity_factor x (1 - q_cal - q_cyc)``.
- ``calendar_fade_factor``, ``cycle_fade_factor``: multiply the rate coefficients ``k_cal`` and
  ``k_cyc`` of the capacity laws (so ``q = factor x k x^p`` under constant stress);
- ``resistance_growth_factor``: multiplies both resistance-growth laws.

:data:`SPREAD` states the spread a fleet draws them from (:func:`draw`), and where each figure comes from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Battery-twin parameter name -> Variation field.
PARAMETERS: dict[str, str] = {
    "capacity_factor": "capacity",
    "calendar_fade_factor": "calendar",
    "cycle_fade_factor": "cycle",
    "resistance_growth_factor": "resistance",
}


@dataclass(frozen=True)
class Variation:
    """One pack's manufacturing factors [1] (see the module docstring)."""

    capacity: float = 1.0
    calendar: float = 1.0
    cycle: float = 1.0
    resistance: float = 1.0

    def __post_init__(self) -> None:
        for parameter, name in PARAMETERS.items():
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0.0):
                raise ValueError(f"{parameter} must be a positive number, got {value!r}")
        if not 0.5 <= self.capacity <= 1.5:
            raise ValueError(f"capacity_factor must lie within [0.5, 1.5], got {self.capacity!r}")

    @classmethod
    def from_parameters(cls, value_of) -> Variation:
        """The factors from a parameter look-up, ``value_of(parameter name) -> value``."""
        return cls(**{name: float(value_of(parameter)) for parameter, name in PARAMETERS.items()})

    def as_parameters(self) -> dict[str, float]:
        """The factors as battery-twin parameters (what a scenario's ``parameters:`` takes)."""
        return {parameter: getattr(self, name) for parameter, name in PARAMETERS.items()}


@dataclass(frozen=True)
class Spread:
    """How a fleet draws :class:`Variation`: a normal capacity factor and log-normal rate factors.

    All draws are cut at ``truncate`` standard deviations (no pack 5 sigma off is ever built).
    """

    capacity_sd: float = 0.01
    calendar_log_sd: float = 0.13
    cycle_log_sd: float = 0.13
    resistance_log_sd: float = 0.13
    truncate: float = 3.0


#: The spread fleets use unless told otherwise, with its basis:
#: - capacity: new cells of one type differ in capacity by well under 1 % (cell-to-cell studies of
#:   hundreds of new cells: Rumpf et al. 2017, J. Energy Storage 14, 224; Schuster et al. 2015,
#:   J. Power Sources 297, 242); a pack's usable capacity also depends on its cell lot and its BMS window:
#:   sd 1 % of nominal is an ASSUMPTION covering both.
#: - cycle fade: identical cells cycled identically reach end of life with a pooled within-protocol
#:   standard deviation of ln(cycle life) of 0.134 (Attia et al. 2020, Nature 578, 397: 9 fast-charge
#:   protocols x 5 cells, 36 degrees of freedom; data in battery_fmu/data/variation/, recomputed by
#:   tests/test_battery_variation.py). Under q = k EFC^p the rate's log sd is p times that (0.11 for the
#:   LFP law's p = 0.83, 0.15 for the NMC law's p = 1.11): 0.13 is taken for both.
#: - calendar fade and resistance growth: no replicate data at hand; the cycle figure is ASSUMED.
#: The four are drawn independently (an ASSUMPTION: real cells show some correlation of initial capacity
#: and fade, e.g. Baumhoefer et al. 2014, J. Power Sources 247, 332).
SPREAD = Spread()


def draw(rng, spread: Spread = SPREAD) -> Variation:
    """One pack's factors from ``rng`` (a ``numpy.random.Generator``), reproducible from its seed."""

    def cut_normal() -> float:
        while True:
            z = float(rng.standard_normal())
            if abs(z) <= spread.truncate:
                return z

    return Variation(
        capacity=1.0 + spread.capacity_sd * cut_normal(),
        calendar=math.exp(spread.calendar_log_sd * cut_normal()),
        cycle=math.exp(spread.cycle_log_sd * cut_normal()),
        resistance=math.exp(spread.resistance_log_sd * cut_normal()),
    )

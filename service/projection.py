"""Where the pack's capacity is heading: the twin's aging model run ahead on the usage seen so far.

The twin feeds its aging model (:mod:`battery_fmu.aging`, the battery twin's own laws) with the
estimated SOC, temperature and current. To look ahead, a copy of that model is run day by day on a
typical day of the observed usage: the mean SOC and temperature, the equivalent full cycles per day as
one discharge and one charge of that depth, with a rest at the swing's edge where the mean SOC lies
outside what a swing of that depth within 0..1 can average. The trajectory is scaled to the filter's
capacity estimate, so the data set the level and the laws the slope.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.twin_pack import aging

DAY = 86400.0
MONTH = 30.4375 * DAY
#: Usage observed for less than this [s] says too little about a typical day to project.
MIN_OBSERVED_S = DAY


@dataclass
class Usage:
    """Time integrals of what drives aging, accumulated by the twin."""

    time: float = 0.0  # [s] observed
    soc: float = 0.0  # integral of SOC dt [s]
    temperature: float = 0.0  # integral of T dt [K s]
    efc: float = 0.0  # equivalent full cycles in that time

    def add(self, dt: float, soc: float, temperature: float, efc: float) -> None:
        self.time += dt
        self.soc += soc * dt
        self.temperature += temperature * dt
        self.efc += efc


def project(twin, months: float) -> list[tuple[float, float]] | None:
    """[(months ahead, projected SOH capacity)] daily up to ``months``; None with too little usage seen."""
    u: Usage = twin.usage
    if u.time < MIN_OBSERVED_S or months <= 0.0:
        return None
    temperature = u.temperature / u.time
    model = aging(twin.params, twin.aging.get_state())
    now = model.soh_capacity
    scale = twin.state()["soh_capacity"] / now if now > 0.0 else 1.0
    day_steps = typical_day(u.soc / u.time, u.efc / u.time * DAY, twin.params.capacity)
    out = []
    for day in range(1, int(months * MONTH / DAY) + 1):
        for dt, soc_start, soc_end, current in day_steps:
            model.advance(dt, soc_start, soc_end, temperature, current)
        out.append((day * DAY / MONTH, model.soh_capacity * scale))
    return out


def typical_day(soc_mean: float, efc_per_day: float,
                capacity: float) -> list[tuple[float, float, float, float]]:
    """One day of [(dt [s], SOC at start, SOC at end, cell current [A])] with the observed mean SOC [1] and
    throughput (``efc_per_day``, a cell of ``capacity`` [A s]): one discharge and one charge of that depth
    around the mean. Where that swing would leave 0..1 it is held at the edge, and the day rests at that
    edge for as long as keeps the time-averaged SOC the observed one (the calendar fade's main stressor);
    the swing then runs faster, so that the throughput stays the observed one."""
    depth = min(max(efc_per_day, 0.0), 1.0)
    high = min(1.0, soc_mean + depth / 2.0)
    low = max(0.0, min(high, soc_mean + depth / 2.0) - depth)
    swing_mean, rest_soc = (high + low) / 2.0, (high if soc_mean > (high + low) / 2.0 else low)
    gap = rest_soc - swing_mean
    rest = min(max((soc_mean - swing_mean) / gap, 0.0), 0.99) * DAY if abs(gap) > 1e-12 else 0.0
    swing = DAY - rest
    current = efc_per_day * 2.0 * capacity / swing  # cell current giving that throughput [A]
    steps = [(swing / 2.0, high, low, current), (swing / 2.0, low, high, -current)]
    if rest > 0.0:
        steps.insert(0 if rest_soc == high else 1, (rest, rest_soc, rest_soc, 0.0))
    return steps


def crossing(trajectory: list[tuple[float, float]], threshold: float) -> float | None:
    """The first month of ``trajectory`` at or below ``threshold``, or None."""
    for month, soh in trajectory:
        if soh <= threshold:
            return month
    return None


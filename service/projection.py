"""Where the pack's capacity is heading: the twin's aging model run ahead on the usage seen so far.

The twin feeds its aging model (:mod:`battery_fmu.aging`, the battery twin's own laws) with the
estimated SOC, temperature and current. To look ahead, a copy of that model is run day by day on a
typical day of the observed usage: the mean SOC and temperature, the equivalent full cycles per day as
one discharge and one charge of that depth. The trajectory is scaled to the filter's capacity estimate, so
the data set the level and the laws the slope.
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
    soc_mean, temperature = u.soc / u.time, u.temperature / u.time
    efc_per_day = u.efc / u.time * DAY
    depth = min(max(efc_per_day, 0.0), 1.0)
    high = min(1.0, soc_mean + depth / 2.0)
    low = max(0.0, high - depth)
    model = aging(twin.params, twin.aging.get_state())
    current = efc_per_day * 2.0 * twin.params.capacity / DAY  # cell current giving that throughput [A]
    now = model.soh_capacity
    scale = twin.state()["soh_capacity"] / now if now > 0.0 else 1.0
    out = []
    for day in range(1, int(months * MONTH / DAY) + 1):
        model.advance(DAY / 2.0, high, low, temperature, current)
        model.advance(DAY / 2.0, low, high, temperature, -current)
        out.append((day * DAY / MONTH, model.soh_capacity * scale))
    return out


def crossing(trajectory: list[tuple[float, float]], threshold: float) -> float | None:
    """The first month of ``trajectory`` at or below ``threshold``, or None."""
    for month, soh in trajectory:
        if soh <= threshold:
            return month
    return None


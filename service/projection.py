"""Where the pack's capacity is heading: the twin's aging model run ahead on the usage seen so far.

The twin feeds its aging model (:mod:`battery_fmu.aging`, the battery twin's own laws) with the
estimated SOC, temperature and current. To look ahead, a copy of that model is run day by day on a
typical day of the vehicle's recent usage (:class:`Usage`: its stressors over a window of the last weeks,
exponentially weighted with :data:`WINDOW_S`, so a car that moved to a hot climate or began to fast-charge
is projected as it is used now): the mean temperature, the equivalent full cycles per day as one
discharge and one charge of that depth at the observed mean current, and the rest of the day at the SOCs
where the pack rested (a dwell record by SOC bin: the calendar law is far from linear in SOC). The
trajectory is scaled to the filter's capacity estimate, so the data set the level and the laws the slope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from service.twin_pack import aging

DAY = 86400.0
MONTH = 30.4375 * DAY
#: Usage observed for less than this [s] says too little about a typical day to project.
MIN_OBSERVED_S = DAY
#: Time constant [s] of the usage window: what the vehicle did this long ago weighs 1/e of today, two
#: months ago under 2 %. Long enough to hold a typical week (weekdays and weekends), short enough that a
#: season or a new habit shows within weeks.
WINDOW_S = 14.0 * DAY


#: SOC bins of the dwell-time record: the calendar law is far from linear in SOC (the graphite potential's
#: stages), so where the SOC spent its time matters, not only its mean.
SOC_BINS = 20


@dataclass
class Usage:
    """Time integrals of what drives aging over the recent window, accumulated by the twin: each integral
    decays with :data:`WINDOW_S`, so every ratio of two of them is a recency-weighted mean."""

    time: float = 0.0  # [s] observed, weighted by the window
    soc: float = 0.0  # integral of SOC dt [s]
    temperature: float = 0.0  # integral of T dt [K s]
    efc: float = 0.0  # equivalent full cycles in that time
    moving: float = 0.0  # [s] of that time with a current the aging laws count as cycling
    soc_time: list[float] = field(default_factory=lambda: [0.0] * SOC_BINS)  # [s] per SOC bin
    soc_sum: list[float] = field(default_factory=lambda: [0.0] * SOC_BINS)  # integral of SOC dt per bin [s]
    observed: float = -1.0  # [s] observed in all, unweighted (-1: a record from before it was kept)

    def __post_init__(self) -> None:
        if self.observed < 0.0:
            self.observed = self.time

    def add(self, dt: float, soc: float, temperature: float, efc: float, moving: float = 0.0) -> None:
        """``dt`` [s] more at ``soc`` [1] and ``temperature`` [K], with ``efc`` equivalent full cycles, of
        which ``moving`` [s] with a current; what came before weighs exp(-dt / WINDOW_S) less."""
        keep = math.exp(-dt / WINDOW_S)
        self.observed += dt
        self.time = self.time * keep + dt
        self.soc = self.soc * keep + soc * dt
        self.temperature = self.temperature * keep + temperature * dt
        self.efc = self.efc * keep + efc
        self.moving = self.moving * keep + moving
        for k in range(SOC_BINS):
            self.soc_time[k] *= keep
            self.soc_sum[k] *= keep
        rest = dt - moving
        if rest > 0.0:
            k = min(max(int(soc * SOC_BINS), 0), SOC_BINS - 1)
            self.soc_time[k] += rest
            self.soc_sum[k] += soc * rest


def project(twin, months: float) -> list[tuple[float, float]] | None:
    """[(months ahead, projected SOH capacity)] daily up to ``months``; None with too little usage seen."""
    u: Usage = twin.usage
    if u.observed < MIN_OBSERVED_S or months <= 0.0:
        return None
    temperature = u.temperature / u.time
    model = aging(twin.params, twin.aging.get_state())
    now = model.soh_capacity
    scale = twin.state()["soh_capacity"] / now if now > 0.0 else 1.0
    day_steps = typical_day(u.soc / u.time, u.efc / u.time * DAY, twin.params.capacity)
    if sum(u.soc_time) > 0.0:
        day_steps = typical_day_from_dwell(u, twin.params.capacity)
    out = []
    for day in range(1, int(months * MONTH / DAY) + 1):
        for dt, soc_start, soc_end, current in day_steps:
            model.advance(dt, soc_start, soc_end, temperature, current)
        out.append((day * DAY / MONTH, model.soh_capacity * scale))
    return out


def typical_day(soc_mean: float, efc_per_day: float, capacity: float,
                length: float = DAY) -> list[tuple[float, float, float, float]]:
    """One day of [(dt [s], SOC at start, SOC at end, cell current [A])] with the observed mean SOC [1] and
    throughput (``efc_per_day``, a cell of ``capacity`` [A s]): one discharge and one charge of that depth
    around the mean. Where that swing would leave 0..1 it is held at the edge, and the day rests at that
    edge for as long as keeps the time-averaged SOC the observed one (the calendar fade's main stressor);
    the swing then runs faster, so that the throughput stays the observed one. ``length`` [s]: the swing's
    and rest's time together (a day by default)."""
    depth = min(max(efc_per_day, 0.0), 1.0)
    high = min(1.0, soc_mean + depth / 2.0)
    low = max(0.0, min(high, soc_mean + depth / 2.0) - depth)
    swing_mean, rest_soc = (high + low) / 2.0, (high if soc_mean > (high + low) / 2.0 else low)
    gap = rest_soc - swing_mean
    rest = min(max((soc_mean - swing_mean) / gap, 0.0), 0.99) * length if abs(gap) > 1e-12 else 0.0
    swing = length - rest
    current = efc_per_day * 2.0 * capacity / swing  # cell current giving that throughput [A]
    steps = [(swing / 2.0, high, low, current), (swing / 2.0, low, high, -current)]
    if rest > 0.0:
        steps.insert(0 if rest_soc == high else 1, (rest, rest_soc, rest_soc, 0.0))
    return steps


def typical_day_from_dwell(u: Usage, capacity: float) -> list[tuple[float, float, float, float]]:
    """One day as :func:`typical_day`, from the dwell record: the swing at the observed mean current [A] for
    the observed share of time spent cycling, then a rest at each SOC bin's mean SOC for that bin's share of
    the time at rest. The calendar law then sees the SOC where it was, not its mean."""
    efc_per_day = u.efc / u.time * DAY
    swing = min(max(u.moving / u.time, 1e-3), 1.0) * DAY
    steps = [step for step in typical_day(u.soc / u.time, efc_per_day, capacity, swing)
             if step[3] != 0.0]  # the swing alone: the dwell record says where the pack rests
    rest, resting = DAY - sum(step[0] for step in steps), sum(u.soc_time)
    for seconds, soc_sum in zip(u.soc_time, u.soc_sum):
        if seconds > 0.0:
            soc = soc_sum / seconds
            steps.append((rest * seconds / resting, soc, soc, 0.0))
    return [step for step in steps if step[0] > 0.0]


def crossing(trajectory: list[tuple[float, float]], threshold: float) -> float | None:
    """The first month of ``trajectory`` at or below ``threshold``, or None."""
    for month, soh in trajectory:
        if soh <= threshold:
            return month
    return None


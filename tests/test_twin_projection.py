"""The capacity projection behind the "SOH projected to cross" alert, against brute force: the battery twin's
aging model run directly, day after day, on the very usage the twin has seen, until it crosses a threshold."""

from __future__ import annotations

import pytest

from service import projection
from service.projection import DAY, MONTH, Usage
from service.twin import SOH, LiveTwin
from service.twin_pack import aging

PRESET = "model3_rwd_lfp"
STEP = 300.0  # s
HOT = 273.15 + 45.0  # K: a hot pack ages fast, so a threshold a few points down is months, not years, away


def _day(capacity: float, rest_soc: float) -> list[tuple[float, float, float, float, float]]:
    """A day of (dt, SOC at start, SOC at end, T, cell current): a 1C drive of half the pack, a C/2 charge
    back, and the rest of the day parked at ``rest_soc``."""
    steps, soc = [], rest_soc

    def hold(n: int, current: float) -> None:
        nonlocal soc
        for _ in range(n):
            start, soc = soc, soc - current * STEP / capacity
            steps.append((STEP, start, soc, HOT, current))

    hold(6, capacity / 3600.0)
    hold(60, 0.0)
    hold(12, -capacity / 7200.0)
    hold(int(DAY / STEP) - 78, 0.0)
    return steps


@pytest.mark.parametrize("rest_soc", [0.95, 0.6])
def test_projected_crossing_matches_the_aging_model_run_on_the_same_usage(rest_soc):
    """Tolerance 5 % of the crossing time: the projection replaces the day by its mean temperature, its
    throughput as one swing around the mean SOC (whose depth of discharge then spans the rests too) and its
    rests by SOC bin, and both answers resolve a day. A typical day of the mean SOC alone is 12 % late
    parked at 0.95 (where the swing is clipped at full charge) and 18 % early parked at 0.6."""
    twin = LiveTwin.new({"preset": PRESET}, soc_init=rest_soc)
    capacity = twin.params.capacity
    day = _day(capacity, rest_soc)
    twin.usage = Usage()
    for dt, start, end, temperature, current in day:  # the twin has seen one such day
        twin.aging.advance(dt, start, end, temperature, current)
        twin.usage.add(dt, 0.5 * (start + end), temperature, abs(current) * dt / (2.0 * capacity),
                       dt if current else 0.0)
    twin.x[SOH] = twin.aging.soh_capacity  # the filter agrees with the model: no level offset to scale by
    threshold = twin.aging.soh_capacity - 0.025

    brute = aging(twin.params, twin.aging.get_state())
    days = 0
    while brute.soh_capacity > threshold:
        for step in day:
            brute.advance(*step)
        days += 1
        assert days < 3 * 365, "the brute force never crossed"
    expected = days * DAY / MONTH

    projected = projection.crossing(projection.project(twin, 2 * expected), threshold)
    print(f"rest at SOC {rest_soc}: crossing {threshold:.4f} in {projected:.2f} months projected, "
          f"{expected:.2f} months by brute force")
    assert projected == pytest.approx(expected, rel=0.05)


def test_the_projection_follows_the_recent_usage_not_the_lifetime_mean():
    """Four months parked cool at 10 degC, then two months of the hot day above: the projection is made from
    the recent weeks (what the pack does now), within 5 % of the brute force run on the hot day alone,
    where the lifetime's mean temperature would put the crossing years later."""
    twin = LiveTwin.new({"preset": PRESET}, soc_init=0.6)
    capacity = twin.params.capacity
    hot = _day(capacity, 0.6)
    cool = [(dt, start, end, 273.15 + 10.0, 0.0) for dt, start, end, _, _ in _day(capacity, 0.6)]
    twin.usage = Usage()
    for day in [cool] * 120 + [hot] * 60:
        for dt, start, end, temperature, current in day:
            twin.usage.add(dt, 0.5 * (start + end), temperature, abs(current) * dt / (2.0 * capacity),
                           dt if current else 0.0)
    threshold = twin.aging.soh_capacity - 0.025
    brute = aging(twin.params, twin.aging.get_state())
    days = 0
    while brute.soh_capacity > threshold:
        for step in hot:
            brute.advance(*step)
        days += 1
    expected = days * DAY / MONTH
    projected = projection.crossing(projection.project(twin, 2 * expected), threshold)
    lifetime_mean = twin.usage.temperature / twin.usage.time - 273.15
    print(f"recent hot usage: crossing in {projected:.2f} months projected, {expected:.2f} by brute force on "
          f"the hot day; the window's mean temperature {lifetime_mean:.1f} degC")
    assert projected == pytest.approx(expected, rel=0.05)

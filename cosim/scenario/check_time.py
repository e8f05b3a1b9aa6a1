"""What a run will cost before it starts: macro steps, wall time and result size.

A run asked to take more than :data:`MAX_STEPS` macro steps is refused unless forced; one that
would take long (:data:`LONG_WALL_TIME`) or write a large file (:data:`LARGE_FILE`) gets a
warning with the estimate, since a step or duration off by a unit prefix is a common slip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cosim.results import OutputGroup
from cosim.scenario.checking import Findings, UnitPlan
from cosim.schedule import Schedule

MAX_STEPS = 1e9
"""Macro steps above which a run is refused unless forced (about a day of wall time even at 100 ns a step)."""
LONG_WALL_TIME = 3600.0
"""Estimated wall time [s] above which a warning is printed."""
LARGE_FILE = 10e9
"""Estimated result size [bytes] (before compression) above which a warning is printed."""

# Rough cost of one step, measured with benchmarks/bench_master.py on a 2-core machine (the year of
# daily use: 1.58 million macro steps in 30 s to 47 s with a vehicle, the battery FMU and a charger).
_MASTER_STEP = 5e-6
_UNIT_STEP = {"fmu": 10e-6, "type": 5e-6, "schedule": 2e-6}


@dataclass(frozen=True)
class Estimate:
    """A run's expected size: ``steps`` (macro steps), ``wall_time`` [s], ``file_size`` [bytes]."""

    steps: float
    wall_time: float
    file_size: float


def steps_by_phase(schedule: Schedule | None, step: float, duration: float) -> dict[str, float]:
    """Macro steps of a run of ``duration`` [s], by phase ("" without a schedule)."""
    if schedule is None:
        return {"": math.ceil(duration / step) if math.isfinite(duration / step) else math.inf}
    one: dict[str, float] = {}
    for seg in schedule.segments(schedule.origin, schedule.origin + schedule.period):
        one[seg.phase] = one.get(seg.phase, 0) + seg.n_steps()
    periods = duration / schedule.period
    return {phase: n * periods for phase, n in one.items()}


def estimate(
    units: dict[str, UnitPlan], groups: list[OutputGroup], by_phase: dict[str, float], duration: float
) -> Estimate:
    """Wall time and result size of a run with ``by_phase`` macro steps (see :func:`steps_by_phase`)."""
    steps = sum(by_phase.values())
    wall = steps * _MASTER_STEP
    for plan in units.values():
        for phase, n in by_phase.items():
            every = plan.every.get(phase, 1) if isinstance(plan.every, dict) else plan.every
            wall += n / every * _UNIT_STEP.get(plan.kind, _UNIT_STEP["type"])
    size = 0.0
    for g in groups:
        rows = steps / g.every
        if g.interval:
            rows = min(rows, duration / g.interval)
        size += rows * 8.0 * (len(g.signals) + 1)
    return Estimate(steps, wall, size)


def check_cost(
    f: Findings,
    units: dict[str, UnitPlan],
    schedule: Schedule | None,
    groups: list[OutputGroup],
    duration: float,
    force: bool = False,
) -> Estimate | None:
    """Refuse a run over :data:`MAX_STEPS` (unless ``force``); warn about long runs and large files."""
    step = f.macro_step
    where = ("experiment", "duration") if schedule is not None else ("algorithm", "step")
    if not (math.isfinite(duration) and duration > 0 and math.isfinite(step) and step > 0):
        return None  # reported by the schema, or by the command line
    by_phase = steps_by_phase(schedule, step, duration)
    cost = estimate(units, groups, by_phase, duration)
    said = f"{_count(cost.steps)} macro steps, about {span(cost.wall_time)} of wall time and " + (
        f"{size(cost.file_size)} of results (before compression)"
    )
    if schedule is not None:
        phase = max(by_phase, key=by_phase.get)
        said += f"; most of them {phase!r} steps of {schedule.steps[phase]:g} s"
    if cost.steps > MAX_STEPS and not force:
        f.bad(
            where,
            f"the run would take {said}; more than {MAX_STEPS:.0e} macro steps is refused: check the "
            "duration and the step (pass --force to run it anyway)",
        )
    elif cost.wall_time > LONG_WALL_TIME or cost.file_size > LARGE_FILE:
        f.warn(where, f"the run would take {said}; check the duration and the step")
    return cost


def _count(n: float) -> str:
    return f"{n:,.0f}" if n < 1e7 else f"{n:.3g}"


def span(seconds: float) -> str:
    """``90 s``, ``2.5 h``, ``365 d``, ``3.2e+04 yr``."""
    for unit, length in (("yr", 365.25 * 86400.0), ("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= length:
            return f"{seconds / length:.3g} {unit}"
    return f"{seconds:.3g} s"


def size(n: float) -> str:
    """``12 kB``, ``3.4 GB``."""
    for unit, length in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= length:
            return f"{n / length:.3g} {unit}"
    return f"{n:.0f} B"

"""Checks that only FMUs need: what they cannot carry, their integer ranges, their step and grid.

- Variables an FMU has but evtwin cannot set, connect or record (String inputs and outputs,
  Binary, arrays) are named with the reason wherever a scenario names them, and skipped with a
  note where a glob would have matched them.
- Integer connections are range-checked where both ranges are known (declared min/max, or the
  FMI type's range: an Int8 takes -128..127).
- A scenario without ``algorithm.step`` steps at the FMUs' ``DefaultExperiment`` step.
- A fixed-step FMU (``canHandleVariableCommunicationStepSize=false``) must meet every
  communication point on its grid: multiples of its default step, or of the first step it is
  given, counted from the start.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable
from typing import Any

from cosim.connection import Connection

#: Relative slack when deciding whether a time lies on a grid (rounding noise only).
_SLACK = 1e-9


def uncarried(f, units: dict[str, Any], conn: Connection, where) -> bool:
    """Report ends of ``conn`` that name variables evtwin cannot carry; True if any."""
    found = False
    for end, key in ((conn.source, "from"), (conn.target, "to")):
        why = unsupported_reason(units, end)
        if why:
            f.bad((*where, key), why)
            found = True
    return found


def integer_ranges(f, units: dict[str, Any], conns: list[tuple[int, Connection]]) -> set[int]:
    """Report connections (``(index, connection)``) whose values may not fit an integer input."""
    from cosim.connection import coefficients

    bad = set()
    for k, c in conns:
        src = units[c.source_unit].ports[c.source_port]
        dst = units[c.target_unit].ports[c.target_port]
        wraps = integer_range_problem(c, units, *coefficients(c, src, dst))
        if wraps:
            f.bad(("connections", k), wraps)
            bad.add(k)
    return bad


def unsupported_reason(units: dict[str, Any], signal: str) -> str | None:
    """``"'u.x' is a String output; ..."`` when ``signal`` names a variable evtwin cannot carry."""
    unit, _, port = signal.partition(".")
    plan = units.get(unit)
    why = getattr(plan, "unsupported", {}).get(port) if plan is not None else None
    return None if why is None else f"{signal!r} is {why}"


def skipped_by_globs(units: dict[str, Any], patterns: Iterable[str]) -> list[str]:
    """Variables that the glob ``patterns`` would match but evtwin cannot record."""
    skipped = []
    for pat in patterns:
        if not any(c in pat for c in "*?["):
            continue
        for name, plan in units.items():
            for port in getattr(plan, "unsupported", {}):
                sig = f"{name}.{port}"
                if fnmatch.fnmatchcase(sig, pat) and sig not in skipped:
                    skipped.append(sig)
    return skipped


def integer_range_problem(conn: Connection, units: dict[str, Any], gain: float, offset: float) -> str | None:
    """Why the source's values may not fit the target's integer range; None when they fit or are unknown."""
    src = _variable(units, conn.source_unit, conn.source_port)
    dst = _variable(units, conn.target_unit, conn.target_port)
    if dst is None:
        return None
    from cosim.fmu.step_calls import integer_range

    target = integer_range(dst)
    if target is None:
        return None
    if src is not None:
        source = integer_range(src)
        if source is None and src.min is not None and src.max is not None:
            source = (src.min, src.max)
    else:
        port = units[conn.source_unit].ports[conn.source_port]
        source = (port.min, port.max) if port.min is not None and port.max is not None else None
    if source is None:
        return None
    ends = sorted((gain * source[0] + offset, gain * source[1] + offset))
    if target[0] <= ends[0] and ends[1] <= target[1]:
        return None
    return (
        f"{conn.source!r} takes values in [{_num(ends[0])}, {_num(ends[1])}] (after conversion) but "
        f"{conn.target!r} is {dst.type} and takes [{target[0]}, {target[1]}]: values outside would wrap "
        "around; connect ports whose ranges fit, or declare the source's min/max"
    )


def unitless_hint(units: dict[str, Any], conn: Connection) -> str:
    """``"; ... port_units ..."`` when an end of a connection is an FMU port that declares no unit."""
    for unit, port in ((conn.source_unit, conn.source_port), (conn.target_unit, conn.target_port)):
        d = getattr(units.get(unit), "description", None)
        if d is not None and port in d.unitless and port not in units[unit].facts.get("port_units", {}):
            return (
                f"; {unit}.{port} declares no unit: state it with units.{unit}.port_units: "
                f"{{{port}: <unit>}}"
            )
    return ""


def _variable(units: dict[str, Any], unit: str, port: str):
    d = getattr(units.get(unit), "description", None)
    if d is None:
        return None
    return next((v for v in d.variables if v.name == port), None)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def default_step(units: dict[str, Any]) -> tuple[float, list[str]] | None:
    """``(step, FMUs declaring it)``: the FMUs' smallest ``DefaultExperiment`` step; None without any."""
    steps = {
        name: plan.description.default_step
        for name, plan in units.items()
        if getattr(plan, "description", None) is not None and plan.description.default_step
    }
    if not steps:
        return None
    step = min(steps.values())
    return step, sorted(n for n, h in steps.items() if h == step)


def grid_problems(name: str, plan, segments: Iterable, t0: float) -> list[str]:
    """Communication points of the fixed-step FMU ``name`` that miss its grid, one sentence each.

    ``segments`` is the run's timeline (or enough of it to show the pattern); a unit steps every
    ``every`` macro steps within a segment and at every segment's end.
    """
    d = plan.description
    grid = d.default_step
    every_of = (lambda phase: plan.every) if isinstance(plan.every, int) else (lambda p: plan.every.get(p, 1))
    source = "its default step"
    problems: list[str] = []
    for seg in segments:
        h = seg.step * every_of(seg.phase)
        if grid is None:
            grid, source = h, "the first step it is given"
        where = f" (phase {seg.phase!r})" if seg.phase else ""
        if not _on_grid(h, grid):
            problems.append(
                f"unit {name!r} only takes steps of {grid:g} s ({source}; it cannot vary its step) but "
                f"is stepped every {h:g} s{where}; make the step a multiple of {grid:g} s"
            )
        for label, t in (("starts", seg.start), ("ends", seg.stop)):
            if not _on_grid(t - t0, grid):
                problems.append(
                    f"unit {name!r} only takes steps of {grid:g} s ({source}) but a segment{where} "
                    f"{label} at t = {t:g} s, off its grid by {_off(t - t0, grid):g} s; move the session "
                    "or the duration onto the grid, or set algorithm.snap_to_grid: true"
                )
        if len(problems) >= 3:
            break
    return problems[:3]


def _on_grid(t: float, grid: float) -> bool:
    k = round(t / grid)
    return abs(t - k * grid) <= _SLACK * max(1.0, abs(t))


def _off(t: float, grid: float) -> float:
    return t - math.floor(t / grid + _SLACK) * grid


def macro_step(f, units: dict[str, Any]) -> float:
    """The macro step without a schedule: ``algorithm.step``, else the FMUs' default step, else 1 s.

    ``f`` is the scenario checker (``m``: the scenario, ``notes``: where the choice is told).
    """
    if f.m.algorithm.step is not None:
        return f.m.algorithm.step
    found = default_step(units)
    if found is None:
        return 1.0
    step, names = found
    if f.m.schedule is None:
        f.warn(("experiment",), f"macro step {step:g} s: the DefaultExperiment step of {', '.join(names)}")
    return step


def check_grids(f, units: dict[str, Any], schedule, step: float) -> None:
    """Report fixed-step FMUs whose communication points would miss their grid (or note the snap).

    The schedule's pattern is checked over two periods and the run's last segment.
    """
    from cosim import timeline

    if "schedule" in f.failed:
        return
    start, stop = f.m.experiment.start, f.m.experiment.start + f.m.experiment.duration
    for name, plan in units.items():
        d = plan.description
        if d is None or d.can_vary_step:
            continue
        if schedule is not None:
            period_end = min(stop, start + 2 * schedule.period)
            segs = list(schedule.segments(start, period_end))
            if period_end < stop:
                tail = schedule.segments(max(start, stop - schedule.period), stop)
                segs += list(timeline.truncate(tail, stop))[-1:]
        else:
            segs = timeline.fixed(start, stop, step)
        if f.m.algorithm.snap_to_grid:
            f.warn(
                ("algorithm", "snap_to_grid"),
                f"phase boundaries and the end move to the nearest multiple of "
                f"{fmu_grid(plan, segs):g} s (the step of fixed-step unit {name!r})",
            )
            continue
        for problem in grid_problems(name, plan, segs, start):
            f.bad(("units", name), problem)


def fmu_grid(plan, segments) -> float:
    """The grid [s] of a fixed-step FMU: its default step, or the first step the timeline gives it."""
    if plan.description.default_step:
        return plan.description.default_step
    seg = next(iter(segments))
    every = plan.every if isinstance(plan.every, int) else plan.every.get(seg.phase, 1)
    return seg.step * every


def fixed_step_grid(units: dict[str, Any], first) -> float | None:
    """The coarsest grid [s] of the fixed-step FMUs among ``units``; None without any.

    ``first`` is the run's first segment (for FMUs that declare no default step).
    """
    grids = [
        fmu_grid(up, [first])
        for up in units.values()
        if getattr(up, "description", None) is not None and not up.description.can_vary_step
    ]
    return max(grids) if grids else None

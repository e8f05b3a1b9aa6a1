"""The scenario's usage schedule: phases, the daily or weekly pattern, the ambient temperature, rates."""

from __future__ import annotations

from cosim.master import wiring
from cosim.scenario.checking import SCHEDULE, Findings, UnitPlan
from cosim.schedule import DAY, WEEK, Ambient, Schedule, Session, clock_seconds

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAY_SETS = {"weekdays": _DAYS[:5], "weekend": _DAYS[5:], "every_day": _DAYS}


def build_schedule(f: Findings) -> Schedule | None:
    """The schedule the scenario declares, or None (none declared, or problems found)."""
    spec = f.m.schedule
    if spec is None:
        return None
    where = ("schedule",)
    sessions: list[Session] = []
    period = DAY
    if spec.daily is not None:
        sessions = [Session(clock_seconds(s.at), s.duration, s.phase) for s in spec.daily]
        pattern_key = "daily"
    elif spec.weekly is not None:
        period, pattern_key = WEEK, "weekly"
        for key, items in spec.weekly.items():
            for day in _DAY_SETS.get(key, [key]):
                offset = _DAYS.index(day) * DAY
                sessions += [Session(offset + clock_seconds(s.at), s.duration, s.phase) for s in items]
    else:
        pattern_key = "phases"
    ambient = _ambient(f, spec.ambient)
    try:
        return Schedule({n: p.step for n, p in spec.phases.items()}, spec.default, sessions, period, ambient)
    except ValueError as err:
        key = "default" if "default phase" in str(err) else pattern_key
        if "macro step" in str(err):
            key = "phases"
        f.bad((*where, key), str(err))
        f.failed.add(SCHEDULE)
        return None


def _ambient(f: Findings, spec) -> Ambient | None:
    where = ("schedule", "ambient")
    if spec.constant is not None:
        return Ambient(constant=spec.constant)
    if spec.profile is not None:
        try:
            return Ambient.profile(spec.profile)
        except ValueError as err:
            f.bad((*where, "profile"), str(err))
            return None
    path = (f.base / spec.file).resolve()
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        f.bad((*where, "file"), f"ambient profile {spec.file!r} {what} (looked for {path})")
        return None
    return Ambient(
        file=path,
        time_column=spec.time_column,
        time_unit=spec.time_unit,
        column=spec.column,
        unit=spec.unit,
    )


def check_rates(f: Findings, units: dict[str, UnitPlan], schedule: Schedule | None) -> None:
    """``every`` by phase names phases that exist."""
    if SCHEDULE in f.failed:
        return
    phases = schedule.phases if schedule is not None else []
    for name, plan in units.items():
        for problem in wiring.rate_problems(plan.every, plan):
            f.bad(("units", name, "every"), problem)
        if not isinstance(plan.every, dict):
            continue
        for phase in plan.every:
            if phase not in phases:
                msg = (
                    f"no phase {phase!r}; phases: {', '.join(phases)}"
                    if phases
                    else "'every' by phase needs a schedule (there is none)"
                )
                f.bad(("units", name, "every", phase), msg)

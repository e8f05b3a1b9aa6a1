"""``evtwin validate`` on a charging-experiment file: the file, and every policy's scenario, checked.

Registered in the ``evtwin.file_kinds`` entry point group, so the engine's ``validate`` knows an
experiment file by its content (``scenario`` and ``policies`` at the top, no ``units``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cosim.errors import ScenarioError


class _ChargingExperimentKind:
    name = "charging experiment"

    @staticmethod
    def claims(data: dict) -> bool:
        """An experiment file names a scenario and policies; a scenario has units."""
        return "policies" in data and "scenario" in data and "units" not in data

    @staticmethod
    def check(path: str | Path, say: Callable[[str], None] = lambda s: None) -> tuple[str, list[str]]:
        """``(one-line summary, warnings)``; raises :class:`ScenarioError` listing every problem."""
        from control.experiment import load_experiment, policy_scenario
        from cosim.scenario.plan import make_plan

        exp = load_experiment(path)
        problems: list[str] = []
        warnings: list[str] = []
        for name in exp.policies:
            at = exp.where("policies", name)
            try:
                source, model = policy_scenario(exp, name)
            except ScenarioError as err:
                problems += err.problems
                continue
            try:
                plan = make_plan(source, model, say)
            except ScenarioError as err:  # about the scenario with this policy as its charger
                problems += [f"{at}: {p}" for p in err.problems]
                continue
            warnings += [f"{at}: {w}" for w in plan.notes]
            warnings += [f"{exp.where('departure')}: {w}" for w in departure_warnings(exp, plan.schedule)]
        if problems:
            raise ScenarioError(problems)
        summary = (
            f"charging experiment, {len(exp.policies)} policies ({', '.join(exp.policies)}) "
            f"on {exp.scenario.name}"
        )
        return summary, list(dict.fromkeys(warnings))


def departure_warnings(exp, schedule) -> list[str]:
    """Departures the schedule does not end a charge window at: the charger plans to a departure the car
    is not plugged in until (it leaves earlier, or stays on after it). Empty when the plug-in state is
    not the schedule's phase flag, or there is no schedule."""
    from control.departure import DAY, WEEK, Departures

    if schedule is None or not exp.plugged.startswith("schedule."):
        return []
    phase = exp.plugged.split(".", 1)[1]
    if phase not in schedule.phases:
        return []
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    out = []
    for t in Departures(exp.departure).week_times:
        at = f"{days[int(t // DAY)]} {int(t % DAY) // 3600:02d}:{int(t % 3600) // 60:02d}"
        # In the second week: the first one's start may lie before the pattern's first session.
        before, _, end, _ = schedule.state(WEEK + t - 1e-3)
        if before != phase:
            out.append(f"the departure {at} does not end a {phase!r} window: the schedule's phase "
                       f"just before it is {before!r}")
        elif end > WEEK + t + 1e-6:
            out.append(f"the departure {at} falls inside a {phase!r} window, which lasts "
                       f"{(end - WEEK - t) / 60:g} min longer: the car stays plugged in after it leaves")
    return out


CHARGING_EXPERIMENT = _ChargingExperimentKind()

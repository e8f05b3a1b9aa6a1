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
        if problems:
            raise ScenarioError(problems)
        summary = (
            f"charging experiment, {len(exp.policies)} policies ({', '.join(exp.policies)}) "
            f"on {exp.scenario.name}"
        )
        return summary, list(dict.fromkeys(warnings))


CHARGING_EXPERIMENT = _ChargingExperimentKind()

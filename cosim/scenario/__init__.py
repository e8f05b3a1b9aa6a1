"""Scenario files: load (YAML with line numbers), check everything before a run, run.

>>> from cosim import scenario
>>> plan = scenario.check("scenarios/quickstart.yaml")        # doctest: +SKIP
>>> report = scenario.run("scenarios/quickstart.yaml", output="run.h5", duration=3600)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cosim.errors import ScenarioError
from cosim.scenario.model import ScenarioModel, json_schema
from cosim.scenario.plan import Plan, make_plan
from cosim.scenario.runner import RunFailed, RunInterrupted, RunReport, build_master, run_plan, segments
from cosim.scenario.source import Located, load_yaml, schema_problems


def load(path: str | Path, parameter_set: str | None = None) -> tuple[Located, ScenarioModel]:
    """Parse and schema-check a scenario file, or an SSP (``.ssp``: :mod:`cosim.ssp`).

    ``parameter_set``: the SSP's named parameter set to apply (of the file itself, or of the one a
    scenario names in ``from_ssp:``); None applies every set in order.

    Raises
    ------
    ScenarioError
        Listing every problem as ``file:line key: found X, expected Y``.
    """
    from pydantic import ValidationError

    from cosim.ssp.scenario import expand_from_ssp, is_ssp, ssp_source

    if is_ssp(path):
        source = ssp_source(path, parameter_set)
    else:
        source = expand_from_ssp(load_yaml(path), parameter_set)
    try:
        model = ScenarioModel.model_validate(source.data)
    except ValidationError as err:
        raise ScenarioError(schema_problems(source, ScenarioModel, err)) from None
    return source, model


def check(
    path: str | Path,
    say: Callable[[str], None] = lambda s: None,
    duration: float | None = None,
    force: bool = False,
    parameter_set: str | None = None,
) -> Plan:
    """Everything that can be checked before running: the plan, or a :class:`ScenarioError` listing it all.

    ``duration`` [s]: the run's, when it replaces the scenario's; ``force``: let a run over the
    step limit through (see :func:`cosim.scenario.plan.make_plan`); ``parameter_set``: see :func:`load`.
    """
    source, model = load(path, parameter_set)
    return make_plan(source, model, say, duration=duration, force=force)


def run(
    path: str | Path,
    output: str | Path | None = None,
    duration: float | None = None,
    progress: Callable[[float], None] | None = None,
    say: Callable[[str], None] = lambda s: None,
) -> RunReport:
    """Check and run a scenario file; see :func:`cosim.scenario.runner.run_plan`."""
    return run_plan(check(path, say), output=output, duration=duration, progress=progress)


__all__ = [
    "load",
    "check",
    "run",
    "run_plan",
    "json_schema",
    "Plan",
    "RunReport",
    "RunFailed",
    "RunInterrupted",
    "build_master",
    "segments",
]

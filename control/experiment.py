"""The charging experiment: one scenario (vehicle, usage, climate), run once per charging policy.

An experiment file names a scenario and the policies to compare::

    scenario: charging_commute.yaml          # relative to the experiment file
    departure: {weekdays: "07:30", sat: "10:00"}
    target_soc: 0.9
    short: {duration: 7 d}                   # what --short runs
    policies:
      cccv_plug_in: {type: cccv_charger}
      cccv_timer: {type: cccv_charger, settings: {mode: timer}}
      mpc: {type: mpc_charger}

Each policy replaces the scenario's charger unit. The experiment wires it the way
``docs/charging.md`` recommends (the battery's outputs into the charger's inputs of the same name
with ``delay: 1``, ``schedule.charge`` into ``plugged``, ``schedule.T_ambient`` into
``T_ambient``, ``I_charge`` back into the battery), hands it the departure times, the target SOC
and the battery's pack (cell capacity, cells in series and in parallel, parameter set) where the
unit takes them, and records what the comparison needs. The runs go to worker processes.

This module reads and checks the experiment file; :mod:`control.experiment_run` builds and runs
one policy's scenario, :mod:`control.experiment_table` turns the runs into the table, the aging
projection and the plot. Their public names are importable from here too.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from control.experiment_run import BATTERY_SIGNALS, policy_scenario, run_policy
from control.experiment_table import (
    COLUMNS,
    MIN_PROJECTION_YEARS,
    comparison,
    fade_per_year,
    figures,
    plot,
    power_law_fit,
    projected_years_to,
    write_outputs,
    years_to,
)
from cosim.errors import ScenarioError

__all__ = [
    "BATTERY_SIGNALS",
    "COLUMNS",
    "KEYS",
    "MIN_PROJECTION_YEARS",
    "POLICY_KEYS",
    "ChargingExperiment",
    "comparison",
    "fade_per_year",
    "figures",
    "load_experiment",
    "plot",
    "policy_scenario",
    "power_law_fit",
    "projected_years_to",
    "run_policy",
    "write_outputs",
    "years_to",
]

#: Keys of an experiment file.
KEYS = (
    "version",
    "description",
    "scenario",
    "battery",
    "charger",
    "vehicle",
    "plugged",
    "departure",
    "reserve",
    "tariff",
    "target_soc",
    "duration",
    "short",
    "policies",
)
POLICY_KEYS = ("type", "settings", "parameters", "every", "description")


def _problem(where: str, message: str) -> str:
    return f"{where}: {message}"


def _unknown(key: str, known, where: str) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return _problem(where, f"unknown key {key!r}{hint} (known keys: {', '.join(known)})")


@dataclass
class ChargingExperiment:
    """An experiment file, read and checked."""

    path: Path
    scenario: Path
    policies: dict[str, dict[str, Any]]
    departure: Any
    target_soc: float
    battery: str = "battery"
    charger: str = "charger"
    vehicle: str | None = "vehicle"
    reserve: object = "20 %"
    tariff: object = None
    plugged: str = "schedule.charge"
    duration: str | float | None = None
    short: dict[str, Any] = field(default_factory=dict)
    lines: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem

    def where(self, *keys) -> str:
        """``file:line key.path`` of a key of the experiment file."""
        at = tuple(keys)
        while at and at not in self.lines:
            at = at[:-1]
        return f"{self.path.name}:{self.lines.get(at, 1)} {'.'.join(str(k) for k in keys)}"


def load_experiment(path: str | Path) -> ChargingExperiment:
    """Read an experiment file; a :class:`ScenarioError` lists every problem with its line."""
    from cosim.scenario.source import load_yaml

    src = load_yaml(path)
    data, problems = src.data, []

    def where(*keys) -> str:
        return f"{src.path.name}:{src.line(keys)} {'.'.join(str(k) for k in keys)}"

    for key in data:
        if key not in KEYS:
            problems.append(_unknown(key, KEYS, f"{src.path.name}:{src.line((key,))}"))
    for key in ("scenario", "policies", "departure"):
        if key not in data:
            problems.append(_problem(f"{src.path.name}:1", f"missing key {key!r}"))
    scenario = src.path.parent / str(data.get("scenario", ""))
    if "scenario" in data and not scenario.is_file():
        problems.append(_problem(where("scenario"), f"scenario file {str(scenario)!r} does not exist"))
    policies = _check_policies(data, where, problems)
    target, short = _check_values(data, where, problems)
    if problems:
        raise ScenarioError(problems)
    return ChargingExperiment(
        path=src.path,
        scenario=scenario,
        policies=policies,
        departure=data["departure"],
        target_soc=target,
        battery=str(data.get("battery", "battery")),
        charger=str(data.get("charger", "charger")),
        vehicle=str(data.get("vehicle", "vehicle")),
        reserve=data.get("reserve", "20 %"),
        tariff=data.get("tariff"),
        plugged=str(data.get("plugged", "schedule.charge")),
        duration=data.get("duration"),
        short=short,
        lines=src.lines,
    )


def _check_policies(data: dict, where, problems: list[str]) -> dict:
    policies = data.get("policies") or {}
    if not isinstance(policies, dict) or ("policies" in data and not policies):
        problems.append(_problem(where("policies"), "expected a mapping of policy names to charger units"))
        return {}
    for name, spec in policies.items():
        if not isinstance(spec, dict) or "type" not in spec:
            problems.append(
                _problem(where("policies", name), "expected {type: ..., settings: ..., parameters: ...}")
            )
            continue
        for key in spec:
            if key not in POLICY_KEYS:
                problems.append(_unknown(key, POLICY_KEYS, where("policies", name, key)))
    return policies


def _check_values(data: dict, where, problems: list[str]) -> tuple[float, dict]:
    from control.departure import DepartureError, Departures

    target = data.get("target_soc", 0.9)
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0.0 < float(target) <= 1.0:
        problems.append(_problem(where("target_soc"), f"expected a number in (0, 1], found {target!r}"))
        target = 0.9
    short = data.get("short", {}) or {}
    if not isinstance(short, dict) or set(short) - {"duration"}:
        problems.append(_problem(where("short"), f"expected {{duration: ...}}, found {short!r}"))
        short = {}
    if "departure" in data:
        try:
            Departures(data["departure"])
        except DepartureError as err:
            problems.append(_problem(where("departure"), str(err)))
    from control.charge_need import Reserve, Tariff

    for key, check in (("reserve", Reserve.parse), ("tariff", Tariff)):
        if data.get(key) is not None:
            try:
                check(data[key])
            except ScenarioError as err:
                problems.append(_problem(where(key), "; ".join(err.problems)))
    return float(target), short

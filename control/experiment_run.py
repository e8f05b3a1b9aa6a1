"""One policy of a charging experiment: its scenario (the policy as the charger unit, wired, recorded)
and its run.

:func:`policy_scenario` replaces the scenario's charger unit by the policy's, completes its settings
and parameters from the experiment and the scenario, wires it to the battery and sets what is recorded;
:func:`run_policy` runs it (in a worker process) and returns its table row
(:func:`control.experiment_table.figures`). The experiment file is read by :mod:`control.experiment`.
"""

from __future__ import annotations

import copy
import difflib
from typing import TYPE_CHECKING

from cosim.errors import ScenarioError

if TYPE_CHECKING:
    from control.experiment import ChargingExperiment

#: Battery outputs a policy's inputs of the same name are fed from (with delay: 1).
BATTERY_SIGNALS = (
    "SOC",
    "V_terminal",
    "I_charge_max",
    "T_cell",
    "T_housing",
    "SOH_capacity",
    "SOH_resistance",
)


#: Vehicle outputs a policy's inputs of the same name are fed from (with delay: 1).
VEHICLE_SIGNALS = ("E_planned", "consumption", "stranded")

#: Experiment keys every policy gets as a setting of the same name, where its unit type takes it.
SHARED_SETTINGS = ("departure", "reserve", "tariff")


def _settings_of(cls) -> list[str] | None:
    """The keyword settings a unit type takes (None when it takes any)."""
    import inspect

    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _accepts(cls, setting: str) -> bool:
    known = _settings_of(cls)
    return known is None or setting in known


def policy_scenario(exp: ChargingExperiment, policy: str):
    """The scenario with ``policy`` as its charger: ``(Located, ScenarioModel)``, ready for the engine."""
    from pydantic import ValidationError

    from cosim.scenario.model import ScenarioModel
    from cosim.scenario.source import Located, load_yaml, schema_problems

    base = load_yaml(exp.scenario)
    data = copy.deepcopy(base.data)
    units = data.get("units", {})
    if exp.vehicle is not None and exp.vehicle not in units:
        exp = copy.copy(exp)
        exp.vehicle = None  # a scenario without a vehicle: no forecast, no strandings to read
    for name in (exp.battery, exp.charger):
        if name not in units:
            raise ScenarioError(
                f"{exp.where('policies', policy)}: the scenario {exp.scenario.name} has no unit {name!r}"
            )
    units[exp.charger], ports = _policy_unit(exp, units, policy)
    charger = exp.charger
    kept = [
        c
        for c in data.get("connections", [])
        if not (
            str(c.get("from", "")).startswith(charger + ".") or str(c.get("to", "")).startswith(charger + ".")
        )
    ]
    data["connections"] = kept + _wiring(exp, ports)
    data["outputs"], data["summary"] = _recording(exp, ports)
    data.pop("plots", None)
    data["description"] = f"{data.get('description', '')} [charging experiment {exp.name}, policy {policy}]"
    try:
        model = ScenarioModel.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(schema_problems(base, ScenarioModel, err)) from None
    return Located(base.path, _dump(data), data, base.lines), model


def _policy_unit(exp: ChargingExperiment, units: dict, policy: str) -> tuple[dict, dict]:
    """The policy's unit spec, completed from the experiment and the scenario; and its ports by name."""
    from cosim import registry

    spec = copy.deepcopy(exp.policies[policy])
    cls = registry.unit_type(spec["type"])
    settings = dict(spec.get("settings") or {})
    parameters = dict(spec.get("parameters") or {})
    # The scenario's own charger gives the defaults a policy's unit takes (wallbox power, ...).
    base_charger = units[exp.charger]
    for key, value in (base_charger.get("settings") or {}).items():
        if _accepts(cls, key) and key != "mode":
            settings.setdefault(key, value)
    for key in SHARED_SETTINGS:
        value = getattr(exp, key)
        if value is not None and _accepts(cls, key):
            settings.setdefault(key, value)
    known = _settings_of(cls)
    for key in spec.get("settings") or {}:
        if known is not None and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(
                f"{exp.where('policies', policy, 'settings', key)}: unknown setting {key!r} of unit type "
                f"{spec['type']!r}{hint} (settings: {', '.join(known)})"
            )
    try:
        ports = {p.name: p for p in cls(**settings).ports()}
    except (TypeError, ValueError) as err:
        raise ScenarioError(f"{exp.where('policies', policy)}: unit type {spec['type']!r}: {err}") from None
    # The pack comes from the scenario's shared values (the engine binds it), not from here.
    given = dict(base_charger.get("parameters") or {})
    for key, value in given.items():
        if key in ports and ports[key].causality == "parameter":
            parameters.setdefault(key, value)
    if "target_soc" in ports:
        parameters["target_soc"] = exp.target_soc
    unit = {
        "type": spec["type"],
        "settings": settings,
        "parameters": parameters,
        "every": spec.get("every", base_charger.get("every", 1)),
    }
    return unit, ports


def _wiring(exp: ChargingExperiment, ports: dict) -> list[dict]:
    charger, battery = exp.charger, exp.battery
    inputs = {name for name, p in ports.items() if p.causality == "input"}
    wiring = [{"from": exp.plugged, "to": f"{charger}.plugged"}]
    wiring += [
        {"from": f"{battery}.{s}", "to": f"{charger}.{s}", "delay": 1} for s in BATTERY_SIGNALS if s in inputs
    ]
    if "T_ambient" in inputs:
        wiring.append({"from": "schedule.T_ambient", "to": f"{charger}.T_ambient"})
    if exp.vehicle is not None:
        # The trips ahead (the vehicle's forecast) and its strandings, for the chargers that read them.
        wiring += [{"from": f"{exp.vehicle}.{s}", "to": f"{charger}.{s}", "delay": 1}
                   for s in VEHICLE_SIGNALS if s in inputs]
    wiring.append({"from": f"{charger}.I_charge", "to": f"{battery}.I_charge"})
    return wiring


def _recording(exp: ChargingExperiment, ports: dict) -> tuple[dict, list[dict]]:
    """Output groups (SOC hourly, capacity daily) and summary rows (totals, health, peak temperature)."""
    charger, battery = exp.charger, exp.battery
    outputs = {
        "groups": [
            {"name": "trend", "signals": [f"{battery}.SOC"], "interval": 3600.0},
            {"name": "health", "signals": [f"{battery}.SOH_capacity"], "interval": 86400.0},
        ]
    }
    totals = [
        "E_grid",
        "E_loss",
        "charge_time",
        "sessions",
        "departures",
        "missed_departures",
        "solves",
        "fallbacks",
        "cost",
        "stranded_events",
    ]
    summary = [{"label": n, "signal": f"{charger}.{n}", "reduce": "final"} for n in totals if n in ports]
    summary += [
        {"label": "soh_start", "signal": f"{battery}.SOH_capacity", "reduce": "initial"},
        {"label": "soh_end", "signal": f"{battery}.SOH_capacity", "reduce": "final"},
        {"label": "r_start", "signal": f"{battery}.SOH_resistance", "reduce": "initial"},
        {"label": "r_end", "signal": f"{battery}.SOH_resistance", "reduce": "final"},
        {"label": "efc", "signal": f"{battery}.EFC", "reduce": "final"},
        {"label": "peak_cell_temp", "signal": f"{battery}.T_cell", "reduce": "max"},
    ]
    return outputs, summary


def _dump(data) -> str:
    import io

    from ruamel.yaml import YAML

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, out)
    return out.getvalue()


def run_policy(experiment_path: str, policy: str, duration: float | None, output: str, progress=None) -> dict:
    """Run one policy (in a worker process); its figures. ``progress`` gets (policy, simulated seconds)."""
    from control.experiment import load_experiment
    from control.experiment_table import figures
    from cosim.scenario.plan import make_plan
    from cosim.scenario.runner import run_plan

    exp = load_experiment(experiment_path)
    source, model = policy_scenario(exp, policy)
    plan = make_plan(source, model)
    report = run_plan(
        plan,
        output=output,
        duration=duration,
        progress=(lambda t: progress.put((policy, t))) if progress is not None else None,
    )
    return figures(policy, report, exp.target_soc)

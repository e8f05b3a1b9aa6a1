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
"""

from __future__ import annotations

import copy
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosim.errors import ScenarioError

#: Keys of an experiment file.
KEYS = (
    "version",
    "description",
    "scenario",
    "battery",
    "charger",
    "plugged",
    "departure",
    "target_soc",
    "duration",
    "short",
    "policies",
)
POLICY_KEYS = ("type", "settings", "parameters", "every", "description")
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
#: Battery parameters a policy's parameters of the same name are given (the MPC predicts this pack).
#: Columns of the table, in order: key, heading, format.
COLUMNS = (
    ("policy", "policy", "{}"),
    ("mean_charge_hours", "mean charge (h)", "{:.2f}"),
    ("grid_energy_kWh", "grid energy (kWh)", "{:.1f}"),
    ("losses_kWh", "charger losses (kWh)", "{:.1f}"),
    ("capacity_fade_per_year", "fade (%/yr)", "{:.3%}"),
    ("years_to_80", "years to 80 %", "{:.1f}"),
    ("peak_cell_temp_degC", "peak cell T (degC)", "{:.1f}"),
    ("missed_departures", "missed / departures", "{}"),
)


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
    return float(target), short


# ---------------------------------------------------------------------------------------- one policy


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
    if _accepts(cls, "departure"):
        settings.setdefault("departure", exp.departure)
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
    ]
    summary = [{"label": n, "signal": f"{charger}.{n}", "reduce": "final"} for n in totals if n in ports]
    summary += [
        {"label": "soh_start", "signal": f"{battery}.SOH_capacity", "reduce": "initial"},
        {"label": "soh_end", "signal": f"{battery}.SOH_capacity", "reduce": "final"},
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


# ---------------------------------------------------------------------------------------- figures


def figures(policy: str, report, target_soc: float) -> dict:
    """The table row of one run, from its summary and its result file."""
    import numpy as np

    from cosim.results import read_result

    rows = {label: value for label, value, _ in report.summary}
    result = read_result(report.path)
    health = result[next(k for k in result.signals if k.endswith(".SOH_capacity"))]
    soc = result[next(k for k in result.signals if k.endswith(".SOC"))]
    seconds = report.stats.end - report.stats.start
    years = seconds / (365.0 * 86400.0)
    fade = rows["soh_start"] - rows["soh_end"]
    sessions = rows.get("sessions", 0.0)
    return {
        "policy": policy,
        "simulated_days": seconds / 86400.0,
        "mean_charge_hours": rows.get("charge_time", 0.0) / sessions / 3600.0 if sessions else 0.0,
        "grid_energy_kWh": rows.get("E_grid", 0.0) / 3.6e6,
        "losses_kWh": rows.get("E_loss", 0.0) / 3.6e6,
        "capacity_fade": fade,
        "capacity_fade_per_year": fade_per_year(fade, years, health.time, rows["soh_start"] - health.values),
        "years_to_80": projected_years_to(0.8, years, health.time, rows["soh_start"] - health.values),
        "peak_cell_temp_degC": rows["peak_cell_temp"] - 273.15,
        "departures": int(rows.get("departures", 0)),
        "missed_departures": int(rows.get("missed_departures", 0)),
        "efc": rows["efc"],
        "mpc_solves": int(rows.get("solves", 0)),
        "mpc_fallbacks": int(rows.get("fallbacks", 0)),
        "target_soc": target_soc,
        "result": str(report.path),
        "trend": {
            "time_s": soc.time.tolist(),
            "soc": np.asarray(soc.values).tolist(),
            "health_time_s": health.time.tolist(),
            "soh": np.asarray(health.values).tolist(),
        },
    }


def power_law_fit(time_s, fade) -> tuple[float, float] | None:
    """``(log a, b)`` of ``q = a t^b`` (t in s) fitted to the fade ``q(t)`` [1], or None without fade.

    Fits the daily points after the first week (the aging laws are power laws in time and cycles);
    with fewer than 14 such points the calendar exponent 0.526 (Gasper et al. 2023) is taken
    instead of a fitted one.
    """
    import numpy as np

    t, q = np.asarray(time_s, float), np.asarray(fade, float)
    if len(t) == 0 or q[-1] <= 0.0:
        return None
    use = (t >= 7 * 86400.0) & (q > 0.0)
    if use.sum() >= 14:
        b, log_a = np.polyfit(np.log(t[use]), np.log(q[use]), 1)
    else:
        b = 0.526
        log_a = math.log(q[-1]) - b * math.log(t[-1])
    return float(log_a), float(b)


def years_to(level: float, time_s, fade) -> float:
    """Years until the capacity falls to ``level`` [1], from the power law fitted to the fade."""
    fit = power_law_fit(time_s, fade)
    if fit is None or not fit[1] > 0.0:
        return math.inf
    log_a, b = fit
    return math.exp((math.log(1.0 - level) - log_a) / b) / (365.0 * 86400.0)


#: The shortest run whose capacity trend is projected to 80 %, in years. A power law fitted to a few weeks
#: of a concave fade puts decades of extrapolation on days of data (the shipped experiment: 131-137 years
#: from 7 days, 939-998 from 30 days, 37.6 from the whole year).
MIN_PROJECTION_YEARS = 1.0


def projected_years_to(level: float, run_years: float, time_s, fade) -> float | None:
    """:func:`years_to` for a run of ``run_years``; None when it is shorter than a year: too short to project."""
    if run_years < MIN_PROJECTION_YEARS - 1e-9:
        return None
    return years_to(level, time_s, fade)


def fade_per_year(fade: float, years: float, time_s, fade_series) -> float:
    """Capacity fade per year [1/yr]: the mean over the run when it lasts a year or more; for a
    shorter run the first year's fade projected by the fitted power law (a straight-line
    extrapolation of a few days would overstate it several times, the laws being concave in time).
    """
    if years >= 1.0 - 1e-9:
        return fade / years
    fit = power_law_fit(time_s, fade_series)
    if fit is None:
        return 0.0 if fade <= 0.0 else math.nan
    log_a, b = fit
    return math.exp(log_a + b * math.log(365.0 * 86400.0))


def comparison(rows: list[dict], baseline: str | None = None) -> dict[str, float]:
    """Fade saved by each policy against ``baseline`` (default: the first): ``1 - fade / fade_base``."""
    base = next((r for r in rows if r["policy"] == baseline), rows[0]) if rows else None
    if not base or base["capacity_fade"] <= 0.0:
        return {}
    return {r["policy"]: 1.0 - r["capacity_fade"] / base["capacity_fade"] for r in rows}


def write_outputs(rows: list[dict], out_dir: Path) -> dict[str, Path]:
    """``table.csv``, ``table.json`` and ``soc_soh.png`` in ``out_dir``."""
    import csv
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    plain = [{k: v for k, v in r.items() if k != "trend"} for r in rows]
    paths = {"csv": out_dir / "table.csv", "json": out_dir / "table.json", "plot": out_dir / "soc_soh.png"}
    with open(paths["csv"], "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(plain[0]))
        writer.writeheader()
        writer.writerows(plain)
    paths["json"].write_text(json.dumps(plain, indent=2), encoding="utf-8")
    plot(rows, paths["plot"])
    return paths


def plot(rows: list[dict], path: Path) -> None:
    """SOC and SOH against time, one line per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax_soc, ax_soh) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for r in rows:
        trend = r["trend"]
        ax_soc.plot(np.asarray(trend["time_s"]) / 86400.0, trend["soc"], lw=0.6, label=r["policy"])
        ax_soh.plot(
            np.asarray(trend["health_time_s"]) / 86400.0,
            np.asarray(trend["soh"]) * 100.0,
            lw=1.2,
            label=r["policy"],
        )
    ax_soc.set_ylabel("SOC [1]")
    ax_soh.set_ylabel("capacity [% of new]")
    ax_soh.set_xlabel("time [d]")
    ax_soc.legend(loc="lower left", fontsize="small")
    ax_soh.legend(loc="lower left", fontsize="small")
    ax_soc.set_title("Charging policies on the same vehicle, usage and climate")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
